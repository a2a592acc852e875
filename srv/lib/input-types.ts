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
  for (const [name, value] of Object.entries(data)) {
    const element = elements[name]
    if (element && value != null) checkValue(element, value, path ? `${path}/${name}` : name, problems)
  }
}

const isObject = (value: unknown): value is Data => typeof value === 'object' && value !== null && !Array.isArray(value)

function checkObject(elements: Elements, value: unknown, target: string, problems: Problem[]) {
  if (isObject(value)) checkStructure(elements, value, target, problems)
  else problems.push({ message: `${describe(value)} is not an object`, target })
}

function checkValue(element: Element, value: unknown, target: string, problems: Problem[]) {
  const expected = (what: string) => problems.push({ message: `${describe(value)} is not ${what}`, target })
  const structure = element.elements ?? (element.isAssociation ? element._target?.elements as Elements : undefined)
  if (element.items || element.is2many) {
    if (!Array.isArray(value)) return expected('an array')
    return value.forEach((item, i) => item != null && (element.items
      ? checkValue(element.items, item, `${target}[${i}]`, problems)
      : checkObject(structure!, item, `${target}[${i}]`, problems)))
  }
  if (structure) return checkObject(structure, value, target, problems)
  if (element instanceof classes.UUID) {
    if (typeof value !== 'string' || !UUID_FORMAT.test(value)) expected('a UUID such as 3f0c2a8e-4c1b-4e39-9b0e-1a2b3c4d5e6f')
  } else if (element instanceof classes.boolean) {
    if (typeof value !== 'boolean') expected('true or false')
  } else if (element instanceof classes.Int64) {
    if (!(Number.isInteger(value) || typeof value === 'string' && INTEGER_STRING.test(value))) expected('a whole number')
  } else if (element instanceof classes.Integer) {
    if (!Number.isInteger(value)) expected('a whole number')
  } else if (element instanceof classes.Decimal) {
    if (!(typeof value === 'number' && Number.isFinite(value) || typeof value === 'string' && NUMERIC_STRING.test(value))) expected('a decimal number')
  } else if (element instanceof classes.number) {
    if (typeof value !== 'number' || !Number.isFinite(value)) expected('a number')
  } else if (element instanceof classes.string || element instanceof classes.date) {
    if (typeof value !== 'string') expected('a string')
  }
}

const describe = (value: unknown) =>
  Array.isArray(value) ? 'An array' : value !== null && typeof value === 'object' ? 'An object' : `The value ${JSON.stringify(value)}`
