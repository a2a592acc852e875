import type { Request, Response, NextFunction } from 'express'
import { SERVICE_ROOT, acceptable } from './odata-protocol.ts'
import { entityAt, elementAt, targetOf, typeOf, type Definition } from './odata-model.ts'

/**
 * System query options as OData v4.01 defines them, where CAP 10.1 parses them more narrowly or turns
 * them into SQL errors (500). Each request URL (and each $batch sub-request URL) is rewritten into
 * an equivalent one CAP answers correctly, or refused with a 4xx/501 and a message:
 * - Part 1 §11.2.1, §13.2.1 items 6-7: option names case-insensitive and with or without `$`;
 *   operators case-insensitive. Part 1 §11.2.6: an option given twice is refused (400); `$format`
 *   takes media types with parameters (CAP: only `json`).
 * - Part 2 §5.1.1.5-9: a canonical function on a property of the wrong type, e.g. `year(model_ID)`, 400.
 * - Part 1 §13.2.2 item 3: `nav eq null` / `nav ne null` on a to-one navigation property (CAP: 500).
 * - Part 1 §11.2.6.1: `/$count` inside $filter (CAP: 500) is refused with 501.
 * - Part 2 §5.1.3.1: `$skip` without `$top` in $expand makes CAP build an invalid LIMIT (500): an
 *   explicit `$top` that keeps all remaining rows is added.
 * - Aggregation §3.3.1.1, §3.3.5-6: `topcount`/`bottomcount` reach SQL as functions (500), and a
 *   trailing `top(n)` gets a bogus next link; trailing orderby/skip/top/topcount/bottomcount become
 *   $orderby/$skip/$top, others are refused with 501. Aggregation §3.2.1: `aggregate(p)` of a
 *   property that is no custom aggregate (CAP: 500) gets 400.
 */

const SYSTEM_OPTIONS = ['apply', 'compute', 'count', 'deltatoken', 'expand', 'filter', 'format', 'id', 'index', 'orderby', 'schemaversion', 'search', 'select', 'skip', 'skiptoken', 'top']

const DATE = ['cds.Date', 'cds.DateTime', 'cds.Timestamp']
const TIME = ['cds.Time', 'cds.DateTime', 'cds.Timestamp']
const STRING = ['cds.String', 'cds.LargeString', 'cds.UUID']
const NUMBER = ['cds.Integer', 'cds.Int16', 'cds.Int32', 'cds.Int64', 'cds.Integer64', 'cds.UInt8', 'cds.Double', 'cds.Decimal', 'cds.DecimalFloat']

/** What the first argument of each canonical function must be, and how to say so. */
const FUNCTIONS: Record<string, [types: string[], kind: string]> = {
  ...Object.fromEntries(['year', 'month', 'day', 'date'].map(f => [f, [DATE, 'a date or timestamp']])),
  ...Object.fromEntries(['hour', 'minute', 'second', 'fractionalseconds', 'time'].map(f => [f, [TIME, 'a time or timestamp']])),
  totaloffsetminutes: [['cds.DateTime', 'cds.Timestamp'], 'a timestamp'],
  ...Object.fromEntries(['contains', 'startswith', 'endswith', 'indexof', 'length', 'tolower', 'toupper', 'trim', 'substring', 'concat', 'matchespattern']
    .map(f => [f, [STRING, 'a string']])),
  ...Object.fromEntries(['round', 'floor', 'ceiling'].map(f => [f, [NUMBER, 'a number']])),
}

const BINARY_OPERATORS = new Set(['eq', 'ne', 'gt', 'ge', 'lt', 'le', 'and', 'or', 'has', 'in', 'add', 'sub', 'mul', 'div', 'divby', 'mod'])

/** Larger than any expanded collection, within every database's LIMIT range. */
const ALL_ROWS = 2147483647

export type Rewritten = { url: string } | { status: number; message: string; target?: string }

