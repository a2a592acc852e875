/**
 * Every span attribute the OTLP receiver reads, in one place: the OpenTelemetry GenAI semantic
 * conventions (`gen_ai.*`, `error.type`), the resource's `service.name`, and the router's own
 * `router.*` attributes for routing decisions. README.md ("OpenTelemetry in") documents each with an
 * example; tools/otlp-client.ts writes them as a router instrumented with OpenTelemetry would.
 */

/** GenAI semantic conventions, with the older names that instrumentations still emit. */
export const GEN_AI = {
  operation: 'gen_ai.operation.name',
  requestModel: 'gen_ai.request.model',
  responseModel: 'gen_ai.response.model',
  provider: 'gen_ai.provider.name',
  /** Before semantic conventions 1.37: the provider. */
  system: 'gen_ai.system',
  agentId: 'gen_ai.agent.id',
  agentName: 'gen_ai.agent.name',
  inputTokens: 'gen_ai.usage.input_tokens',
  outputTokens: 'gen_ai.usage.output_tokens',
  /** Before semantic conventions 1.27: input and output tokens. */
  promptTokens: 'gen_ai.usage.prompt_tokens',
  completionTokens: 'gen_ai.usage.completion_tokens',
  /** Seconds from the request to the first chunk of a streamed response. */
  timeToFirstChunk: 'gen_ai.response.time_to_first_chunk',
  finishReasons: 'gen_ai.response.finish_reasons',
  /** USD, as OpenLIT and others record it; not (yet) in the semantic conventions. */
  cost: 'gen_ai.usage.cost',
} as const

/** General semantic conventions. */
export const ERROR_TYPE = 'error.type'
export const SERVICE_NAME = 'service.name'

/** The router's attributes: a span with any of the decision's own attributes is a routing decision. */
export const ROUTER = {
  /** UUID of the decision: on the decision's span (else derived from its trace and span ID) and on the inference spans it routed. */
  decisionId: 'router.decision.id',
  requestId: 'router.request.id',
  strategy: 'router.strategy',
  score: 'router.score',
  fallback: 'router.fallback',
  /** The chosen model. */
  model: 'router.model',
  /** The candidates weighed, in rank order, and their scores at the same positions. */
  candidateModels: 'router.candidate.models',
  candidateScores: 'router.candidate.scores',
} as const

/** Attributes that make a span a routing decision; `router.decision.id` alone only links an inference to one. */
export const DECISION_MARKERS = [ROUTER.strategy, ROUTER.model, ROUTER.score, ROUTER.fallback, ROUTER.candidateModels] as const

/**
 * Operations of `gen_ai.operation.name` that call a model: each such span is one inference.
 * Others (`invoke_agent`, `execute_tool`, `create_agent`, ...) wrap or follow inferences and are ignored,
 * so that nothing counts twice. A span without an operation is an inference when it names a model.
 */
export const INFERENCE_OPERATIONS: ReadonlySet<string> = new Set(['chat', 'text_completion', 'generate_content', 'embeddings'])

/** OTLP's span status code ERROR (opentelemetry/proto/trace/v1/trace.proto, Status.StatusCode). */
export const STATUS_ERROR = 2

const AGENT_SOURCE = `${GEN_AI.agentId}, ${GEN_AI.agentName} or the resource's ${SERVICE_NAME}`

/** Where each field of a stored record comes from, to name the attribute in a rejection. */
const METRIC_SOURCES: Record<string, string> = {
  decision_ID: ROUTER.decisionId,
  agent_ID: AGENT_SOURCE,
  model_ID: `${GEN_AI.responseModel} or ${GEN_AI.requestModel}`,
  latencyMs: 'the span\'s start and end time',
  ttftMs: GEN_AI.timeToFirstChunk,
  inputTokens: GEN_AI.inputTokens,
  outputTokens: GEN_AI.outputTokens,
  errorCode: ERROR_TYPE,
  finishReason: GEN_AI.finishReasons,
  cost: GEN_AI.cost,
  recordedAt: 'the span\'s end time',
}
const DECISION_SOURCES: Record<string, string> = {
  ID: ROUTER.decisionId,
  requestId: ROUTER.requestId,
  agent_ID: AGENT_SOURCE,
  model_ID: `${ROUTER.model} (or the inference's model on a span that is both)`,
  strategy: ROUTER.strategy,
  score: ROUTER.score,
  fallback: ROUTER.fallback,
  decidedAt: 'the span\'s start time',
  model_ID_candidate: ROUTER.candidateModels,
  score_candidate: ROUTER.candidateScores,
  rank_candidate: ROUTER.candidateModels,
}

/** The attribute behind a record field that input validation names, e.g. `candidates[2]/score` -> `router.candidate.scores[2]`. */
export function sourceOf(record: 'metric' | 'decision', target = ''): string {
  const candidate = /^candidates\[(\d+)\]\/(\w+)$/.exec(target)
  if (candidate) return `${DECISION_SOURCES[`${candidate[2]}_candidate`] ?? ROUTER.candidateModels}[${candidate[1]}]`
  return (record === 'metric' ? METRIC_SOURCES : DECISION_SOURCES)[target] ?? target
}
