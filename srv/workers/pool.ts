import cds from '@sap/cds'
import express, { type Request, type Response, type NextFunction } from 'express'
import { Worker } from 'node:worker_threads'
import v8 from 'node:v8'
import { existsSync } from 'node:fs'
import path from 'node:path'
import { BODY_LIMIT } from '../http/request-guards.ts'
import { RETRY_AFTER_SECONDS } from '../data/database-outage.ts'
import type { WriteJob, WriteAnswer, PlainError } from './writer.ts'

/**
 * The router's writes off the event loop. An `ingest` call or an OTLP export of thousands of records
 * costs the thread that parses, validates and stores it a few hundred milliseconds of CPU; on the
 * server's event loop that is a stall of every other request, above all the router's read of its
 * assignments. So a direct `POST …/router/ingest` and `POST /otlp/v1/traces` hand the bytes of their
 * body to a write worker: a thread with a CAP runtime and a database connection of its own, which
 * runs RouterService's `ingest` (validation, authorization, the one write path) or the OTLP mapping
 * and answers with data. The event loop only reads the body and writes the answer. `ingest` inside a
 * `$batch`, single POSTs and every other request stay in-process; so does everything when the
 * database is an in-memory SQLite, which no other connection can see.
 *
 * Configuration: `cds.router.writeWorkers`, the number of threads; default 1, since writers take
 * turns on the database's write lock anyway (SQLite's own, the WriteLocks row elsewhere), so more
 * threads only parse and validate side by side, for a CAP runtime's memory each; 0 writes in-process.
 * `cds.router.writeWorkerNice`: the workers' nice value (default 10), so that reads come first.
 */

const LOG = cds.log('writers')

/** A worker thread and, by job, where the answers of its open calls go. */
interface Writer { thread: Worker; waiting: Map<number, (answer: WriteAnswer) => void> }

/** The workers that take calls: a worker that ended leaves at once, its successor joins once it can write. */
let writers: Writer[] = []
let stopping = false
let nextJob = 0

/** Number of write workers the configuration asks for (none for an in-memory SQLite). */
function workersWanted(): number {
  const db = cds.env.requires.db as { kind?: string; credentials?: { url?: string; database?: string } }
  if (db.kind === 'sqlite' && [undefined, ':memory:'].includes(db.credentials?.url ?? db.credentials?.database)) return 0
  return router().writeWorkers ?? 1
}

const router = () => (cds.env as { router?: { writeWorkers?: number; writeWorkerNice?: number } }).router ?? {}

/** The nice value of the write workers' threads (0 to 19): above the server's, so that reads come first. */
const WRITE_WORKER_NICE = 10

/** The worker's script: TypeScript in the project, JavaScript in the build output (gen/srv). */
const script = () => ['writer.js', 'writer.ts'].map(f => path.join(cds.root, 'srv/workers', f)).find(existsSync)!

/** Starts the write workers once the database is deployed, and waits until each can write. */
export async function startWriteWorkers() {
  const count = workersWanted()
  if (!count) return
  stopping = false
  // the configuration as this process resolved it, including what a test or a profile set in code
  const workerData = { root: cds.root, db: JSON.parse(JSON.stringify(cds.env.requires.db)), nice: router().writeWorkerNice ?? WRITE_WORKER_NICE }
  writers = await Promise.all(Array.from({ length: count }, () => start(workerData)))
  LOG.info(`${count} write worker${count > 1 ? 's' : ''} for ingest`)
  cds.on('shutdown', stopWriteWorkers)
}

/**
 * The semi-spaces (MB) of a write worker's young generation: twice the server's (`npm start`, 8). A call of
 * 1,000 records makes a few MB of objects that live until its commit; with 16 MB the worker collects them half
 * as often (docs/performance.md). Node applies a worker's `resourceLimits.maxYoungGenerationSizeMb` only
 * where the process has no `--max-semi-space-size`, so the flag is set for the isolates made from now on:
 * the server's own heap keeps the size it was made with.
 */
const WRITER_SEMI_SPACE_MB = 16

function start(workerData: object): Promise<Writer> {
  return new Promise((resolve, reject) => {
    v8.setFlagsFromString(`--max-semi-space-size=${WRITER_SEMI_SPACE_MB}`)
    const thread = new Worker(script(), { workerData })
    const writer: Writer = { thread, waiting: new Map() }
    thread.on('message', (message: WriteAnswer | { ready: true }) => {
      if ('ready' in message) return resolve(writer)
      writer.waiting.get(message.id)?.(message)
      writer.waiting.delete(message.id)
    })
    thread.once('error', err => {
      reject(err) // while starting: the server does not start without its write path
      LOG.error('write worker failed, starting a new one:', err)
    })
    thread.once('exit', code => {
      // its open calls may or may not have committed; ingest is idempotent, so the router retries them safely
      for (const [id, answer] of writer.waiting) answer({ id, error: { status: 503, code: '503', message: RESTARTING, retryAfter: RETRY_AFTER_SECONDS } })
      const i = writers.indexOf(writer)
      if (i < 0) return // stopped, or never started
      // no call may go to a thread that is gone; with no worker left, calls run in-process meanwhile
      writers.splice(i, 1)
      if (code !== 0) LOG.error(`write worker exited with ${code}`)
      start(workerData).then(
        fresh => { if (stopping) void fresh.thread.terminate(); else writers.push(fresh) },
        err => LOG.error('cannot restart a write worker:', err))
    })
  })
}

