import cds from '@sap/cds'
import express, { type Application, type Request, type Response, type NextFunction } from 'express'
import path from 'node:path'
import { Models } from '#cds-models/router'
import type { RoutingDecisionInput, InferenceMetricInput } from '#cds-models/RouterService'
import { record } from '../data/recorder.ts'
import { MAX_RECORDS_PER_CALL } from '../domain/limits.ts'
import { isDatabaseOutage, RETRY_AFTER_SECONDS } from '../data/database-outage.ts'
import { sourceOf } from './attributes.ts'
import { otlpCodec, UndecodableBody, type Encoding, type OtlpCodec } from './codec.ts'
import { mapSpans, describeSpan, type MappedSpan, type Rejection } from './spans.ts'
import { writersRunning, runInWriter, caller, toError } from '../workers/pool.ts'
import { recordProblems, type Problem } from '../service-rules/input-types.ts'

/**
 * OTLP/HTTP trace receiver: `POST /otlp/v1/traces`, so that an exporter configured with the base URL
 * `<gateway>/otlp` writes here. Inference and routing-decision spans become records of the same write
 * path as `ingest`, in one transaction per request; spans that fail its input checks are answered in
 * `partial_success` and the rest is stored. The OTLP specification's status codes: 400 undecodable,
 * 401/403 as RouterService, 413 above the body limit, 415 other content types, 503 (retried by
 * exporters) while the database is away. Mapping in ./spans.ts, attribute names in ./attributes.ts.
 */

export const OTLP_TRACES_PATH = '/otlp/v1/traces'
/** Largest body after decompression: the OTLP specification's recommended 20 MiB. */
export const MAX_BODY_BYTES = 20 * 1024 * 1024
/** Reasons listed in `partial_success.error_message`; the count covers all. */
const MAX_REASONS = 10

const LOG = cds.log('otlp')
const CONTENT_TYPES: Record<string, Encoding> = { 'application/x-protobuf': 'protobuf', 'application/json': 'json' }
/** google.rpc.Code of the Status that 4xx and 5xx answers carry. */
const RPC_CODES: Record<number, number> = { 400: 3, 401: 16, 403: 7, 405: 12, 413: 8, 415: 3, 500: 13, 503: 14 }

/** The OTLP protobuf and JSON codec from the official .proto files. */
export const loadCodec = () => otlpCodec(path.join(cds.root, 'srv/otlp/proto'))

export function installOtlpReceiver(app: Application) {
  const codec = loadCodec()
  const readBody = express.raw({ type: () => true, limit: MAX_BODY_BYTES }) // inflates gzip (and deflate, br, zstd) within the limit
  app.post(OTLP_TRACES_PATH,
    cds.middlewares.before, // CAP's context and authentication: basic locally, XSUAA JWTs in production
    authorize(codec),
    acceptContentType(codec),
    (req: Request, res: Response, next: NextFunction) => readBody(req, res, err => err ? unreadable(codec, req, res, err) : next()),
    (req: Request, res: Response, next: NextFunction) => { receive(codec, req, res).catch(next) },
    answerFailure(codec))
  app.all(OTLP_TRACES_PATH, (req: Request, res: Response) =>
    fail(codec, req, res.set('Allow', 'POST'), 405, `${req.method} is not supported: export spans with POST`))
}

/** The request's encoding, by its Content-Type. */
const encodingOf = (req: Request): Encoding | undefined =>
  CONTENT_TYPES[(req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase()]

function send(res: Response, encoding: Encoding, status: number, body: Uint8Array | string) {
  res.status(status).type(encoding === 'json' ? 'application/json' : 'application/x-protobuf')
    .send(typeof body === 'string' ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength))
}

/** A 4xx or 5xx with a google.rpc.Status body, in the request's encoding (JSON when it has none of ours). */
function fail(codec: OtlpCodec, req: Request, res: Response, status: number, message: string) {
  const encoding = encodingOf(req) ?? 'json'
  send(res, encoding, status, codec.status(encoding, RPC_CODES[status] ?? 2, message))
}

