import { diag, DiagLogLevel, SpanKind, SpanStatusCode, type Attributes, type HrTime, type Tracer } from '@opentelemetry/api'
import { createHash } from 'node:crypto'
import { TracerProvider, BatchSpanProcessor, SimpleSpanProcessor, InMemorySpanExporter, type IdGenerator, type ReadableSpan, type SpanExporter, type SpanProcessor } from '@opentelemetry/sdk-trace'
import { OTLPTraceExporter as ProtobufExporter } from '@opentelemetry/exporter-trace-otlp-proto'
import { OTLPTraceExporter as JSONExporter } from '@opentelemetry/exporter-trace-otlp-http'
import { resourceFromAttributes } from '@opentelemetry/resources'
import { GEN_AI, ROUTER, ERROR_TYPE, SERVICE_NAME } from '../srv/otlp/attributes.ts'
import type { Decision, Metric } from './workload.ts'

/**
 * A router instrumented with the OpenTelemetry JS SDK, as the tests, the simulator (`--otlp`) and the
 * benchmark use it: each decision of a workload becomes a routing span with the `router.*`
 * attributes, each metric an inference span (`chat <model>`) with the GenAI semantic conventions,
 * at the workload's own times, exported with the SDK's own OTLP/HTTP exporters.
 */

export type Protocol = 'http/protobuf' | 'http/json'

/** An SDK exporter to `<base>/otlp/v1/traces`, as OTEL_EXPORTER_OTLP_TRACES_ENDPOINT would configure it. */
export function exporterTo(base: string, { protocol = 'http/protobuf', headers = {} as Record<string, string>, gzip = false } = {}): SpanExporter {
  const config = { url: `${base}/otlp/v1/traces`, headers, timeoutMillis: 60_000 }
  // compression is read where a deployment sets it, from the environment, when the exporter is made
  const before = process.env.OTEL_EXPORTER_OTLP_TRACES_COMPRESSION
  process.env.OTEL_EXPORTER_OTLP_TRACES_COMPRESSION = gzip ? 'gzip' : 'none'
  try {
    return protocol === 'http/json' ? new JSONExporter(config) : new ProtobufExporter(config)
  } finally {
    if (before === undefined) delete process.env.OTEL_EXPORTER_OTLP_TRACES_COMPRESSION
    else process.env.OTEL_EXPORTER_OTLP_TRACES_COMPRESSION = before
  }
}

export const basicAuth = (user: string, password = user) => ({ authorization: 'Basic ' + Buffer.from(`${user}:${password}`).toString('base64') })

/**
 * A tracer provider of the service `service` whose ended spans go to the given processors, and to
 * `finished` as well, so that a test can export the very same spans once more.
 */
export function tracing(service: string, processors: SpanProcessor[] = [], idSeed?: number) {
  const finished = new InMemorySpanExporter()
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ [SERVICE_NAME]: service }),
    ...idSeed !== undefined && { idGenerator: seededIds(idSeed) },
    spanProcessors: [...processors, new SimpleSpanProcessor({ exporter: finished })],
  })
  return { provider, tracer: provider.getTracer('llm-router', '1.0.0'), finished }
}

/** Trace and span IDs that a seed determines: the same job run again ends the very same spans, as a router's retry sends them. */
function seededIds(seed: number): IdGenerator {
  let n = 0
  const hex = (length: number) => createHash('sha256').update(`${seed}:${n++}`).digest('hex').slice(0, length)
  return { generateTraceId: () => hex(32), generateSpanId: () => hex(16) }
}

/** Batches as a router would send them (BatchSpanProcessor), to an exporter. */
export const batching = (exporter: SpanExporter, maxExportBatchSize = 512) =>
  new BatchSpanProcessor({ exporter, maxExportBatchSize, maxQueueSize: 100_000, scheduledDelayMillis: 200 })

/** One export call of the given spans; resolves with the SDK's result, whose `error` says why it failed. */
export const exportSpans = (exporter: SpanExporter, spans: ReadableSpan[]) =>
  new Promise<{ code: number; error?: Error }>(resolve => exporter.export(spans, resolve))

/** A provider name of the GenAI semantic conventions for the simulator's models. */
export const providerOf = (model: string) =>
  /gpt|^o\d/.test(model) ? 'openai' : /claude/.test(model) ? 'anthropic' : /gemini/.test(model) ? 'gcp.gemini'
    : /mistral/.test(model) ? 'mistral_ai' : 'groq'

/** Attributes without null or undefined values: a test passes null to leave out one of the defaults. */
const clean = (attributes: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(attributes).filter(([, v]) => v != null)) as Attributes

const NANOS_PER_MS = 1_000_000n
const hrTime = (nanos: bigint): HrTime => [Number(nanos / 1_000_000_000n), Number(nanos % 1_000_000_000n)]
const nanosOf = (iso: string) => BigInt(new Date(iso).getTime()) * NANOS_PER_MS