const RESTARTING = `The write path restarts; retry in ${RETRY_AFTER_SECONDS} seconds`

/** Longest wait at shutdown for the calls a worker has open: what is acknowledged must be stored. */
const DRAIN_MS = 10_000

export async function stopWriteWorkers() {
  const running = writers
  stopping = true
  writers = [] // later calls run in-process while the server closes
  await Promise.all(running.map(async writer => {
    for (const until = Date.now() + DRAIN_MS; writer.waiting.size && Date.now() < until;) await new Promise(r => setTimeout(r, 20))
    // the worker closes its database connection and ends by itself: terminating a thread that holds an open
    // node:sqlite connection can crash the process (its native handle is freed as the thread's heap goes)
    const ended = new Promise(resolve => writer.thread.once('exit', resolve))
    writer.thread.postMessage({ stop: true })
    const timeout = new Promise(resolve => setTimeout(resolve, CLOSE_MS).unref())
    if (await Promise.race([ended.then(() => true), timeout.then(() => false)]) === false) await writer.thread.terminate()
  }))
}

/** Longest wait for a worker to close its connection and end before it is terminated. */
const CLOSE_MS = 5_000

/** Whether writes go to the write workers (else they run in-process). */
export const writersRunning = () => writers.length > 0

/** The writer with the fewest open calls. */
const leastBusy = () => writers.reduce((a, b) => b.waiting.size < a.waiting.size ? b : a)

/** The caller's identity as data for a worker: CAP's user, tenant and locale of this request. */
export function caller(): Pick<WriteJob, 'user' | 'tenant' | 'locale'> {
  const { user, tenant, locale } = cds.context!
  return { user: { id: user.id, roles: { ...user.roles } as Record<string, string>, attr: { ...user.attr } as Record<string, string> }, tenant, locale }
}

/**
 * Runs a job in the least busy write worker; its body moves there. A body of its own memory moves as
 * it is (the body parser joins a large one into fresh memory); a small one shares Node's buffer pool
 * and goes as a copy. Copying megabytes into fresh memory costs the event loop milliseconds of page
 * faults on every large call, measured as stalls of the reads beside it.
 */
export function runInWriter(job: Omit<WriteJob, 'id' | 'body'> & { body: Buffer }): Promise<WriteAnswer> {
  const writer = leastBusy(), id = nextJob++, { buffer, byteOffset, byteLength } = job.body
  const body = byteOffset === 0 && byteLength === buffer.byteLength ? buffer as ArrayBuffer : new Uint8Array(job.body).buffer
  return new Promise(resolve => {
    writer.waiting.set(id, resolve)
    writer.thread.postMessage({ ...job, body, id }, [body])
  })
}

/** The error of a worker's answer as an Error again, for the error handlers of this process. */
export const toError = ({ message, details, cause, ...rest }: PlainError): Error =>
  Object.assign(new Error(message), rest, details && { details: details.map(toError) }, cause && { cause: toError(cause) })

const readBody = express.raw({ type: () => true, limit: BODY_LIMIT })

/** What CAP's OData adapter of a service does before and after its handlers (@sap/cds 10, `srv._adapters`). */
interface Adapter {
  authorize?: ((req: Request, res: Response, next: NextFunction) => void) | null
  error(err: unknown, req: Request, res: Response, next: NextFunction): void
}
const adapterOf = (srv: cds.Service) => (srv as { _adapters?: { _default?: Adapter } })._adapters?._default

/**
 * CAP middleware (after authentication) that hands a direct `POST <RouterService>/ingest` with a JSON
 * body to a write worker; anything else passes on to CAP's protocol adapters. The adapter of
 * RouterService still checks the roles of the service and turns errors into OData answers.
 */
export function offloadIngest(req: Request, res: Response, next: NextFunction) {
  if (!writers.length || req.method !== 'POST' || req.url !== '/ingest' || !req.is('application/json')) return next()
  const router = cds.services.RouterService as cds.Service & { path?: string } | undefined
  const adapter = router && req.baseUrl === router.path && adapterOf(router)
  if (!adapter) return next()
  const failed = (err: unknown) => {
    const { retryAfter } = err as { retryAfter?: number }
    if (retryAfter) res.set('Retry-After', String(retryAfter))
    adapter.error(err, req, res, next)
  }
  const who = caller()
  try {
    (adapter.authorize ?? ((_req, _res, ok: NextFunction) => ok()))(req, res, err => err ? next(err) : readBody(req, res, err => {
      if (err) return failed(err)
      runInWriter({ event: 'ingest', body: req.body as Buffer, ...who })
        .then(({ result, error }) => error ? failed(toError(error))
          : res.json({ '@odata.context': `$metadata#${returnType(router)}`, ...result as object }))
        .catch(failed)
    }))
  } catch (err) { failed(err) } // a missing role: CAP's check throws its 403
}

const returnType = (router: cds.Service) =>
  ((router as unknown as { actions: Record<string, { returns?: { type?: string } }> }).actions.ingest?.returns?.type)
