import cds from '@sap/cds'

/**
 * Checks the JSON type of every property a client sends, where CAP 10 lets a wrong one through:
 * a UUID that is no UUID, `1.5` or `"12"` for an Integer, `"12"` for a Double, a string for a
 * Boolean, an object where an array belongs (a 500 in our handlers), a null among the records of an
 * array, a timestamp no Date can read (hour 25), and values of server-owned (`@readonly`) fields,
 * which CAP drops unchecked. Each problem is a 400 naming its target. A Decimal that JSON writes with an
 * exponent (a cost of 1e-7) is handed on as its digits, which CAP's Decimal check would otherwise reject.
 *
 * Ranges, formats, enums and mandatory fields stay with CAP's own input validation, except under
 * parameters annotated `@cds.validate: false` (the records of `ingest`; OTLP spans through
 * `recordProblems`): CAP's walk builds paths and objects for every value, 10 ms of an ingest call of
 * 1,000 records (docs/performance.md), so there this one walk also makes CAP's checks of each element
 * (see assertsOf), finds missing mandatory elements and unknown properties, and reports them as CAP would.
 */
export function checkInputTypes(srv: cds.Service) {
  // ahead of srv.handle, which runs CAP's input validation before any handler and drops server-owned fields unchecked
  const service = srv as Handling, handle = service.handle
  service.handle = async function (req) {
    const elements = inputOf(srv, req)
    if (elements && isObject(req.data)) {
      const check = new Check((req as { protocol?: string }).protocol)
      checkStructure(elements, req.data, '', check)
      const problems = check.found()
      for (const problem of problems) req.error(problem)
      // with no arguments, reject() throws the errors collected: one, or MULTIPLE_ERRORS with details
      if (problems.length) (req.reject as (this: cds.Request) => never).call(req)
    }
    return handle.call(this, req)
  }
}

/**
 * The problems of one record of a structured type (RouterService.InferenceMetricInput…), as `ingest`
 * reports those of its records, with targets relative to the record: for records that arrive in
 * another form (OTLP spans), so that they are checked alike.
 */
export function recordProblems(type: cds.type, data: Data): Problem[] {
  const check = new Check()
  checkStructure((type as unknown as { elements: Elements }).elements, data, '', check, true)
  return check.found()
}

/** The declared input of a request: an operation's parameters or the elements of the entity written. */
function inputOf(srv: cds.Service, req: cds.Request): Elements | undefined {
  const target = req.target as cds.entity | undefined
  const operations = srv.actions as unknown as Record<string, { params?: Elements }> | undefined
  const operation = (target?.actions as typeof operations)?.[req.event] ?? operations?.[req.event]
  return operation ? operation.params : req.event in WRITES ? target?.elements as unknown as Elements : undefined
}

const WRITES = { CREATE: 1, UPDATE: 1, UPSERT: 1, NEW: 1, PATCH: 1 } as Record<string, 1>

type Data = Record<string, unknown>
/** srv.handle(req), which @cap-js/cds-types does not declare. */
type Handling = cds.Service & { handle(req: cds.Request): Promise<unknown> }
/** A linked element with what CAP's validation adds to it (@sap/cds 10, lib/req/validate.js). */
type Element = cds.type & {
  name: string; items?: Element; elements?: Elements; is2many?: boolean; _target?: cds.entity; isAssociation?: boolean
  foreignKeys?: Elements; '@cds.validate'?: boolean; '@mandatory'?: unknown; '@mandatory.message'?: string
  type_check?: (value: unknown) => boolean; strict_check?: (value: unknown) => boolean
  enum?: Record<string, { val?: unknown }>; '@assert.format'?: string; '@assert.format.message'?: string
  '@assert.range'?: unknown; '@assert.range.message'?: string; '@assert.enum'?: unknown; '@assert.enum.message'?: string
  _is_mandatory(): boolean
}
type Elements = Record<string, Element>
/** A problem as CAP's validation reports it: a code CAP's messages translate with `args`, or a text of the model's. */
export interface Problem { status: 400; code: string; message?: string; target: string; args?: unknown[] }
const problem = (message: string, target: string): Problem => ({ status: 400, code: '400', message, target })

/** The problems one request's walk finds, by kind; also the context that CAP's element checks report to. */
class Check {
  readonly types: Problem[] = []
  readonly asserts: Problem[] = []
  /** The first unknown property of a fully checked structure: CAP's validation stops at it (as a single 400). */
  unknown?: [Problem]
  readonly protocol?: string
  constructor(protocol?: string) { this.protocol = protocol }

  /** What is reported: CAP's validation runs only where the types are right, and an unknown property ends it at once. */
  found(): Problem[] {
    return this.types.length ? this.types : this.unknown ?? this.asserts
  }

  /** What CAP's element checks call: `leaf` is the element's name under `path`; `message` the model's text, if any. */
  error(code: string, path: string, leaf: string | undefined, message: unknown, args?: unknown[]) {
    this.asserts.push({ status: 400, code, target: leaf ? targetOf(path, leaf) : path, ...typeof message === 'string' && { message }, ...args && { args } })
  }
}

