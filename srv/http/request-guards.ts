import cds from '@sap/cds'
import express, { type Request, type Response, type NextFunction, type Application } from 'express'
import { announceVersion, checkProtocol } from './odata-protocol.ts'
import { checkQueryOptions } from './odata-query-checks.ts'
import { prepareBatch } from './odata-batch.ts'
import { MAX_BATCH_REQUESTS, MAX_EXPAND_DEPTH } from '../domain/limits.ts'

/**
 * Checks of raw HTTP requests before CAP sees them: inputs that CAP 10.1 would answer with a 500
 * (or that crash the process) get a 400 here, and oversized batches a 429. The OData protocol
 * semantics CAP leaves out (versions, formats, $batch) are in odata-protocol, odata-query-checks
 * and odata-batch.
 */

/** The $aggregate methods of OData's data aggregation extension; anything else would reach SQL as a function name. */
const AGGREGATION_METHODS = new Set(['sum', 'min', 'max', 'average', 'countdistinct'])
/** The body limit of every service (.cdsrc.json server.body_parser.limit): a full `ingest` call of 5,000 records with candidates fits. */
export const BODY_LIMIT: string = cds.env.server.body_parser.limit

const reject = (res: Response, status: number, message: string) =>
  res.status(status).json({ error: { code: String(status), message } })

export function installRequestGuards(app: Application) {
  app.use(announceVersion)
  app.use(rejectMalformedURLs)
  app.use(checkProtocol)
  app.use(checkQueryOptions) // normalizes the option names that rejectBadQueryOptions reads
  app.use(rejectBadQueryOptions)
  app.post(/\/\$batch$/, limitBatchSize, prepareBatch)
}

/**
 * Malformed percent-encoding makes `decodeURI` throw inside CAP's request logging, which takes the
 * whole server down; control characters have no business in a URL either.
 */
function rejectMalformedURLs(req: Request, res: Response, next: NextFunction) {
  let url: string
  try { url = decodeURIComponent(req.url) } catch {
    return reject(res, 400, 'Malformed URL: invalid percent-encoding')
  }
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(url)) return reject(res, 400, 'Malformed URL: control characters')
  next()
}

function rejectBadQueryOptions(req: Request, res: Response, next: NextFunction) {
  const query = req.query as Record<string, unknown>
  for (const option of ['$top', '$skip']) {
    const value = query[option]
    if (value !== undefined && !(typeof value === 'string' && /^\d+$/.test(value)))
      return reject(res, 400, `${option} must be a non-negative integer, not '${value}'`)
  }
  const apply = query.$apply
  if (typeof apply === 'string') {
    for (const [, method] of apply.matchAll(/\bwith\s+([^\s)]+)\s+as\b/g))
      if (!AGGREGATION_METHODS.has(method.toLowerCase()))
        return reject(res, 400, `Unknown aggregation method '${method}' in $apply; use one of ${[...AGGREGATION_METHODS].join(', ')}`)
  }
  const expand = query.$expand
  if (typeof expand === 'string' && expandDepth(expand) > MAX_EXPAND_DEPTH)
    return reject(res, 400, `$expand may nest at most ${MAX_EXPAND_DEPTH} levels deep`)
  next()
}

/** Levels of a $expand value: `a($expand=b($expand=c))` has 3. */
export function expandDepth(expand: string): number {
  let depth = 0, deepest = 1
  const opened: number[] = [] // paren depths at which nested $expands began
  for (let i = 0; i < expand.length; i++) {
    if (expand[i] === '(') depth++
    else if (expand[i] === ')') { depth--; while (opened.length && opened.at(-1)! > depth) opened.pop() }
    else if (expand.startsWith('$expand=', i)) { opened.push(depth); deepest = Math.max(deepest, opened.length + 1) }
  }
  return deepest
}

const jsonBody = express.json({ limit: BODY_LIMIT })
const textBody = express.text({ type: '*/*', limit: BODY_LIMIT })

/** Reads the batch body (CAP's parsers then find it read) and counts its requests. */
function limitBatchSize(req: Request, res: Response, next: NextFunction) {
  const isJSON = req.is('application/json')
  const parse = isJSON ? jsonBody : textBody
  parse(req, res, err => {
    if (err) return next(err)
    const requests = isJSON
      ? (Array.isArray(req.body?.requests) ? req.body.requests.length : 0)
      : (typeof req.body === 'string' ? req.body.match(/^content-type:\s*application\/http/gim)?.length ?? 0 : 0)
    if (requests > MAX_BATCH_REQUESTS)
      return reject(res, 429, `A $batch may hold at most ${MAX_BATCH_REQUESTS} requests, this one has ${requests}; split it`)
    next()
  })
}
