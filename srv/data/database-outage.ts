import cds from '@sap/cds'
import type { Request, Response, NextFunction, ErrorRequestHandler } from 'express'

/**
 * While the database is down (restarted, failed over, out of connections) the gateway stays up:
 * every request answers 503 with Retry-After within the pool's acquire timeout (1 s), instead of a
 * 500, a hang or a crash, and the gateway serves again by itself as soon as the database answers.
 * Routers retry their idempotent `ingest` calls on a 503, so an outage delays records but loses and
 * doubles none.
 */

/** Seconds a client should wait before it retries: about what a restart or failover of the database takes. */
export const RETRY_AFTER_SECONDS = 5

/** What a caller reads in the 503; the cause goes to the log, not to clients. */
export const OUTAGE_MESSAGE = `The database is not available at the moment; retry in ${RETRY_AFTER_SECONDS} seconds`

/** A connection attempt to a database host that does not answer fails after this, rather than holding a pool slot forever. */
export const CONNECT_TIMEOUT_MS = 5000
/** Pause after a failed connection attempt: the database gets a few attempts a second, not thousands, and recovery waits at most this. */
const RECONNECT_PAUSE_MS = 200

/** Longest wait for a pooled connection: then the request answers 503, as when the database is down. */
export const WAIT_FOR_CONNECTION_MS = 5000

const LOG = cds.log('db')

/**
 * SQLSTATEs where the connection failed, not the statement: class 08 (connection exception),
 * 57P01-57P05 (server shut down, crashed, starting up, idle session ended) and 53300 (too many connections).
 */
const LOST_CONNECTION_STATE = /^(08...|57P0[1-5]|53300)$/
/** Node's socket errors of a database host that is down, restarting or unreachable. */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'EAI_AGAIN', 'ENOTFOUND'])
/** SAP HANA clients' codes for a connection that failed or broke (-10709 connect failed, -10807 connection down). */
const HANA_CONNECTION_CODES = new Set([-10709, -10807])
/** Messages without a code: pg's for a dropped or dead connection, CAP's pool's when no connection comes. */
const LOST_CONNECTION_MESSAGE = /^Connection terminated|is not queryable|^Pool resource could not be acquired|^Pool is draining|^ResourceRequest timed out/

interface DatabaseError { code?: unknown; message?: unknown; cause?: unknown; errors?: unknown; isAxiosError?: boolean }

/** Whether an error means the database cannot be reached, rather than that a statement or its input is wrong. */
export function isDatabaseOutage(err: unknown, depth = 0): boolean {
  if (!err || typeof err !== 'object' || depth > 3) return false
  const { code, message, cause, errors, isAxiosError } = err as DatabaseError
  if (isAxiosError) return false // a remote service's connection (the SAP Cloud SDK's HTTP client), not the database's
  if (typeof code === 'string' && (LOST_CONNECTION_STATE.test(code) || NETWORK_CODES.has(code))) return true
  if (typeof code === 'number' && HANA_CONNECTION_CODES.has(code)) return true
  if (typeof message === 'string' && LOST_CONNECTION_MESSAGE.test(message)) return true
  // connecting to a host name tries each of its addresses: an AggregateError of one refusal each
  if (Array.isArray(errors) && errors.some(e => isDatabaseOutage(e, depth + 1))) return true
  return isDatabaseOutage(cause, depth + 1)
}

/**
 * Installs the outage handling: hardens the PostgreSQL connection pool as the database service
 * connects, and answers outage errors of every protocol adapter with 503 in one place.
 */
export function surviveDatabaseOutages() {
  cds.on('connect', srv => {
    const { kind } = srv as { kind?: string }
    if (kind === 'postgres') hardenPostgresPool(srv as unknown as PooledService)
    // a SQLite file has a connection in each write worker besides the server's: one waits for the other's write lock
    if (kind === 'sqlite') waitForWriteLock(srv as unknown as PooledService)
  })
  const after = (cds.middlewares as unknown as { after: ErrorRequestHandler[] }).after
  if (!after.includes(answerOutage)) after.unshift(answerOutage)
}

/** A pg client as @cap-js/postgres pools it: `open` is what the pool's validation on borrow checks. */
interface PooledClient { open?: boolean; on(event: 'error', listener: (err: Error) => void): unknown }
interface PoolFactory { create(...args: unknown[]): Promise<PooledClient>; options?: Record<string, unknown> }
/** What @cap-js/db-service's DatabaseService keeps: its options and the factory its per-tenant pools are made from. */
interface PooledService { options: { client?: Record<string, unknown> }; pools: object }

