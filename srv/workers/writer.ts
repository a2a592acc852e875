import cds from '@sap/cds'
import { parentPort, workerData } from 'node:worker_threads'
import { readlinkSync } from 'node:fs'
import { setPriority } from 'node:os'
import { applyServiceRules } from '../service-rules/service-rules.ts'
import { surviveDatabaseOutages } from '../data/database-outage.ts'
import { beginTransactionsInOneRoundTrip } from '../data/postgres-session.ts'
import { spaceOutCheckpoints } from '../data/checkpoints.ts'
import { exportSpans, loadCodec } from '../otlp/receiver.ts'
import type { Encoding } from '../otlp/codec.ts'

/**
 * A write worker (see ./pool.ts): CAP with the model, a database connection and RouterService of
 * its own, without HTTP. Each job is the body of an `ingest` call or an OTLP export and the caller's
 * user; it runs as the server would run it, in one transaction, and the answer goes back as data.
 */

/** What the server sends: the body of an `ingest` call (UTF-8 JSON) or of an OTLP export (in its encoding), and who sent it. */
export interface WriteJob {
  id: number
  event: 'ingest' | 'otlp'
  body: ArrayBuffer
  encoding?: Encoding
  user: { id: string; roles: Record<string, string>; attr: Record<string, string> }
  tenant?: string
  locale?: string
}

/** An error as data: what CAP's error middleware reads of it. */
export interface PlainError {
  message: string; status?: number; code?: unknown; target?: string
  details?: PlainError[]; cause?: PlainError; [more: string]: unknown
}

export type WriteAnswer = { id: number; result: unknown; error?: undefined } | { id: number; error: PlainError; result?: undefined }

async function serve() {
  const { root, db, nice } = workerData as { root: string; db: object; nice: number }
  yieldToReads(nice)
  cds.root = root
  cds.env.requires.db = db as typeof cds.env.requires.db
  surviveDatabaseOutages()
  beginTransactionsInOneRoundTrip()
  const csn = await cds.load('*')
  cds.model = cds.compile.for.nodejs(csn)
  await spaceOutCheckpoints(await cds.connect.to('db') as cds.DatabaseService)
  const router = await cds.serve('RouterService').from(csn) as unknown as cds.Service
  applyServiceRules(router)
  const codec = loadCodec()

  const port = parentPort!
  port.on('message', async (message: WriteJob | { stop: true }) => {
    if ('stop' in message) return stop()
    const { id, event, body, encoding, user, tenant, locale } = message
    const context = { user: new cds.User(user), tenant, locale }
    try {
      // an OData request, as CAP's adapter would make it: instance annotations (`@odata.type`) in the body are dropped, not rejected
      const result = event === 'otlp' ? await exportSpans(codec, new Uint8Array(body), encoding!, context)
        : await router.tx(context as object, tx => tx.send({ event, data: parse(body), protocol: 'odata' } as never))
      port.postMessage({ id, result })
    } catch (err) {
      port.postMessage({ id, error: plain(err) })
    }
  })
  port.postMessage({ ready: true })
}

/**
 * Reads come first: with a higher nice value this thread leaves the CPU to the event loop (the
 * router's hot read, the analysts' reads, the answers) whenever both want it, and takes every cycle
 * the event loop leaves. Linux schedules each thread by its own nice value, set by its thread ID.
 */
function yieldToReads(nice: number) {
  try {
    setPriority(Number(readlinkSync('/proc/thread-self').split('/').pop()), nice)
  } catch {
    // not Linux, or not allowed: the worker writes at the server's priority
  }
}

/** The body as CAP's protocol adapter reads an operation's parameters: an empty one has none, anything but an object is a 400. */
function parse(body: ArrayBuffer): Record<string, unknown> {
  const text = Buffer.from(body).toString('utf8')
  if (!text.trim()) return {}
  let data: unknown
  try { data = JSON.parse(text) } catch (err) { throw badRequest((err as Error).message) }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) throw badRequest('The body must be a JSON object of the parameters')
  return data as Record<string, unknown>
}

const badRequest = (message: string) => Object.assign(new Error(message), { status: 400, code: '400' })

/** The error's own fields, its details and its cause, as data that survives postMessage. */
function plain(err: unknown): PlainError {
  if (!(err instanceof Error)) return { message: String(err) }
  const { details, cause, status } = err as { details?: unknown[]; cause?: unknown; status?: number }
  const fields = JSON.parse(JSON.stringify({ ...err, details: undefined, cause: undefined }))
  // message and status may be the prototype's (CAP's validation errors): read, not spread
  return { ...fields, message: err.message, status, details: details?.map(plain), cause: cause === undefined ? undefined : plain(cause) }
}

/** Closes the database connection, then ends the thread (see stopWriteWorkers in ./pool.ts). */
async function stop() {
  try {
    await (cds.db as unknown as { disconnect?(): Promise<void> } | undefined)?.disconnect?.()
  } finally {
    process.exit(0) // in a worker thread: ends this thread only
  }
}

serve().catch(err => { throw err }) // an error while starting ends the thread: the server reports it
