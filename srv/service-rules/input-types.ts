import cds from '@sap/cds'

/**
 * Checks the JSON type of every property a client sends, where CAP 10 lets a wrong one through:
 * a UUID that is no UUID, `1.5` or `"12"` for an Integer, `"12"` for a Double, a string for a
 * Boolean, an object where an array belongs (a 500 in our handlers), and values of server-owned
 * (`@readonly`) fields, which CAP drops unchecked. Each problem is a 400 naming its target.
 * Ranges, formats, enums and mandatory fields stay with CAP's own input validation.
 */
export function checkInputTypes(srv: cds.Service) {
  // ahead of srv.handle, which runs CAP's input validation before any handler and drops server-owned fields unchecked
  const service = srv as Handling, handle = service.handle
  service.handle = async function (req) {
    const elements = inputOf(srv, req)
    if (elements && isObject(req.data)) {
      const problems: Problem[] = []
      checkStructure(elements, req.data, '', problems)
      for (const { message, target } of problems) req.error(400, message, target)
      // with no arguments, reject() throws the errors collected: one, or MULTIPLE_ERRORS with details
      if (problems.length) (req.reject as (this: cds.Request) => never).call(req)
    }
    return handle.call(this, req)
  }
}

/** The declared input of a request: an operation's parameters or the elements of the entity written. */
function inputOf(srv: cds.Service, req: cds.Request): Elements | undefined {
  const target = req.target as cds.entity | undefined
  const operations = srv.actions as unknown as Record<string, { params?: Elements }> | undefined
  const operation = (target?.actions as typeof operations)?.[req.event] ?? operations?.[req.event]
  return operation ? operation.params : req.event in WRITES ? target?.elements as Elements : undefined
}

const WRITES = { CREATE: 1, UPDATE: 1, UPSERT: 1, NEW: 1, PATCH: 1 } as Record<string, 1>

type Data = Record<string, unknown>
/** srv.handle(req), which @cap-js/cds-types does not declare. */
type Handling = cds.Service & { handle(req: cds.Request): Promise<unknown> }
type Element = cds.type & { name: string; items?: Element; elements?: Elements; is2many?: boolean; _target?: cds.entity; isAssociation?: boolean }
type Elements = Record<string, Element>
interface Problem { message: string; target: string }

const { classes } = cds.linked as unknown as { classes: Record<string, new () => unknown> }
const UUID_FORMAT = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
/** Integer64 and Decimal may come as strings (OData's IEEE754Compatible), other numbers may not. */
const NUMERIC_STRING = /^[+-]?\d+(\.\d+)?([eE][+-]?\d+)?$/
const INTEGER_STRING = /^[+-]?\d+$/

function checkStructure(elements: Elements, data: Data, path: string, problems: Problem[]) {
  for (const name in data) {
    const element = elements[name], value = data[name]
    if (element && value != null) checkValue(element, value, path, name, problems)
  }
}

const isObject = (value: unknown): value is Data => typeof value === 'object' && value !== null && !Array.isArray(value)

/** `path/key`, or `path[key]` for positions: built only where a problem is reported or a structure is entered (ingest checks millions of values). */
const targetOf = (path: string, key: string | number) => typeof key === 'number' ? `${path}[${key}]` : path ? `${path}/${key}` : key

function checkObject(elements: Elements, value: unknown, target: string, problems: Problem[]) {
  if (isObject(value)) checkStructure(elements, value, target, problems)
  else problems.push({ message: `${describe(value)} is not an object`, target })
}

type Kind = 'array' | 'structure' | 'uuid' | 'boolean' | 'int64' | 'integer' | 'decimal' | 'number' | 'string' | 'other'
/** What a value of the element must be, worked out once per element. */
const kinds = new WeakMap<Element, Kind>()
function kindOf(element: Element): Kind {
  let kind = kinds.get(element)
  if (kind) return kind
  kind = element.items || element.is2many ? 'array'
    : element.elements || element.isAssociation ? 'structure'
      : element instanceof classes.UUID ? 'uuid'
        : element instanceof classes.boolean ? 'boolean'
          : element instanceof classes.Int64 ? 'int64'
            : element instanceof classes.Integer ? 'integer'
              : element instanceof classes.Decimal ? 'decimal'
                : element instanceof classes.number ? 'number'
                  : element instanceof classes.string || element instanceof classes.date ? 'string' : 'other'
  kinds.set(element, kind)
  return kind
}

const EXPECTED: Record<Kind, string> = {
  array: 'an array', structure: 'an object', uuid: 'a UUID such as 3f0c2a8e-4c1b-4e39-9b0e-1a2b3c4d5e6f', boolean: 'true or false',
  int64: 'a whole number', integer: 'a whole number', decimal: 'a decimal number', number: 'a number', string: 'a string', other: '',
}

function checkValue(element: Element, value: unknown, path: string, key: string | number, problems: Problem[]) {
  const kind = kindOf(element)
  const structure = () => (element.elements ?? element._target?.elements) as Elements
  let valid: boolean
  switch (kind) {
    case 'array': {
      if (!Array.isArray(value)) { valid = false; break }
      const target = targetOf(path, key)
      value.forEach((item, i) => item != null && (element.items
        ? checkValue(element.items, item, target, i, problems)
        : checkObject(structure(), item, targetOf(target, i), problems)))
      return
    }
    case 'structure': return checkObject(structure(), value, targetOf(path, key), problems)
    case 'uuid': valid = typeof value === 'string' && UUID_FORMAT.test(value); break
    case 'boolean': valid = typeof value === 'boolean'; break
    case 'int64': valid = Number.isInteger(value) || typeof value === 'string' && INTEGER_STRING.test(value); break
    case 'integer': valid = Number.isInteger(value); break
    case 'decimal': valid = typeof value === 'number' && Number.isFinite(value) || typeof value === 'string' && NUMERIC_STRING.test(value); break
    case 'number': valid = typeof value === 'number' && Number.isFinite(value); break
    case 'string': valid = typeof value === 'string'; break
    default: valid = true
  }
  if (!valid) problems.push({ message: `${describe(value)} is not ${EXPECTED[kind]}`, target: targetOf(path, key) })
}

const describe = (value: unknown) =>
  Array.isArray(value) ? 'An array' : value !== null && typeof value === 'object' ? 'An object' : `The value ${JSON.stringify(value)}`