const { classes } = cds.linked as unknown as { classes: Record<string, new () => unknown> }
// CAP loads its validation on first use; loading it adds type_check and _is_mandatory to the model's elements
void (cds as unknown as { validate: unknown }).validate
const UUID_FORMAT = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
/** Integer64 and Decimal may come as strings (OData's IEEE754Compatible), other numbers may not. */
const NUMERIC_STRING = /^[+-]?\d+(\.\d+)?([eE][+-]?\d+)?$/
const INTEGER_STRING = /^[+-]?\d+$/
/** Instance annotations (`@odata.type`), which CAP's validation drops from OData requests instead of rejecting them. */
const ANNOTATION = /^\w*@\w+\.\w+$/

/** A structure's elements by name, with what the walk needs of each, and its mandatory ones: worked out once per structure. */
interface Plan { fields: Map<string, { element: Element; kind: Kind; unchecked: boolean; asserts: Asserts }>; mandatory: Element[] }
const plans = new WeakMap<Elements, Plan>()
function planOf(elements: Elements): Plan {
  let plan = plans.get(elements)
  if (!plan) plans.set(elements, plan = {
    fields: new Map(Object.values(elements).map(element => [element.name, { element, kind: kindOf(element), unchecked: element['@cds.validate'] === false, asserts: assertsOf(element) }])),
    mandatory: Object.values(elements).filter(e => e._is_mandatory() && !e.elements && !e.foreignKeys && !e.isAssociation),
  })
  return plan
}

/** CAP's checks of a single value of an element, reporting to `check` under `path`. */
type Asserts = (value: unknown, path: string, check: Check) => void

/**
 * The checks that CAP's `check_asserts` makes of an element's values (@sap/cds 10, lib/req/validate.js:
 * its type check, `@mandatory`, `@assert.format`, `@assert.range`, enums), with CAP's codes and
 * arguments, compiled once per element. CAP's own function looks itself up and makes a closure on
 * every call, a few megabytes of garbage for each ingest call of 1,000 records.
 */
function assertsOf(e: Element): Asserts {
  const asserts: Asserts[] = [], name = e.name
  const typeCheck = (cds as unknown as { validate: { strict?: boolean } }).validate.strict && e.strict_check || e.type_check
  if (typeCheck) asserts.push((v, p, check) => v == null || typeCheck(v) || check.error('ASSERT_DATA_TYPE', p, name, null, [v, e.toString()]))
  if (e._is_mandatory()) asserts.push((v, p, check) => v != null && (v as { trim?: () => string }).trim?.() !== '' ||
    check.error('ASSERT_MANDATORY', p, name, e['@mandatory.message'] || e['@mandatory'], [v]))
  const format = e['@assert.format']
  if (format) {
    const pattern = new RegExp(format, 'u')
    asserts.push((v, p, check) => v == null || pattern.test(v as string) || check.error('ASSERT_FORMAT', p, name, e['@assert.format.message'], [v, format]))
  }
  const range = e['@assert.range'], values = e.enum && Object.entries(e.enum).map(([k, v]) => 'val' in v ? v.val : k)
  if (Array.isArray(range) && !values) {
    const [min, max] = range as [Bound, Bound], [low, lowOpen, lowArg] = boundOf(min, -Infinity, '>'), [high, highOpen, highArg] = boundOf(max, Infinity, '<')
    const message = e['@assert.range.message']
    asserts.push((v, p, check) => v == null || (lowOpen ? low < (v as number) : low <= (v as number)) && (highOpen ? (v as number) < high : (v as number) <= high) ||
      check.error('ASSERT_RANGE', p, name, message, [v, lowArg, highArg]))
  }
  if (values && (e['@assert.enum'] || range)) {
    const allowed = new Set(values.map(String))
    asserts.push((v, p, check) => v == null || allowed.has(String(v)) || check.error('ASSERT_ENUM', p, name, e['@assert.enum.message'], [typeof v === 'string' ? `"${v}"` : v, values.join(', ')]))
  }
  return (v, p, check) => { for (const assert of asserts) assert(v, p, check) }
}
type Bound = number | { val?: number; '='?: string }
/**
 * A bound as CAP reads a range: a number inclusive, `{ val }` exclusive, `_` none (exclusive infinity);
 * with the argument CAP's message shows for it (`>0` for an exclusive lower bound).
 */
function boundOf(bound: Bound, none: number, sign: string): [value: number, exclusive: boolean, arg: unknown] {
  if (typeof bound !== 'object') return [bound, false, bound]
  const value = bound['='] === '_' ? none : bound.val!
  return [value, true, sign + value]
}

