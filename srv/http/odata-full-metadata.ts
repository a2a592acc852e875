import type { Response } from 'express'
import { serviceAt, keysOf, targetOf, type Definition } from './odata-model.ts'

/**
 * JSON Format §3.1.2 and §24 item 14: a service MUST support `metadata=full`, which CAP 10.1 ignores.
 * For it, JSON responses get the control information minimal metadata leaves to the client:
 * `@odata.id` (the canonical URL, relative to the context URL, JSON §4.3, §4.5.8), a
 * `@odata.navigationLink` for each navigation property (§4.5.11) and `@odata.type` for primitive
 * values whose type JSON cannot tell (§4.5.3). Edit and read links equal the id, so they are left out.
 */
export function withFullMetadata(res: Response, root: string) {
  const json = res.json
  res.json = function (this: Response, body?: unknown) {
    if (this.statusCode < 300 && body && typeof body === 'object') addControlInformation(body as Payload, root)
    return json.call(this, body)
  }
}

/** Whether an Accept header or $format value asks for metadata=full. */
export const asksForFullMetadata = (format?: string) => !!format && /;\s*(odata\.)?metadata=full\b/i.test(format)

type Payload = Record<string, unknown>

/** JSON §4.5.3: the primitive types JSON values do not reveal, by CDS type. */
const EDM_TYPES: Record<string, string> = {
  'cds.UUID': 'Guid', 'cds.Decimal': 'Decimal', 'cds.DecimalFloat': 'Decimal', 'cds.Integer64': 'Int64', 'cds.Int64': 'Int64',
  'cds.Int16': 'Int16', 'cds.UInt8': 'Byte', 'cds.Timestamp': 'DateTimeOffset', 'cds.DateTime': 'DateTimeOffset',
  'cds.Date': 'Date', 'cds.Time': 'TimeOfDay', 'cds.Binary': 'Binary', 'cds.LargeBinary': 'Binary',
}

function addControlInformation(payload: Payload, root: string) {
  const service = serviceAt(root)
  const context = typeof payload['@odata.context'] === 'string' ? payload['@odata.context'] : ''
  const set = /#([^(/]+)/.exec(context)?.[1]
  const entity = set ? service?.entities?.[set] : undefined
  if (!service || !entity) return
  const setOf = (definition: Definition) => {
    const name = definition.name?.slice(`${service.name}.`.length)
    return name && service.entities?.[name] === definition ? name : undefined
  }
  if (Array.isArray(payload.value)) for (const row of payload.value) annotate(row as Payload, entity, setOf)
  else annotate(payload, entity, setOf)
}

function annotate(row: Payload, entity: Definition, setOf: (d: Definition) => string | undefined) {
  if (!row || typeof row !== 'object') return
  const set = setOf(entity)
  const keys = keysOf(entity)
  const id = set && keys.length && keys.every(k => row[k.name!] != null)
    ? `${set}(${keys.length === 1 ? keyLiteral(row[keys[0].name!], keys[0]) : keys.map(k => `${k.name}=${keyLiteral(row[k.name!], k)}`).join(',')})`
    : undefined
  if (id) row['@odata.id'] = id
  for (const [name, element] of Object.entries(entity.elements ?? {})) {
    if (element.isAssociation) {
      if (id) row[`${name}@odata.navigationLink`] = `${id}/${name}`
      const target = targetOf(element), value = row[name]
      if (target && Array.isArray(value)) value.forEach(v => annotate(v as Payload, target, setOf))
      else if (target && value && typeof value === 'object') annotate(value as Payload, target, setOf)
      continue
    }
    const type = EDM_TYPES[element._type ?? element.type ?? '']
    if (type && row[name] != null) row[`${name}@odata.type`] = `#${type}`
  }
  inPayloadOrder(row)
}

/** JSON §4.4: control information first, then each property preceded by its annotations. */
function inPayloadOrder(row: Payload) {
  const entries = Object.entries(row)
  const annotated = (name: string) => entries.filter(([k]) => k.startsWith(`${name}@`))
  const ordered = entries.filter(([k]) => k.startsWith('@'))
  for (const [name, value] of entries) if (!name.includes('@')) ordered.push(...annotated(name), [name, value])
  // annotations of properties left out, such as navigation links of what is not expanded
  ordered.push(...entries.filter(([k]) => !k.startsWith('@') && k.includes('@') && !(k.split('@')[0] in row)))
  for (const [name] of entries) delete row[name]
  Object.assign(row, Object.fromEntries(ordered))
}

/** A key value as a URL literal (Part 2 §4.3.1): strings quoted with quotes doubled, all percent-encoded. */
function keyLiteral(value: unknown, element: { _type?: string; type?: string }) {
  const type = element._type ?? element.type
  if (typeof value === 'string' && type !== 'cds.UUID' && !EDM_TYPES[type ?? '']) return `'${encodeURIComponent(value.replaceAll("'", "''"))}'`
  return encodeURIComponent(String(value))
}