/** Rewrites a request URL (absolute path, or relative to the service root) as described above. */
export function rewriteUrl(url: string, root: string): Rewritten {
  const [path, search] = splitAt(url, '?')
  if (search === undefined) return { url }
  const options = parseQuery(search)
  const seen = new Set<string>()
  for (const option of options) {
    const bare = option.name.replace(/^\$/, '').toLowerCase()
    if (!SYSTEM_OPTIONS.includes(bare)) continue
    const name = `$${bare}`
    if (seen.has(name)) return { status: 400, message: `The system query option ${name} is given more than once`, target: name }
    seen.add(name)
    if (option.name !== name) set(option, { name })
  }
  const get = (name: string) => options.find(o => o.name === name)
  // Part 1 §11.2.6 ($format): a media type with parameters is as valid as `json`; CAP takes only `json` (501)
  const format = get('$format')
  if (format?.value && /^application\/json\b/i.test(format.value) && acceptable(format.value, ['application/json'])) set(format, { value: 'json' })
  const filter = get('$filter'), orderby = get('$orderby'), apply = get('$apply')
  if (filter?.value) set(filter, { value: lowerOperators(filter.value) })
  if (orderby?.value) set(orderby, { value: outsideLiterals(orderby.value, lowerDirections) })
  const entity = entityAt(root, path.startsWith(`${root}/`) ? path.slice(root.length + 1) : path.replace(/^\//, ''))
  if (entity) {
    for (const option of [filter, orderby, apply]) {
      const problem = option?.value && wrongArgument(option.value, entity)
      if (problem) return { status: 400, message: `${problem} (in ${option.name})`, target: option.name }
    }
    if (filter?.value) {
      if (/\/\$count\b/.test(stripLiterals(filter.value)))
        return { status: 501, message: '/$count inside $filter is not supported; filter on the related entities instead', target: '$filter' }
      set(filter, { value: withNavigationNullChecks(filter.value, entity) })
    }
    if (apply?.value) {
      const refusal = applyRefusal(apply.value, entity)
      if (refusal) return refusal
      const moved = trailingPaging(apply.value, options)
      if ('status' in moved) return moved
      if (moved.apply !== apply.value) {
        if (moved.apply) set(apply, { value: moved.apply })
        else options.splice(options.indexOf(apply), 1)
        for (const [name, value] of moved.options) options.push({ raw: '', name, value, changed: true })
      }
    }
  }
  const expand = get('$expand')
  if (expand?.value) set(expand, { value: withTopForSkip(expand.value) })
  if (!options.some(o => o.changed) && options.length === search.split('&').filter(Boolean).length) return { url }
  return { url: options.length ? `${path}?${formatQuery(options)}` : path }
}

export function checkQueryOptions(req: Request, res: Response, next: NextFunction) {
  const root = SERVICE_ROOT.exec(req.path)?.[0]
  if (!root || req.path.endsWith('/$batch')) return next()
  const rewritten = rewriteUrl(req.url, root)
  if ('status' in rewritten) {
    const { status, message, target } = rewritten
    return res.status(status).json({ error: { code: String(status), message, ...target && { target } } })
  }
  req.url = rewritten.url
  next()
}

// ---------------------------------------------------------------------------------------------
// query strings

interface Option { raw: string; name: string; value?: string; changed?: boolean }

function parseQuery(search: string): Option[] {
  return search.split('&').filter(Boolean).map(raw => {
    const [name, value] = splitAt(raw, '=')
    return { raw, name: decodeSafely(name), value: value === undefined ? undefined : decodeSafely(value) }
  })
}

const set = (option: Option, change: Partial<Option>) => {
  if ((change.name ?? option.name) === option.name && (change.value ?? option.value) === option.value) return
  Object.assign(option, change, { changed: true })
}

/** Unchanged options keep their encoding; CAP decodes the whole URL once (cds.odata.parse). */
const formatQuery = (options: Option[]) => options.map(o => !o.changed ? o.raw
  : `${encodeURIComponent(o.name).replace(/^%24/, '$').replace(/^%40/, '@')}${o.value === undefined ? '' : `=${encodeURIComponent(o.value)}`}`).join('&')

// ---------------------------------------------------------------------------------------------
// expressions

const LITERAL = /'(?:[^']|'')*'/g

const stripLiterals = (text: string) => text.replace(LITERAL, "''")

/** Applies fn to the parts of an expression outside string literals. */
function outsideLiterals(text: string, fn: (part: string) => string) {
  let result = '', last = 0
  for (const match of text.matchAll(LITERAL)) {
    result += fn(text.slice(last, match.index)) + match[0]
    last = match.index + match[0].length
  }
  return result + fn(text.slice(last))
}

