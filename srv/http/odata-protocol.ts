import type { Request, Response, NextFunction } from 'express'
import { allowedMethods } from './odata-model.ts'
import { asksForFullMetadata, withFullMetadata } from './odata-full-metadata.ts'

/**
 * OData v4.01 Part 1 header and format semantics that CAP 10.1 does not enforce, checked on the raw
 * request before CAP sees it (Part 1 §8, §7, §11.2.6): version negotiation, content negotiation,
 * isolation, unsupported system resources and query options, prefixed and unprefixed preferences,
 * the Location header of created entities and the Allow header of 405 responses.
 */

/** Service roots of the OData services: /odata/v4/<service>. */
export const SERVICE_ROOT = /^\/odata\/v4\/[^/?#]+/

/** Protocol versions whose request payloads the services understand (Part 1 §8.1.5). */
const REQUEST_VERSIONS = new Set(['4.0', '4.01'])

/** Format parameters of application/json (JSON Format §3); anything else is refused (Part 1 §8.2.1). */
const JSON_PARAMETERS: Record<string, RegExp> = {
  'odata.metadata': /^(minimal|full|none)$/i, metadata: /^(minimal|full|none)$/i,
  'odata.streaming': /^(true|false)$/i, streaming: /^(true|false)$/i,
  ieee754compatible: /^(true|false)$/i, exponentialdecimals: /^(true|false)$/i,
  charset: /^utf-8$/i, q: /./,
}

/** Preferences that OData 4.0 prefixed with `odata.` and 4.01 does not (Part 1 §8.2.8); CAP knows only the prefixed ones. */
const PREFIXABLE_PREFERENCES = ['allow-entityreferences', 'callback', 'continue-on-error', 'include-annotations', 'maxpagesize', 'track-changes']

const fail = (res: Response, status: number, message: string, target?: string) =>
  res.status(status).json({ error: { code: String(status), message, ...target && { target } } })

/** Part 1 §8.1.5: every response of an OData service says its version, refusals before CAP's included. */
export function announceVersion(req: Request, res: Response, next: NextFunction) {
  if (SERVICE_ROOT.test(req.path)) res.setHeader('OData-Version', '4.0')
  next()
}

export function checkProtocol(req: Request, res: Response, next: NextFunction) {
  const root = SERVICE_ROOT.exec(req.path)?.[0]
  if (!root) return next()
  const resource = req.path.slice(root.length).replace(/^\//, '')
  const refusal = versionRefusal(req) ?? isolationRefusal(req) ?? formatRefusal(req, resource) ?? unsupportedRefusal(req, resource)
  if (refusal) return fail(res, ...refusal)
  normalizePreferences(req)
  completeHeaders(res, root, resource)
  if (asksForFullMetadata(queryOption(req, 'format') ?? req.get('accept'))) withFullMetadata(res, root)
  next()
}

/** A system query option, named case-insensitively with or without `$` (Part 1 §11.2.1). */
function queryOption(req: Request, name: string) {
  const query = req.query as Record<string, unknown>
  const key = Object.keys(query).find(k => k.replace(/^\$/, '').toLowerCase() === name)
  return key === undefined ? undefined : String(query[key])
}

type Refusal = [status: number, message: string, target?: string]

/** Part 1 §8.2.7 and §8.1.5: nothing below 4.0 can be served, and only 4.0 and 4.01 payloads are understood. */
function versionRefusal(req: Request): Refusal | undefined {
  const max = req.get('odata-maxversion')
  if (max !== undefined) {
    const version = /^\s*(\d+)\.(\d+)\s*$/.exec(max)
    if (!version) return [400, `OData-MaxVersion '${max}' is not a version such as 4.0`, 'OData-MaxVersion']
    if (Number(version[1]) < 4)
      return [400, `OData-MaxVersion ${max} cannot be served: this service speaks OData 4.0 and 4.01 only`, 'OData-MaxVersion']
  }
  const version = req.get('odata-version')
  if (version !== undefined && !REQUEST_VERSIONS.has(version.trim()))
    return [400, `OData-Version ${version} is not understood: send requests in OData 4.0 or 4.01`, 'OData-Version']
}

/** Part 1 §8.2.6: without snapshot support a request asking for it must not be processed. */
function isolationRefusal(req: Request): Refusal | undefined {
  if (req.get('isolation') !== undefined || req.get('odata-isolation') !== undefined)
    return [412, 'Snapshot isolation is not supported', 'Isolation']
}

/** The media types a resource is available in (Part 1 §11.1.2, §11.2.4.1, §11.2.10, §11.7). */
function representationsOf(req: Request, resource: string) {
  if (resource === '$metadata') return ['application/xml', 'application/json']
  // CAP answers a JSON batch in multipart without boundary and Content-IDs (JSON §19.5), so JSON it is
  if (resource === '$batch') return req.is('application/json') ? ['application/json'] : ['multipart/mixed', 'application/json']
  // the raw value and the count are text/plain; JSON is accepted as well rather than refusing such clients
  if (/\/\$(count|value)$/.test(resource)) return ['text/plain', 'application/json']
  return ['application/json']
}

/** Part 1 §7, §8.2.1, §9.2.3: $format wins over Accept; a format the service does not have gets 406. */
function formatRefusal(req: Request, resource: string): Refusal | undefined {
  if (req.method === 'DELETE') return
  const available = representationsOf(req, resource)
  const format = queryOption(req, 'format')
  if (format !== undefined) {
    const mediaType = ({ json: 'application/json', xml: 'application/xml' } as Record<string, string>)[format.toLowerCase()] ?? format
    if (!acceptable(mediaType, available))
      return [406, `$format=${format} is not available here; use ${available.join(' or ')}`, '$format']
    return
  }
  const accept = req.get('accept')
  if (accept && !acceptable(accept, available))
    return [406, `None of the media types in Accept '${accept}' is available here; use ${available.join(' or ')}`, 'Accept']
}

/** Whether any media range of an Accept header (RFC 9110 §12.5.1) matches one of the available types. */
export function acceptable(accept: string, available: string[]) {
  return accept.split(',').some(range => {
    const [type = '', ...parameters] = range.split(';').map(s => s.trim())
    const params = parameters.map(p => p.split('=').map(s => s.trim().replace(/^"(.*)"$/, '$1'))) as [string, string | undefined][]
    if (params.some(([name, value]) => name.toLowerCase() === 'q' && Number(value) === 0)) return false
    const [major, minor] = type.toLowerCase().split('/')
    return available.some(candidate => {
      const [cMajor, cMinor] = candidate.split('/')
      if (!(major === '*' && minor === '*') && !(major === cMajor && (minor === '*' || minor === cMinor))) return false
      // Part 1 §8.2.1: unknown or unsupported format parameters are refused
      return candidate !== 'application/json' || minor === '*' ||
        params.every(([name, value]) => JSON_PARAMETERS[name.toLowerCase()]?.test(value ?? '') ?? false)
    })
  })
}

/** Part 1 §11.2.6 and §13.1.1 item 7: unsupported functionality fails with 501, not silently ignored. */
function unsupportedRefusal(req: Request, resource: string): Refusal | undefined {
  if (queryOption(req, 'deltatoken') !== undefined)
    return [501, 'Delta queries ($deltatoken) are not supported: this service does not track changes', '$deltatoken']
  const system = /^(\$crossjoin|\$all|\$entity)\b/.exec(resource)?.[1]
  if (system) return [501, `${system} is not supported by this service`]
  // Part 1 §11.2.8, §11.4.6: entity references (CAP: 404 'Invalid resource path')
  if (/(^|\/)\$ref(\/|$)/.test(resource))
    return [501, 'Entity references ($ref) are not supported; read the navigation property, or change the foreign key (e.g. agent_ID) with PATCH']
}

/**
 * Part 1 §13.2.1 item 4: preferences work with and without the `odata.` prefix (CAP reads only
 * `odata.continue-on-error`); §8.2.8.7: `return` has no effect on GET and DELETE (CAP answers 400).
 */
function normalizePreferences(req: Request) {
  const prefer = req.headers.prefer
  if (typeof prefer !== 'string') return
  req.headers.prefer = normalizedPrefer(prefer, req.method)
}

export function normalizedPrefer(prefer: string, method: string) {
  const preferences = prefer.split(',').map(p => p.trim()).filter(Boolean)
  const names = new Set(preferences.map(p => p.split(/[=;]/)[0].trim().toLowerCase()))
  const result: string[] = []
  for (const preference of preferences) {
    const name = preference.split(/[=;]/)[0].trim().toLowerCase()
    if (name === 'return' && (method === 'GET' || method === 'DELETE')) continue
    result.push(preference)
    if (PREFIXABLE_PREFERENCES.includes(name) && !names.has(`odata.${name}`)) result.push(`odata.${preference}`)
  }
  return result.join(', ')
}

/**
 * CAP writes the Location of a created entity with the key as it is (`Agents('o'brien')`), which
 * does not resolve; Part 2 §2.2 doubles quotes in string literals and percent-encodes the rest. A
 * create answered with 204 also carries the entity-id in OData-EntityId (Part 1 §8.3.4), and a 405
 * the methods the resource allows (Part 1 §9.2.2).
 */
function completeHeaders(res: Response, root: string, resource: string) {
  const setHeader = res.setHeader
  res.setHeader = function (name: string, value: number | string | readonly string[]) {
    if (name.toLowerCase() === 'location' && typeof value === 'string') value = canonicalLocation(value)
    return setHeader.call(this, name, value)
  }
  const writeHead = res.writeHead
  res.writeHead = function (this: Response, ...args: unknown[]) {
    const location = this.getHeader('location')
    if (this.statusCode === 204 && typeof location === 'string' && !this.hasHeader('odata-entityid'))
      setHeader.call(this, 'OData-EntityId', location)
    if (this.statusCode === 405 && !this.hasHeader('allow')) {
      const allowed = allowedMethods(root, resource)
      if (allowed) setHeader.call(this, 'Allow', allowed.join(', '))
    }
    return (writeHead as (...a: unknown[]) => Response).apply(this, args)
  } as typeof res.writeHead
}

/** `Agents('o'brien')` (as CAP writes it, URI-encoded) → `Agents('o''brien')`, key values percent-encoded. */
export function canonicalLocation(location: string) {
  let decoded: string
  try { decoded = decodeURI(location) } catch { return location }
  const match = /^([^(]*)\((.*)\)$/s.exec(decoded)
  if (!match) return location
  const [, path, keys] = match
  const literal = (value: string) => /^'.*'$/s.test(value) ? `'${encodeURIComponent(value.slice(1, -1).replaceAll("'", "''"))}'` : encodeURIComponent(value)
  if (!/^[A-Za-z_]\w*=/.test(keys)) return `${encodeURI(path)}(${literal(keys)})`
  // name=value pairs: a quoted value ends at the quote before the next `,name=` or the end
  const pairs: string[] = []
  for (let rest = keys; rest;) {
    const [, name] = /^([A-Za-z_]\w*)=/.exec(rest) ?? []
    if (!name) return location
    rest = rest.slice(name.length + 1)
    const quoted = rest.startsWith("'")
    const end = quoted ? rest.slice(1).search(/'(?=,[A-Za-z_]\w*=|$)/) + 2 : rest.search(/,|$/)
    if (quoted && end < 2) return location
    pairs.push(`${name}=${literal(rest.slice(0, end))}`)
    rest = rest.slice(end).replace(/^,/, '')
  }
  return `${encodeURI(path)}(${pairs.join(',')})`
}