/** Roles of RouterService, whose records these are. */
const requiredRoles = () =>
  (cds.model?.definitions.RouterService as { '@requires'?: string | string[] } | undefined)?.['@requires'] ?? ['RouterWriter']

function authorize(codec: OtlpCodec) {
  return (req: Request, res: Response, next: NextFunction) => {
    const context = cds.context!, user = context.user
    if (!user?.is('authenticated-user')) {
      // as CAP's basic authentication asks for a login
      if ((req as { _login?: unknown })._login) res.set('WWW-Authenticate', 'Basic realm="Users"')
      return fail(codec, req, res, 401, 'Authentication required: send the credentials of a user with the role RouterWriter')
    }
    const roles = [requiredRoles()].flat()
    if (!roles.some(role => user.is(role)))
      return fail(codec, req, res, 403, `User ${user.id} lacks the role ${roles.join(' or ')} needed to write spans`)
    res.locals.otlpContext = { user, tenant: context.tenant } // stream events of the body need not keep cds.context
    next()
  }
}

function acceptContentType(codec: OtlpCodec) {
  return (req: Request, res: Response, next: NextFunction) => encodingOf(req) ? next()
    : fail(codec, req, res, 415, `Content-Type ${req.headers['content-type'] ?? '(none)'} is not supported: send application/x-protobuf or application/json`)
}

function unreadable(codec: OtlpCodec, req: Request, res: Response, err: { status?: number; type?: string; message?: string }) {
  if (err.status === 413)
    return fail(codec, req, res, 413, `The body exceeds ${MAX_BODY_BYTES / 1024 / 1024} MiB after decompression: export fewer spans a request (the BatchSpanProcessor's maxExportBatchSize)`)
  if (err.type === 'encoding.unsupported')
    return fail(codec, req, res, 415, `Content-Encoding ${req.headers['content-encoding']} is not supported: send gzip or none`)
  return fail(codec, req, res, 400, `The body cannot be read: ${err.message}`)
}

async function receive(codec: OtlpCodec, req: Request, res: Response) {
  const encoding = encodingOf(req)!
  const body: Buffer = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0)
  let outcome: ExportOutcome
  if (writersRunning()) {
    // decoding and storing thousands of spans is CPU work: a write worker does it, off the event loop (srv/workers)
    const { result, error } = await runInWriter({ event: 'otlp', body, encoding, ...caller() })
    if (error) throw toError(error)
    outcome = result as ExportOutcome
  } else outcome = await exportSpans(codec, body, encoding, res.locals.otlpContext)
  if ('undecodable' in outcome) return fail(codec, req, res, 400, outcome.undecodable)
  send(res, encoding, 200, codec.response(encoding, outcome.rejected, outcome.message))
}

/** What an export came to: a body that is no OTLP, or how many spans were rejected and why. */
export type ExportOutcome = { undecodable: string } | { rejected: number; message: string }

/** Decodes an export and stores its spans, in one transaction as the given user; in a write worker or in-process. */
export async function exportSpans(codec: OtlpCodec, body: Uint8Array, encoding: Encoding, context: object): Promise<ExportOutcome> {
  let mapping
  try {
    mapping = mapSpans(codec.decode(body, encoding))
  } catch (e) {
    if (e instanceof UndecodableBody) return { undecodable: e.message }
    throw e
  }
  const { valid, invalid } = validated(mapping.mapped)
  if (valid.length) await cds.tx(context, () => store(valid))
  const rejected = [...mapping.rejected, ...invalid]
  if (rejected.length) LOG.debug(`rejected ${rejected.length} of ${mapping.spans} spans`)
  return { rejected: rejected.length, message: rejectionMessage(rejected, mapping.spans) }
}