/** The routing span of a decision: it starts when the router decided. */
export function decisionSpan(tracer: Tracer, d: Decision, attributes: Record<string, unknown> = {}) {
  const at = hrTime(nanosOf(d.decidedAt))
  tracer.startSpan(`route ${d.agent_ID}`, {
    kind: SpanKind.INTERNAL, startTime: at,
    attributes: clean({
      [ROUTER.decisionId]: d.ID, [ROUTER.requestId]: d.requestId, [GEN_AI.agentId]: d.agent_ID,
      [ROUTER.strategy]: d.strategy, [ROUTER.score]: d.score, [ROUTER.fallback]: d.fallback, [ROUTER.model]: d.model_ID,
      [ROUTER.candidateModels]: d.candidates.map(c => c.model_ID), [ROUTER.candidateScores]: d.candidates.map(c => c.score),
      ...attributes,
    }),
  }).end(at)
}

/** The inference span of a metric: it ends when the response was complete, `latencyMs` after its start. */
export function inferenceSpan(tracer: Tracer, m: Metric & { cost?: number }, attributes: Record<string, unknown> = {}) {
  const end = nanosOf(m.recordedAt), start = end - BigInt(Math.round(m.latencyMs * 1e6))
  const span = tracer.startSpan(`chat ${m.model_ID}`, {
    kind: SpanKind.CLIENT, startTime: hrTime(start),
    attributes: clean({
      [GEN_AI.operation]: 'chat', [GEN_AI.provider]: providerOf(m.model_ID), [GEN_AI.requestModel]: m.model_ID,
      [GEN_AI.agentId]: m.agent_ID, [ROUTER.decisionId]: m.decision_ID ?? undefined,
      [GEN_AI.inputTokens]: m.inputTokens, [GEN_AI.outputTokens]: m.outputTokens,
      [GEN_AI.timeToFirstChunk]: m.ttftMs == null ? undefined : m.ttftMs / 1000,
      [GEN_AI.finishReasons]: m.finishReason ? [m.finishReason] : undefined,
      [GEN_AI.cost]: m.cost ?? undefined,
      [ERROR_TYPE]: m.errorCode ?? undefined,
      ...attributes,
    }),
  })
  if (!m.success) span.setStatus({ code: SpanStatusCode.ERROR, message: m.errorCode ?? 'failed' })
  span.end(hrTime(end))
}

/** The spans of decision-metric pairs of a workload, in the order a router ends them. */
export function routerSpans(tracer: Tracer, pairs: { decision: Decision; metric: Metric }[]) {
  for (const { decision, metric } of pairs) {
    decisionSpan(tracer, decision)
    inferenceSpan(tracer, metric)
  }
}

/** What a test asks of a router process (test/otlp-router.ts): spans to end, then export calls of all of them. */
export interface Job {
  url: string
  service?: string
  /** Seed of the trace and span IDs; random IDs without. */
  idSeed?: number
  /** Exporter of the span processor; none: the spans are only ended, for `exports`. */
  via?: { protocol?: Protocol; gzip?: boolean; headers?: Record<string, string>; processor: 'batch' | 'simple'; batchSize?: number }
  spans: ({ decision: Decision; attributes?: Record<string, unknown> } | { metric: Metric & { cost?: number }; attributes?: Record<string, unknown> }
    | { name: string; attributes: Record<string, unknown> })[]
  /** Export calls of all ended spans, one exporter each. */
  exports?: { protocol?: Protocol; gzip?: boolean; headers?: Record<string, string> }[]
}
export interface JobResult {
  /** The ended spans, in order: IDs and times as the receiver derives record IDs from them. */
  spans: { traceId: string; spanId: string; startTime: HrTime; endTime: HrTime }[]
  exports: { code: number; error?: { message: string; code?: unknown } }[]
  /** What the SDK logged at warn level (diag), e.g. a partial success. */
  warnings: string[]
}

/** Runs a job with the SDK in this process. */
export async function runJob(job: Job): Promise<JobResult> {
  const warnings: string[] = []
  diag.setLogger({ error: () => {}, warn: (...args: unknown[]) => warnings.push(args.join(' ')), info: () => {}, debug: () => {}, verbose: () => {} }, DiagLogLevel.WARN)
  const { via } = job
  const processors = via ? [via.processor === 'simple'
    ? new SimpleSpanProcessor({ exporter: exporterTo(job.url, via) })
    : batching(exporterTo(job.url, via), via.batchSize)] : []
  const { provider, tracer, finished } = tracing(job.service ?? 'llm-router', processors, job.idSeed)
  for (const s of job.spans) {
    if ('decision' in s) decisionSpan(tracer, s.decision, s.attributes)
    else if ('metric' in s) inferenceSpan(tracer, s.metric, s.attributes)
    else tracer.startSpan(s.name, { attributes: clean(s.attributes) }).end()
  }
  await provider.forceFlush()
  const spans = finished.getFinishedSpans()
  const exports = []
  for (const e of job.exports ?? []) {
    const { code, error } = await exportSpans(exporterTo(job.url, e), spans)
    exports.push({ code, ...error && { error: { message: error.message, code: (error as { code?: unknown }).code } } })
  }
  await provider.shutdown()
  diag.disable()
  return { spans: spans.map(s => ({ ...s.spanContext(), startTime: s.startTime, endTime: s.endTime })), exports, warnings }
}