/** With `complete`, CAP's validation is off for the structure and this walk does its checks too. */
function checkStructure(elements: Elements, data: Data, path: string, check: Check, complete = false) {
  const { fields, mandatory } = planOf(elements)
  if (complete) for (const element of mandatory)
    if (!(element.name in data)) check.error('ASSERT_MANDATORY', path, element.name, element['@mandatory.message'] || element['@mandatory'])
  for (const name in data) {
    const field = fields.get(name)
    let value = data[name]
    if (!field) {
      if (!complete) continue
      if (check.protocol === 'odata' && ANNOTATION.test(name)) delete data[name]
      else check.unknown ??= [problem(`Property "${name}" does not exist in ${path}`, path)]
      continue
    }
    const { element, kind } = field, full = complete || field.unchecked
    // JSON writes a small cost as 1e-7, which CAP's Decimal check reads as text and rejects: given as its digits instead
    if (kind === 'decimal' && typeof value === 'number' && Number.isFinite(value) && String(value).includes('e')) value = data[name] = plainDecimal(value)
    if (value != null) checkValue(element, value, path, name, check, full, kind)
    // CAP's checks of a single value; the records of an array or a structure are checked one by one above
    if (full && (value == null || kind !== 'array' && kind !== 'structure')) field.asserts(value, path, check)
  }
}

const isObject = (value: unknown): value is Data => typeof value === 'object' && value !== null && !Array.isArray(value)

/** `path/key`, or `path[key]` for positions: built only where a problem is reported or a structure is entered (ingest checks millions of values). */
const targetOf = (path: string, key: string | number) => typeof key === 'number' ? `${path}[${key}]` : path ? `${path}/${key}` : key

function checkObject(elements: Elements, value: unknown, target: string, check: Check, complete: boolean) {
  if (isObject(value)) checkStructure(elements, value, target, check, complete)
  else check.types.push(problem(`${describe(value)} is not an object`, target))
}

type Kind = 'array' | 'structure' | 'uuid' | 'boolean' | 'int64' | 'integer' | 'decimal' | 'number' | 'instant' | 'string' | 'other'
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
                  : element instanceof classes.Timestamp || element instanceof classes.DateTime || element instanceof classes.Date ? 'instant'
                    : element instanceof classes.string || element instanceof classes.date ? 'string' : 'other'
  kinds.set(element, kind)
  return kind
}

const EXPECTED: Record<Kind, string> = {
  array: 'an array', structure: 'an object', uuid: 'a UUID such as 3f0c2a8e-4c1b-4e39-9b0e-1a2b3c4d5e6f', boolean: 'true or false',
  int64: 'a whole number', integer: 'a whole number', decimal: 'a decimal number', number: 'a number',
  instant: 'a date or time such as 2026-12-01T10:00:00.000Z', string: 'a string', other: '',
}

/** Checks a value that is not null; loops and no closures, as it runs for every value of every record. */
function checkValue(element: Element, value: unknown, path: string, key: string | number, check: Check, complete: boolean, kind = kindOf(element)) {
  let valid: boolean
  switch (kind) {
    case 'array': {
      if (!Array.isArray(value)) { valid = false; break }
      const target = targetOf(path, key), { items } = element
      // a null is no record: CAP's validation passes it by, and the handlers would fail on it
      if (items) {
        const records = kindOf(items) === 'structure'
        for (let i = 0; i < value.length; i++) if (value[i] != null || records) checkValue(items, value[i], target, i, check, complete)
      } else for (let i = 0; i < value.length; i++) checkObject(structureOf(element), value[i], targetOf(target, i), check, complete)
      return
    }
    case 'structure': return checkObject(structureOf(element), value, targetOf(path, key), check, complete)
    case 'uuid': valid = typeof value === 'string' && UUID_FORMAT.test(value); break
    case 'boolean': valid = typeof value === 'boolean'; break
    case 'int64': valid = Number.isInteger(value) || typeof value === 'string' && INTEGER_STRING.test(value); break
    case 'integer': valid = Number.isInteger(value); break
    case 'decimal': valid = typeof value === 'number' && Number.isFinite(value) || typeof value === 'string' && NUMERIC_STRING.test(value); break
    case 'number': valid = typeof value === 'number' && Number.isFinite(value); break
    // CAP's format check lets hours up to 29 through (T25:00), which no Date parses
    case 'instant': valid = typeof value === 'string' && !Number.isNaN(Date.parse(value)); break
    case 'string': valid = typeof value === 'string'; break
    default: valid = true
  }
  if (!valid) check.types.push(problem(`${describe(value)} is not ${EXPECTED[kind]}`, targetOf(path, key)))
}

/** A number in exponent form as its decimal digits (1.5e-7 as 0.00000015, as many as it has). */
function plainDecimal(n: number): string {
  const [mantissa, exponent] = String(n).split('e'), fraction = mantissa.split('.')[1]?.length ?? 0
  return n.toFixed(Math.min(100, Math.max(0, fraction - Number(exponent))))
}

const structureOf = (element: Element) => (element.elements ?? element._target?.elements) as Elements

const describe = (value: unknown) =>
  Array.isArray(value) ? 'An array' : value !== null && typeof value === 'object' ? 'An object' : `The value ${JSON.stringify(value)}`
