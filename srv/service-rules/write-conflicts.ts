import cds from '@sap/cds'

/**
 * Writes that meet a stored entity answer as OData Part 1 says, in every service:
 * - a create whose key is stored already: 409 Conflict (11.4.2), not 500 with the database's text;
 * - `If-None-Match: *` means "only if it does not exist yet" (8.2.5): 412 where it exists, a create where not;
 * - a new draft whose key is stored already (Fiori's create dialog, a PUT to a short key) answers the same at once,
 *   not only when the draft is activated.
 */
export function answerWriteConflicts(srv: cds.Service) {
  // CAP honours If-None-Match only on entities with an ETag; a 412 here makes it create instead (put_as_upsert)
  srv.before('UPDATE', '*', req => { if (createOnly(req.headers)) return req.reject(412, 'If-None-Match: * only creates') })
  srv.before('NEW', '*', async req => {
    const target = req.target as cds.entity & { actives?: cds.entity }
    const keys = Object.keys(target.keys ?? {}).filter(key => key !== 'IsActiveEntity')
    if (!target.actives || !keys.every(key => req.data[key] != null)) return
    const stored = await SELECT.one.from(target.actives).columns('1 as stored').where(Object.fromEntries(keys.map(key => [key, req.data[key]])))
    if (!stored) return
    const status = createOnly(req.headers) ? 412 : 409
    return req.reject(status, status === 412 ? CREATE_ONLY_MESSAGE : STORED_MESSAGE)
  })
  srv.on('error', (err: Error & { code?: unknown; status?: number; statusCode?: number }, req) => {
    if (!isDuplicateKey(err)) return
    const status = createOnly(req.http?.req.headers) ? 412 : 409
    Object.assign(err, { status, statusCode: status, code: String(status), target: undefined })
    err.message = status === 412
      ? CREATE_ONLY_MESSAGE
      : STORED_MESSAGE
  })
}

const STORED_MESSAGE = 'An entity with this key is stored already; change it with PATCH, or create it with another key'
const CREATE_ONLY_MESSAGE = 'An entity with this key exists already, and If-None-Match: * asked to create it only'

const createOnly = (headers?: Record<string, string | string[] | undefined>) => String(headers?.['if-none-match'] ?? '').trim() === '*'

const isDuplicateKey = (err: { code?: unknown; message?: string }) =>
  err.code === '23505' || // PostgreSQL: unique_violation
  err.code === 301 || // SAP HANA: unique constraint violated
  /^UNIQUE constraint failed/.test(err.message ?? '') // SQLite