/** node:sqlite's busy timeout: a write waits this long for another connection's transaction, instead of failing at once. */
function waitForWriteLock(db: PooledService) {
  db.options.client = { timeout: WAIT_FOR_CONNECTION_MS, ...db.options.client }
}

/**
 * A pg client that loses its connection while idle in the pool (the server shuts down, 57P01)
 * emits 'error' with no one listening, which Node turns into an uncaught exception that ends the
 * process. Every client gets a listener when it is made; it marks the client dead, so that the
 * pool's validation on borrow discards it and connects anew, and no request gets a dead connection.
 */
function hardenPostgresPool(db: PooledService) {
  if (!process.listeners('uncaughtException').includes(surviveParameterStreamCrash)) process.on('uncaughtException', surviveParameterStreamCrash)
  // the pools (one per tenant) are made on first use from this factory, which we wrap before any is made
  const factory = (Object.getPrototypeOf(db.pools) as { _factory?: PoolFactory })._factory
  if (!factory || Object.keys(db.pools).length) {
    LOG.warn('cannot guard the PostgreSQL connection pool against database outages: @cap-js/db-service changed its pools')
    return
  }
  // configuration still wins; these are what the outage handling relies on where it says nothing
  const pool = factory.options ??= {}
  pool.testOnBorrow ??= true
  // no request waits for a connection forever; but writers take turns (srv/data/write-lock.ts), so
  // under write load a request may wait longer than @cap-js/postgres' default of 1 s without any outage
  pool.acquireTimeoutMillis = Math.max(Number(pool.acquireTimeoutMillis) || 0, WAIT_FOR_CONNECTION_MS)
  pool.destroyTimeoutMillis ??= 1000
  db.options.client = { connectionTimeoutMillis: CONNECT_TIMEOUT_MS, keepAlive: true, ...db.options.client }

  const create = factory.create
  factory.create = async (...args) => {
    let client: PooledClient
    try { client = await create(...args) } catch (err) {
      // the pool tries again at once while requests wait: a pause keeps it from a loop of connection attempts
      if (isDatabaseOutage(err)) { noteOutage(err); await new Promise(resolve => setTimeout(resolve, RECONNECT_PAUSE_MS)) }
      throw err
    }
    client.on('error', err => { client.open = false; noteOutage(err) })
    noteRecovery()
    return client
  }
}

/**
 * @cap-js/postgres streams large parameters (a bulk insert's rows) through a `ParameterStream`, which
 * still writes to its connection after the connection failed and was dropped: a TypeError thrown in a
 * stream callback, outside any request, which would end the process. The query that streamed has
 * failed already and its request is answered; so that one error is logged, and any other is left to
 * the other listeners (a test runner's) or ends the process as it would without this listener.
 */
function surviveParameterStreamCrash(err: Error) {
  if (err instanceof TypeError && /at ParameterStream\./.test(err.stack ?? '')) return noteOutage(err)
  if (process.listenerCount('uncaughtException') > 1) return
  LOG.error('Uncaught', err)
  process.exit(1)
}

/** Since when the database does not answer (0: it answers), and when the log last said so. */
let downSince = 0, reportedAt = 0
const REPORT_EVERY_MS = 60_000

/** One log line per outage (and a reminder a minute while it lasts), not one per failed request. */
function noteOutage(err: unknown) {
  const now = Date.now()
  downSince ||= now
  if (now - reportedAt < REPORT_EVERY_MS) return
  reportedAt = now
  const { code, message } = err as DatabaseError
  LOG.error(`database not available (${[code, message].filter(Boolean).join(' ')}): answering 503 with Retry-After until it is back`)
}

function noteRecovery() {
  if (!downSince) return
  LOG.info(`database available again after ${((Date.now() - downSince) / 1000).toFixed(1)} s`)
  downSince = reportedAt = 0
}

/** The protocol adapters' error chain (also of $batch parts): an outage is a 503 with Retry-After, anything else passes on. */
function answerOutage(this: { response4?(outcomes: object): object }, err: unknown, _req: Request, res: Response, next: NextFunction) {
  const status = (err as { status?: number }).status
  if (!isDatabaseOutage(err) || (status && status < 500) || res.headersSent) return next(err)
  noteOutage(err)
  // not sanitized in production: the message names no internals, and tells the caller what to do
  const error = { status: 503, code: '503', message: OUTAGE_MESSAGE, $sanitize: false }
  res.status(503).set('Retry-After', String(RETRY_AFTER_SECONDS)).json(this?.response4?.({ error }) ?? { error })
}
