import { hash } from 'node:crypto'
import { GEN_AI, ROUTER, ERROR_TYPE, SERVICE_NAME, DECISION_MARKERS, INFERENCE_OPERATIONS, STATUS_ERROR } from './attributes.ts'
import type { Attributes, AttributeValue, ResourceSpans, Span } from './codec.ts'

/**
 * Spans to the records of the write path: an inference span (GenAI semantic conventions) becomes an
 * inference metric, a span with the router's decision attributes a routing decision with candidates;
 * one span may be both. Other spans are ignored. Record IDs derive from trace and span ID, so a span
 * exported again maps to the same records. Ranges and formats are left to the input validation of
 * the write path; what cannot even be mapped rejects the span here. Fields a span does not give are
 * undefined, as in a record sent without them. Imports no CAP.
 */

/** The fields of RouterService.InferenceMetricInput. */
export interface MetricRecord {
  ID: string; decision_ID?: string; agent_ID?: string; model_ID?: string
  latencyMs: number; ttftMs?: number; inputTokens?: number; outputTokens?: number
  success: boolean; errorCode?: string; finishReason?: string; cost?: number; recordedAt: string
}
/** The fields of RouterService.RoutingDecisionInput. */
export interface DecisionRecord {
  ID: string; requestId?: string; agent_ID?: string; model_ID?: string; strategy?: string
  score?: number; fallback?: boolean; decidedAt: string
  candidates?: { model_ID: string; score?: number; rank: number }[]
}

export interface MappedSpan {
  span: Span
  decision?: DecisionRecord
  metric?: MetricRecord
  /** `gen_ai.provider.name` (or `gen_ai.system`) of the metric's model, for models registered on the fly. */
  provider?: string
}
export interface Rejection { span: Span; reason: string }
export interface Mapping {
  /** Spans of the request. */
  spans: number
  mapped: MappedSpan[]
  rejected: Rejection[]
}

/** A span that cannot become a record; the message names the attribute. */
class SpanProblem extends Error {}

export function mapSpans(resources: ResourceSpans[]): Mapping {
  const result: Mapping = { spans: 0, mapped: [], rejected: [] }
  for (const { resource, spans } of resources) {
    const service = resource.get(SERVICE_NAME)
    for (const span of spans) {
      result.spans++
      const isDecision = DECISION_MARKERS.some(key => span.attributes.has(key))
      const isInference = describesInference(span.attributes)
      if (!isDecision && !isInference) continue
      try {
        result.mapped.push(mapSpan(span, typeof service === 'string' ? service : undefined, isDecision, isInference))
      } catch (e) {
        if (!(e instanceof SpanProblem)) throw e
        result.rejected.push({ span, reason: e.message })
      }
    }
  }
  return result
}

/** A model-calling operation, or no operation but a model. */
function describesInference(attributes: Attributes) {
  const operation = attributes.get(GEN_AI.operation)
  if (operation !== undefined) return typeof operation === 'string' && INFERENCE_OPERATIONS.has(operation)
  return attributes.has(GEN_AI.responseModel) || attributes.has(GEN_AI.requestModel)
}

/** How a rejection names a span: its ID and name. */
export const describeSpan = (span: Span) => `span ${span.spanId || '(no span ID)'} "${span.name}"`

function mapSpan(span: Span, service: string | undefined, isDecision: boolean, isInference: boolean): MappedSpan {
  const read = new Reader(span.attributes)
  if (!/^[0-9a-f]{32}$/.test(span.traceId) || /^0+$/.test(span.traceId)) throw new SpanProblem('trace ID must be 16 bytes, not all zero')
  if (!/^[0-9a-f]{16}$/.test(span.spanId) || /^0+$/.test(span.spanId)) throw new SpanProblem('span ID must be 8 bytes, not all zero')
  if (!span.start || !span.end) throw new SpanProblem('the span needs its start and end time')
  const agent_ID = read.text(GEN_AI.agentId) ?? read.text(GEN_AI.agentName) ?? service
  const model_ID = read.text(GEN_AI.responseModel) ?? read.text(GEN_AI.requestModel)
  const linkedDecision = read.uuid(ROUTER.decisionId)
  const mapped: MappedSpan = { span }

  if (isDecision) {
    const startMs = Number(span.start / 1_000_000n)
    mapped.decision = {
      ID: linkedDecision ?? derivedId('decision', span, startMs),
      requestId: read.text(ROUTER.requestId),
      agent_ID,
      model_ID: read.text(ROUTER.model) ?? (isInference ? model_ID : undefined),
      strategy: read.text(ROUTER.strategy),
      score: read.number(ROUTER.score),
      fallback: read.boolean(ROUTER.fallback),
      decidedAt: new Date(startMs).toISOString(),
      candidates: candidates(read),
    }
  }
  if (isInference) {
    const endMs = Number(span.end / 1_000_000n)
    const errorType = read.text(ERROR_TYPE)
    const ttftSeconds = read.number(GEN_AI.timeToFirstChunk)
    mapped.metric = {
      ID: derivedId('metric', span, endMs),
      decision_ID: linkedDecision ?? mapped.decision?.ID,
      agent_ID,
      model_ID,
      latencyMs: Number(span.end - span.start) / 1e6,
      ttftMs: ttftSeconds === undefined ? undefined : Math.round(ttftSeconds * 1e9) / 1e6,
      inputTokens: read.integer(GEN_AI.inputTokens) ?? read.integer(GEN_AI.promptTokens),
      outputTokens: read.integer(GEN_AI.outputTokens) ?? read.integer(GEN_AI.completionTokens),
      success: span.statusCode !== STATUS_ERROR && errorType === undefined,
      errorCode: errorType,
      finishReason: read.texts(GEN_AI.finishReasons)?.[0],
      cost: read.number(GEN_AI.cost),
      recordedAt: new Date(endMs).toISOString(),
    }
    mapped.provider = read.text(GEN_AI.provider) ?? read.text(GEN_AI.system)
  }
  return mapped
}