/** `ID EQ 'x' AND NOT Flag` → `ID eq 'x' and not Flag`; words in operand position stay as they are. */
function lowerOperators(expression: string) {
  let previous: string | undefined // the last token; none, '(' , ',' and operators are followed by an operand
  // literals are operands: strings, GUIDs, and numbers, dates and times (which may contain letters)
  return expression.replace(/'(?:[^']|'')*'|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|\d[\w.:+-]*|[A-Za-z_][\w.]*|\S/g, token => {
    const lower = token.toLowerCase()
    const afterOperand = previous !== undefined && previous !== '(' && previous !== ',' && !BINARY_OPERATORS.has(previous) && previous !== 'not'
    const operator = /^[A-Za-z]+$/.test(token) && ((BINARY_OPERATORS.has(lower) && afterOperand) || (lower === 'not' && !afterOperand))
    previous = operator ? lower : token
    return operator ? lower : token
  })
}

/** `name DESC, ID Asc` → `name desc, ID asc`. */
const lowerDirections = (part: string) => part.replace(/(\s)(asc|desc)(?=\s*(,|$))/gi, (_, space: string, direction: string) => space + direction.toLowerCase())

function wrongArgument(expression: string, entity: Definition) {
  for (const [, name, path] of stripLiterals(expression).matchAll(/\b([A-Za-z]+)\(\s*([A-Za-z_]\w*(?:\/[A-Za-z_]\w*)*)\s*(?=[,)])/g)) {
    const expected = FUNCTIONS[name.toLowerCase()]
    const type = expected && typeOf(entity, path.split('/'))
    if (type && !expected[0].includes(type))
      return `${name}() takes ${expected[1]}, but ${path} is of type ${type.replace(/^cds\./, '')}`
  }
}

