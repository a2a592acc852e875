import cds from '@sap/cds'

/**
 * Lookups in the served model for the HTTP-layer OData checks: which entity a resource path
 * addresses, the types of property paths, and which methods an entity set allows.
 */

export interface Definition {
  name?: string
  elements?: Record<string, Element>
  keys?: Record<string, Element>
  [annotation: `@${string}`]: unknown
}
export interface Element {
  name?: string; _type?: string; type?: string; _target?: Definition; target?: string
  isAssociation?: boolean; is2many?: boolean; virtual?: boolean
}

interface Served { entities?: Record<string, Definition>; name?: string }

/** The service served at an OData service root such as /odata/v4/router. */
export function serviceAt(root: string): Served | undefined {
  return Object.values(cds.services).find(srv => {
    const { endpoints, path } = srv as unknown as { endpoints?: { path: string }[]; path?: string }
    return endpoints?.some(e => e.path === root) ?? path === root
  }) as unknown as Served | undefined
}

const decode = (text: string) => { try { return decodeURIComponent(text) } catch { return text } }

/**
 * What a resource path (relative to the service root) addresses: the entity (type) at its end,
 * following navigation properties, and whether that is a collection, a single entity or a property.
 */
export function resourceAt(root: string, resource: string) {
  const segments = resource.split('?')[0].split('/').filter(Boolean).map(decode)
  const service = serviceAt(root)
  const [first = '', ...rest] = segments
  let entity = service?.entities?.[first.replace(/\(.*$/s, '')]
  let kind: 'collection' | 'entity' | 'property' | 'other' = first.includes('(') ? 'entity' : 'collection'
  for (const segment of rest) {
    if (!entity) break
    if (segment.startsWith('$')) { kind = 'other'; break }
    const element = entity.elements?.[segment.replace(/\(.*$/s, '')]
    if (!element) { kind = 'other'; break }
    if (!element.isAssociation) { kind = 'property'; break }
    entity = targetOf(element)
    kind = !element.is2many || segment.includes('(') ? 'entity' : 'collection'
  }
  return entity && { entity, kind }
}

/** The entity a resource path addresses, if it addresses one (or a collection of them). */
export const entityAt = (root: string, resource: string) => resourceAt(root, resource)?.entity

export const targetOf = (element?: Element): Definition | undefined =>
  element?._target ?? (element?.target ? (cds.model?.definitions as Record<string, Definition> | undefined)?.[element.target] : undefined)

/** The element at the end of a property path (`a/b/c` through associations). */
export function elementAt(entity: Definition, path: string[]): Element | undefined {
  let current: Definition | undefined = entity, element: Element | undefined
  for (const name of path) {
    element = current?.elements?.[name]
    if (!element) return
    current = targetOf(element)
  }
  return element
}

/** The CDS base type of a property path, if it resolves to a property. */
export function typeOf(entity: Definition, path: string[]) {
  const element = elementAt(entity, path)
  return element && !element.isAssociation ? element._type ?? element.type : undefined
}

/** The key properties of an entity, without the associations whose foreign keys are keys themselves. */
export const keysOf = (entity: Definition) => Object.values(entity.keys ?? {}).filter(k => !k.isAssociation && !k.virtual)

/** Methods a resource allows (Part 1 §9.2.2 Allow header), from the restrictions CAP applies too. */
export function allowedMethods(root: string, resource: string) {
  const found = resourceAt(root, resource)
  if (!found) return
  const { entity, kind } = found
  const readonly = !!(entity['@readonly'] || entity['@cds.readonly'])
  const insertonly = !!entity['@insertonly']
  const insertable = !readonly && entity['@Capabilities.InsertRestrictions.Insertable'] !== false
  const updatable = !readonly && !insertonly && entity['@Capabilities.UpdateRestrictions.Updatable'] !== false
  const deletable = !readonly && !insertonly && entity['@Capabilities.DeleteRestrictions.Deletable'] !== false
  if (kind === 'collection') return ['GET', ...insertable ? ['POST'] : []]
  if (kind === 'entity') return ['GET', ...updatable ? ['PATCH', 'PUT'] : [], ...deletable ? ['DELETE'] : []]
  if (kind === 'property') return ['GET', ...updatable ? ['PUT', 'DELETE'] : []]
}
