import type { Request, Response, NextFunction } from 'express'
import { SERVICE_ROOT, canonicalLocation, normalizedPrefer } from './odata-protocol.ts'
import { rewriteUrl } from './odata-query-checks.ts'

/**
 * $batch as OData v4.01 Part 1 §11.7 and the JSON Format §19 define it, around CAP 10.1's
 * implementation (@sap/cds/libx/odata/middleware/batch.js), which
 * - parses any `--x` line as a boundary, so a body whose boundary differs from the Content-Type's
 *   is executed: the multipart structure is validated here first (400 otherwise);
 * - resolves sub-request URLs against the service only when relative, while §11.7.7.1 and JSON §19.1
 *   also allow absolute paths and (multipart) absolute URLs, which the SAP Cloud SDK sends;
 * - reports the members of a failed atomicity group that ran before the failure with their 2xx
 *   status although nothing was stored: they are reported as 424 Failed Dependency here;
 * - writes Location headers that do not resolve for keys with quotes (see canonicalLocation).
 * The body must have been read already (request-guards' limitBatchSize).
 */
export function prepareBatch(req: Request, res: Response, next: NextFunction) {
  const root = SERVICE_ROOT.exec(req.path)?.[0]
  if (!root) return next()
  if (req.is('application/json')) {
    if (req.headers.accept) req.headers.accept = 'application/json' // CAP would answer multipart without a boundary
    const requests = req.body?.requests
    if (Array.isArray(requests)) for (const request of requests) prepareJsonRequest(request, root)
  } else if (typeof req.body === 'string' && req.is('multipart/mixed')) {
    const boundary = boundaryOf(req.get('content-type'))
    if (boundary) {
      const checked = checkMultipart(req.body, boundary, root)
      if ('error' in checked) return res.status(400).json({ error: { code: '400', message: `Malformed multipart batch: ${checked.error}` } })
      req.body = checked.body
    }
  }
  reportFailedGroups(res)
  next()
}