/** The candidates in rank order, with the scores at the same positions. */
function candidates(read: Reader): DecisionRecord['candidates'] {
  const models = read.texts(ROUTER.candidateModels), scores = read.numbers(ROUTER.candidateScores)
  if (!models) {
    if (scores) throw new SpanProblem(`${ROUTER.candidateScores} needs ${ROUTER.candidateModels} beside it`)
    return undefined
  }
  if (scores && scores.length !== models.length)
    throw new SpanProblem(`${ROUTER.candidateScores} has ${scores.length} scores for ${models.length} models of ${ROUTER.candidateModels}`)
  return models.map((model_ID, i) => ({ model_ID, score: scores?.[i], rank: i + 1 }))
}

const UUID_FORMAT = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

const isText = (v: AttributeValue) => typeof v === 'string'
const isNumber = (v: AttributeValue) => typeof v === 'number' && Number.isFinite(v)
const isInteger = (v: AttributeValue) => Number.isInteger(v)
const isBoolean = (v: AttributeValue) => typeof v === 'boolean'
const isUUID = (v: AttributeValue) => typeof v === 'string' && UUID_FORMAT.test(v)

/** Typed reads of attributes: absent is undefined, a value of the wrong type rejects the span. */
class Reader {
  private readonly attributes: Attributes
  constructor(attributes: Attributes) { this.attributes = attributes }

  private typed<T>(key: string, is: (v: AttributeValue) => boolean, what: string) {
    const value = this.attributes.get(key)
    if (value === undefined) return undefined
    if (!is(value)) throw new SpanProblem(`${key} must be ${what}, not ${JSON.stringify(value)}`)
    return value as T
  }

  /** An array of values, where one value is taken as an array of one. */
  private array<T>(key: string, is: (v: AttributeValue) => boolean, what: string) {
    const value = this.attributes.get(key)
    if (value === undefined) return undefined
    const values = Array.isArray(value) ? value : [value]
    if (!values.every(is)) throw new SpanProblem(`${key} must be an array of ${what}, not ${JSON.stringify(value)}`)
    return values as T[]
  }

  text(key: string) { return this.typed<string>(key, isText, 'a string') }
  number(key: string) { return this.typed<number>(key, isNumber, 'a number') }
  integer(key: string) { return this.typed<number>(key, isInteger, 'a whole number') }
  boolean(key: string) { return this.typed<boolean>(key, isBoolean, 'true or false') }
  uuid(key: string) { return this.typed<string>(key, isUUID, 'a UUID such as 3f0c2a8e-4c1b-4e39-9b0e-1a2b3c4d5e6f')?.toLowerCase() }
  texts(key: string) { return this.array<string>(key, isText, 'strings') }
  numbers(key: string) { return this.array<number>(key, isNumber, 'numbers') }
}

/**
 * The ID of a span's record: a UUIDv7 of the span's time, as README asks routers to send (it keeps
 * the primary-key indexes append-only), whose other bits hash record kind, trace ID and span ID.
 * The same span always maps to the same ID, so an export sent again is a duplicate, not a new record.
 */
export function derivedId(kind: 'decision' | 'metric', span: Pick<Span, 'traceId' | 'spanId'>, atMs: number): string {
  const bytes = (hash('sha256', `${kind}:${span.traceId}:${span.spanId}`, 'buffer') as Buffer).subarray(0, 16)
  bytes.writeUIntBE(Math.max(0, Math.min(atMs, 2 ** 48 - 1)), 0, 6)
  bytes[6] = (bytes[6] & 0x0f) | 0x70 // version 7
  bytes[8] = (bytes[8] & 0x3f) | 0x80 // variant 10
  const hex = bytes.toString('hex')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}