/** `decision eq null` → `decision/ID eq null` for to-one navigation properties (a missing related entity). */
function withNavigationNullChecks(filter: string, entity: Definition) {
  return outsideLiterals(filter, part => part.replace(/(^|[\s(])([A-Za-z_]\w*(?:\/[A-Za-z_]\w*)*)(\s+(?:eq|ne)\s+null\b)/g, (all, before: string, path: string, comparison: string) => {
    const element = elementAt(entity, path.split('/'))
    const key = element?.isAssociation && !element.is2many ? Object.keys(targetOf(element)?.keys ?? {})[0] : undefined
    return key ? `${before}${path}/${key}${comparison}` : all
  }))
}

// ---------------------------------------------------------------------------------------------
// $apply

/** The top-level transformations of an $apply value: `filter(x)/groupby((a))` → ['filter(x)', 'groupby((a))']. */
const transformationsOf = (apply: string) => splitTopLevel(apply, '/')

function applyRefusal(apply: string, entity: Definition): Rewritten | undefined {
  const text = stripLiterals(apply)
  for (const [, items] of text.matchAll(/\baggregate\(([^()]*(?:\([^()]*\)[^()]*)*)\)/g)) for (const item of splitTopLevel(items, ',')) {
    const name = item.trim()
    if (/^[A-Za-z_]\w*$/.test(name) && !(`@Aggregation.CustomAggregate#${name}` in entity))
      return { status: 400, message: `${name} is no custom aggregate; aggregate it with a method, e.g. aggregate(${name} with sum as ${name}Sum)`, target: '$apply' }
  }
  const transformations = transformationsOf(text)
  for (const [i, t] of transformations.entries()) {
    const nested = /(top|bottom)count\(/.test(t.slice(1))
    if (nested || (/^\s*(top|bottom)count\(/.test(t) && i !== transformations.length - 1))
      return { status: 501, message: 'topcount and bottomcount are supported only as the last transformation of $apply', target: '$apply' }
  }
}

/**
 * Moves a trailing `orderby(..)`, `skip(n)`, `top(n)`, `topcount(n,e)` or `bottomcount(n,e)` of $apply
 * into $orderby/$skip/$top, which are evaluated after $apply in that order (Part 1 §11.2.1), so the
 * result is the same. Only when no other option is evaluated between them.
 */
function trailingPaging(apply: string, options: Option[]): { apply: string; options: [string, string][] } | Extract<Rewritten, { status: number }> {
  const transformations = transformationsOf(apply)
  const moved: Record<string, string> = {}
  const order = ['$orderby', '$skip', '$top'] // the order in which they may trail
  while (transformations.length) {
    const last = transformations.at(-1)!.trim()
    let match: RegExpExecArray | null
    let step: Record<string, string> | undefined
    if ((match = /^top\(\s*(\d+)\s*\)$/.exec(last))) step = { $top: match[1] }
    else if ((match = /^skip\(\s*(\d+)\s*\)$/.exec(last))) step = { $skip: match[1] }
    else if ((match = /^orderby\((.*)\)$/s.exec(last))) step = { $orderby: match[1] }
    else if ((match = /^(top|bottom)count\(\s*(\d+)\s*,(.*)\)$/s.exec(last))) step = { $orderby: `${match[3].trim()} ${match[1] === 'top' ? 'desc' : 'asc'}`, $top: match[2] }
    if (!step) break
    const names = Object.keys(step)
    // a step may only go before the ones already moved: orderby, then skip, then top
    if (names.some(n => n in moved || Object.keys(moved).some(m => order.indexOf(m) < order.indexOf(n)))) break
    Object.assign(moved, step)
    transformations.pop()
  }
  if (!Object.keys(moved).length) return { apply, options: [] }
  // options evaluated after $apply but before $orderby/$skip/$top, or counting its result, would see another set
  if (options.some(o => [...order, '$filter', '$search', '$compute', '$count'].includes(o.name))) {
    if (/(top|bottom)count\(/.test(apply))
      return { status: 501, message: 'topcount and bottomcount in $apply cannot be combined with $orderby, $skip or $top', target: '$apply' }
    return { apply, options: [] }
  }
  return { apply: transformations.join('/'), options: order.filter(n => n in moved).map(n => [n, moved[n]]) }
}

// ---------------------------------------------------------------------------------------------
// $expand

/** `candidates($skip=1)` → `candidates($skip=1;$top=2147483647)`, at any depth of nested $expand. */
export function withTopForSkip(expand: string): string {
  let result = ''
  for (let i = 0; i < expand.length;) {
    if (expand[i] === "'") { const j = endOfLiteral(expand, i); result += expand.slice(i, j); i = j; continue }
    if (expand[i] !== '(') { result += expand[i++]; continue }
    const j = closingParen(expand, i)
    result += `(${withTopInOptions(expand.slice(i + 1, j))})`
    i = j + 1
  }
  return result
}

function withTopInOptions(options: string) {
  const list = splitTopLevel(options, ';').map(o => /^\$expand=/i.test(o) ? `$expand=${withTopForSkip(o.slice(8))}` : o)
  const names = list.map(o => o.split('=')[0].trim().toLowerCase())
  if (names.includes('$skip') && !names.includes('$top')) list.push(`$top=${ALL_ROWS}`)
  return list.join(';')
}

// ---------------------------------------------------------------------------------------------
// text

function splitAt(text: string, separator: string): [string, string | undefined] {
  const i = text.indexOf(separator)
  return i < 0 ? [text, undefined] : [text.slice(0, i), text.slice(i + 1)]
}

function decodeSafely(text: string) {
  try { return decodeURIComponent(text) } catch { return text }
}

function endOfLiteral(text: string, start: number) {
  let i = start + 1
  while (i < text.length) {
    if (text[i] === "'" && text[i + 1] === "'") i += 2
    else if (text[i] === "'") return i + 1
    else i++
  }
  return i
}

function closingParen(text: string, open: number) {
  let depth = 0
  for (let i = open; i < text.length;) {
    if (text[i] === "'") { i = endOfLiteral(text, i); continue }
    if (text[i] === '(') depth++
    else if (text[i] === ')' && --depth === 0) return i
    i++
  }
  return text.length
}

function splitTopLevel(text: string, separator: string) {
  const parts: string[] = []
  let depth = 0, start = 0
  for (let i = 0; i < text.length;) {
    if (text[i] === "'") { i = endOfLiteral(text, i); continue }
    if (text[i] === '(') depth++
    else if (text[i] === ')') depth--
    else if (text[i] === separator && depth === 0) { parts.push(text.slice(start, i)); start = i + 1 }
    i++
  }
  parts.push(text.slice(start))
  return parts
}