/** The records through the input checks of `ingest`'s records (its parameter types, CAP's checks of each element). */
function validated(mapped: MappedSpan[]) {
  const definitions = cds.model!.definitions as unknown as Record<string, cds.type>
  const decisionType = definitions['RouterService.RoutingDecisionInput'], metricType = definitions['RouterService.InferenceMetricInput']
  const valid: MappedSpan[] = [], invalid: Rejection[] = []
  for (const m of mapped) {
    const problems = [
      ...m.decision ? problemsOf('decision', m.decision, decisionType) : [],
      ...m.metric ? problemsOf('metric', m.metric, metricType) : [],
    ]
    if (problems.length) invalid.push({ span: m.span, reason: problems.join('; ') })
    else valid.push(m)
  }
  return { valid, invalid }
}

type Messages = { at(key: string, locale: string, args?: unknown[]): string | undefined }

function problemsOf(kind: 'decision' | 'metric', data: object, type: cds.type) {
  const messages = (cds as unknown as { i18n: { messages: Messages } }).i18n.messages
  const text = (e: Problem) => (messages.at(e.message ?? e.code, 'en', e.args) ?? e.message ?? e.code).replace(/\.$/, '')
  return recordProblems(type, data as Record<string, unknown>).map(e => `${sourceOf(kind, e.target)}: ${text(e)}`)
}

function rejectionMessage(rejected: Rejection[], spans: number) {
  if (!rejected.length) return ''
  const reasons = rejected.slice(0, MAX_REASONS).map(r => `${describeSpan(r.span)}: ${r.reason}`)
  if (rejected.length > MAX_REASONS) reasons.push(`and ${rejected.length - MAX_REASONS} more`)
  return `${rejected.length} of ${spans} spans rejected; the others are stored. ${reasons.join('; ')}`
}

/** One transaction: the write path of `ingest`, in calls of at most its record limit, then the providers of models it registered. */
async function store(mapped: MappedSpan[]) {
  const decisions = mapped.flatMap(m => m.decision ? [m.decision] : []) as RoutingDecisionInput[]
  const metrics = mapped.flatMap(m => m.metric ? [m.metric] : []) as InferenceMetricInput[]
  const half = MAX_RECORDS_PER_CALL / 2
  for (let i = 0; i < decisions.length || i < metrics.length; i += half)
    await record(decisions.slice(i, i + half), metrics.slice(i, i + half))
  await nameProviders(mapped)
}

/** `gen_ai.provider.name` of models that the write path registered on the fly without one. */
async function nameProviders(mapped: MappedSpan[]) {
  const providers = new Map<string, string>()
  for (const { metric, provider } of mapped) if (provider && metric?.model_ID) providers.set(metric.model_ID, provider)
  if (!providers.size) return
  const unnamed = await SELECT.from(Models).columns('ID')
    .where({ ID: { in: [...providers.keys()] }, provider: null, autoRegistered: true }) as { ID: string }[]
  for (const { ID } of unnamed) await UPDATE(Models, ID).with({ provider: providers.get(ID) })
}

function answerFailure(codec: OtlpCodec) {
  return (err: unknown, req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(err)
    const status = (err as { status?: number; code?: unknown }).status ?? (err as { code?: unknown }).code
    if (err === 401 || status === 401) return fail(codec, req, res, 401, 'Authentication failed: the token is not valid')
    if (isDatabaseOutage(err)) {
      res.set('Retry-After', String(RETRY_AFTER_SECONDS))
      return fail(codec, req, res, 503, `The database is not available at the moment; retry in ${RETRY_AFTER_SECONDS} seconds`)
    }
    if (status === 503) { // a write worker that ended with the export open: it is replaced, and exporters retry
      const { retryAfter = RETRY_AFTER_SECONDS, message } = err as { retryAfter?: number; message: string }
      res.set('Retry-After', String(retryAfter))
      return fail(codec, req, res, 503, message)
    }
    LOG.error('OTLP export failed:', err)
    return fail(codec, req, res, 500, 'The spans could not be stored')
  }
}