/** The boundary of a multipart Content-Type, as CAP reads it (libx/odata/utils getBoundary). */
export const boundaryOf = (contentType?: string) => contentType?.match(/boundary=([\d\w'()+_,\-./:=?]{1,70})/i)?.[1]

interface JsonBatchRequest { method?: unknown; url?: unknown; headers?: Record<string, unknown> }

function prepareJsonRequest(request: JsonBatchRequest, root: string) {
  if (typeof request !== 'object' || request === null) return
  if (typeof request.url === 'string') request.url = subRequestUrl(request.url, root)
  const headers = request.headers
  if (headers && typeof headers === 'object') for (const name of Object.keys(headers))
    if (name.toLowerCase() === 'prefer' && typeof headers[name] === 'string')
      headers[name] = normalizedPrefer(headers[name] as string, String(request.method).toUpperCase())
}

/** Sub-requests get the URL rewrites of top-level requests; refusals are left to CAP, which answers them in the batch. */
function subRequestUrl(url: string, root: string) {
  const relative = serviceRelative(url, root)
  const rewritten = rewriteUrl(relative, root)
  return 'url' in rewritten ? rewritten.url : relative
}

/**
 * A sub-request URL relative to the service root, as CAP resolves it: `/odata/v4/router/Agents('x')`
 * and `https://host/odata/v4/router/Agents` become `Agents('x')` and `Agents`. URLs into other
 * services or paths stay as they are (CAP answers 404).
 */
export function serviceRelative(url: string, root: string) {
  let path = url
  if (/^https?:\/\//i.test(url)) {
    try { const parsed = new URL(url); path = parsed.pathname + parsed.search } catch { return url }
  }
  if (path !== root && !path.startsWith(`${root}/`) && !path.startsWith(`${root}?`)) return url
  return path.slice(root.length).replace(/^\//, '') || '/'
}

type Checked = { body: string } | { error: string }

const REQUEST_LINE = /^(GET|POST|PUT|PATCH|DELETE) (\S+) (HTTP\/1\.[01])$/i

/**
 * Validates the structure of a multipart batch body (Part 1 §11.7.7.1, RFC 2046 §5.1): parts delimited
 * by the Content-Type's boundary and closed by it, each either one application/http request or a
 * change set (multipart/mixed with a boundary of its own, holding application/http requests only).
 * Sub-request URLs come back service-relative and `return` preferences of GETs dropped.
 */
export function checkMultipart(body: string, boundary: string, root: string): Checked {
  const lines = body.split(/\r?\n/)
  const error = checkParts(lines, 0, lines.length, boundary, false, root, new Set([boundary]))
  return error ? { error } : { body: lines.join('\r\n') }
}

const isLine = (line: string, expected: string) => line.replace(/[ \t]+$/, '') === expected

/** Checks the parts of lines[from, to) delimited by `boundary`; rewrites request lines in place. */
function checkParts(lines: string[], from: number, to: number, boundary: string, inChangeSet: boolean, root: string, boundaries: Set<string>): string | undefined {
  const delimiter = `--${boundary}`, close = `--${boundary}--`
  let i = from
  for (; i < to && !isLine(lines[i], delimiter); i++)
    if (lines[i].startsWith('--')) return `'${lines[i]}' is not the boundary '${boundary}' of the ${inChangeSet ? 'change set' : 'Content-Type header'}`
  if (i === to) return `no part begins with the boundary '${boundary}' of the ${inChangeSet ? 'change set' : 'Content-Type header'}`
  while (i < to && isLine(lines[i], delimiter)) {
    let end = i + 1
    while (end < to && !isLine(lines[end], delimiter) && !isLine(lines[end], close)) end++
    if (end === to) return `the closing delimiter '${close}' is missing`
    const error = checkPart(lines, i + 1, end, inChangeSet, root, boundaries)
    if (error) return error
    i = end
  }
  // after the closing delimiter only an epilogue without boundaries may follow
  for (let j = i + 1; j < to; j++) if (lines[j].startsWith('--')) return `'${lines[j]}' follows the closing delimiter '${close}'`
}

function checkPart(lines: string[], from: number, to: number, inChangeSet: boolean, root: string, boundaries: Set<string>): string | undefined {
  let i = from
  const headers: Record<string, string> = {}
  for (; i < to && lines[i] !== ''; i++) {
    const [, name, value] = /^([^:]+):\s*(.*)$/.exec(lines[i]) ?? []
    if (!name) return `'${lines[i]}' is no header of a part`
    headers[name.trim().toLowerCase()] = value
  }
  const type = headers['content-type'] ?? ''
  if (/^multipart\/mixed/i.test(type)) {
    if (inChangeSet) return 'a change set cannot contain another change set'
    let boundary = boundaryOf(type)
    if (!boundary) return 'a change set has no boundary in its Content-Type'
    if (boundaries.has(boundary)) boundary = renameBoundary(lines, from, to, boundary, boundaries)
    boundaries.add(boundary)
    return checkParts(lines, i + 1, to, boundary, true, root, boundaries)
  }
  if (!/^application\/http/i.test(type)) return `a part has Content-Type '${type}'; expected application/http or multipart/mixed`
  // the request: optional blank lines, the request line, headers, a blank line, the body
  while (i < to && lines[i] === '') i++
  const requestLine = REQUEST_LINE.exec(lines[i] ?? '')
  if (!requestLine) return `'${lines[i] ?? ''}' is not a request line such as 'GET Agents HTTP/1.1'`
  const [, method, url, version] = requestLine
  lines[i] = `${method} ${subRequestUrl(url, root)} ${version}`
  for (let j = i + 1; j < to && lines[j] !== ''; j++) {
    const prefer = /^prefer:\s*(.*)$/i.exec(lines[j])
    if (prefer) lines[j] = `Prefer: ${normalizedPrefer(prefer[1], method.toUpperCase())}`
  }
  for (let j = i + 1; j < to; j++) if (lines[j].startsWith('--')) return `'${lines[j]}' is no boundary of this batch`
}

/**
 * RFC 2046 lets sibling change sets reuse a boundary; CAP takes it as the atomicity group's ID and
 * refuses the batch, so a reused one is renamed within its part.
 */
function renameBoundary(lines: string[], from: number, to: number, boundary: string, taken: Set<string>) {
  let renamed = boundary, n = 1
  while (taken.has(renamed)) renamed = `${boundary.slice(0, 64)}_${n++}`
  for (let j = from; j < to; j++) {
    if (isLine(lines[j], `--${boundary}`)) lines[j] = `--${renamed}`
    else if (isLine(lines[j], `--${boundary}--`)) lines[j] = `--${renamed}--`
    else if (/^content-type:/i.test(lines[j]) && boundaryOf(lines[j]) === boundary) lines[j] = lines[j].replace(`boundary=${boundary}`, `boundary=${renamed}`)
  }
  return renamed
}

/**
 * Rewrites the batch response once CAP has written it: in a JSON response, members of an atomicity
 * group with a failed request that report success become 424 Failed Dependency (JSON §19.5: they
 * are all considered failed, and nothing of them was stored); Location headers become resolvable.
 */
function reportFailedGroups(res: Response) {
  const chunks: Buffer[] = []
  const write = res.write, end = res.end
  res.write = function (chunk: unknown, ...args: unknown[]) {
    if (chunk) chunks.push(Buffer.from(chunk as string))
    const callback = args.find(a => typeof a === 'function') as (() => void) | undefined
    callback?.()
    return true
  } as typeof res.write
  res.end = function (this: Response, chunk?: unknown, ...args: unknown[]) {
    if (chunk && typeof chunk !== 'function') chunks.push(Buffer.from(chunk as string))
    res.write = write
    res.end = end
    let body = Buffer.concat(chunks).toString()
    const type = String(this.getHeader('content-type') ?? '')
    if (this.statusCode === 200) body = type.startsWith('application/json') ? fixJsonResponses(body) : fixMultipartResponses(body)
    if (this.hasHeader('content-length')) this.setHeader('content-length', Buffer.byteLength(body))
    return end.call(this, body, 'utf8', args.find(a => typeof a === 'function') as () => void)
  } as typeof res.end
}

interface BatchResponse { id?: string; status: number; atomicityGroup?: string; headers?: Record<string, unknown>; body?: unknown }

export function fixJsonResponses(text: string) {
  let batch: { responses?: BatchResponse[] }
  try { batch = JSON.parse(text) } catch { return text }
  if (!Array.isArray(batch.responses)) return text
  const failed = new Map<string, BatchResponse>()
  for (const r of batch.responses) if (r.atomicityGroup && !(r.status < 300) && !failed.has(r.atomicityGroup)) failed.set(r.atomicityGroup, r)
  let changed = false
  batch.responses = batch.responses.map(r => {
    const cause = r.atomicityGroup ? failed.get(r.atomicityGroup) : undefined
    if (cause && r.status < 300) {
      changed = true
      return {
        id: r.id, status: 424, atomicityGroup: r.atomicityGroup, headers: { 'content-type': 'application/json' },
        body: { error: { code: '424', message: `Not applied: request '${cause.id}' of atomicity group '${r.atomicityGroup}' failed with ${cause.status}, so none of the group was stored` } },
      }
    }
    const location = r.headers?.location
    if (typeof location === 'string' && canonicalLocation(location) !== location) {
      changed = true
      r.headers!.location = canonicalLocation(location)
    }
    if (typeof r.headers?.location === 'string' && r.status === 204 && !r.headers['odata-entityid']) {
      changed = true
      r.headers['odata-entityid'] = r.headers.location
    }
    return r
  })
  return changed ? JSON.stringify(batch) : text // unchanged, so Int64 and Decimal numbers keep their digits
}

/** A multipart response already answers a failed change set with one error; only Location headers need fixing. */
export const fixMultipartResponses = (text: string) =>
  text.replace(/^location: (.*)$/gim, (_, location: string) => `location: ${canonicalLocation(location.trim())}`)
