import { randomBytes, randomUUID } from 'node:crypto'

/**
 * Synthetic router traffic with a known, skewed shape: used by `npm run simulate` to fill an
 * instance, by `npm run bench` as load, and by the tests as data whose figures they recompute.
 */

export const STRATEGIES = ['greedy', 'optimal', 'balanced', 'fallback', 'manual'] as const

/** A model as the simulator sees it: log-normal latency around `medianLatencyMs`, and a failure rate. */
export interface SimulatedModel { ID: string; medianLatencyMs: number; spread: number; failureRate: number }

export interface WorkloadOptions {
  agents: string[]
  models: SimulatedModel[]
  /** Timestamps fall in `from <= t < to`: uniformly at random, or in order when `count` is given. */
  from: Date
  to: Date
  /** How many records will be drawn: then time advances through the window as a router writes, oldest first. */
  count?: number
  seed?: number
  /** Candidates weighed per decision. */
  candidates?: number
  /** `v7` (default): IDs ordered by the record's time, as routers should send them; `v4`: random IDs. */
  ids?: 'v7' | 'v4'
}

export interface Decision {
  ID: string; requestId: string; agent_ID: string; model_ID: string; strategy: string
  score: number; fallback: boolean; decidedAt: string
  candidates: { model_ID: string; score: number; rank: number }[]
}
export interface Metric {
  ID: string; decision_ID: string; agent_ID: string; model_ID: string; latencyMs: number; ttftMs: number
  inputTokens: number; outputTokens: number; success: boolean; errorCode: string | null; finishReason: string; recordedAt: string
}

/**
 * A UUIDv7 (RFC 9562): the record's time in milliseconds, then random bits. IDs that grow with time
 * land next to each other in every primary-key index, so the database's insert cost stays flat as
 * the tables grow; random v4 IDs scatter over the whole index (docs/performance.md).
 */
export function uuidv7(at: Date): string {
  const bytes = randomBytes(16)
  bytes.writeUIntBE(at.getTime(), 0, 6)
  bytes[6] = (bytes[6] & 0x0f) | 0x70 // version 7
  bytes[8] = (bytes[8] & 0x3f) | 0x80 // variant 10
  const hex = bytes.toString('hex')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

/** mulberry32: a small seeded PRNG, so that a workload can be generated again exactly. */
export function random(seed = 1) {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export const DEFAULT_MODELS: SimulatedModel[] = [
  { ID: 'gpt-4o', medianLatencyMs: 900, spread: 0.5, failureRate: 0.01 },
  { ID: 'gpt-4o-mini', medianLatencyMs: 400, spread: 0.4, failureRate: 0.01 },
  { ID: 'claude-3-5-sonnet', medianLatencyMs: 1100, spread: 0.6, failureRate: 0.02 },
  { ID: 'claude-3-5-haiku', medianLatencyMs: 350, spread: 0.4, failureRate: 0.01 },
  { ID: 'gemini-1-5-pro', medianLatencyMs: 1300, spread: 0.7, failureRate: 0.03 },
  { ID: 'gemini-1-5-flash', medianLatencyMs: 300, spread: 0.5, failureRate: 0.02 },
  { ID: 'mistral-large', medianLatencyMs: 800, spread: 0.5, failureRate: 0.02 },
  { ID: 'llama-3-1-8b', medianLatencyMs: 150, spread: 0.3, failureRate: 0.05 },
]
export const DEFAULT_AGENTS = ['support-bot', 'code-reviewer', 'sql-analyst', 'doc-summarizer', 'translator', 'sales-assistant', 'research-agent', 'invoice-extractor']

/** An endless generator of decision-metric pairs; agents and models are Zipf-skewed (the first ones busiest). */
export function* traffic(o: WorkloadOptions): Generator<{ decision: Decision; metric: Metric }> {
  const rnd = random(o.seed ?? 1)
  const zipf = (n: number) => { // P(i) ∝ 1/(i+1)
    const weights = Array.from({ length: n }, (_, i) => 1 / (i + 1)), total = weights.reduce((a, b) => a + b)
    return () => { let r = rnd() * total, i = 0; while ((r -= weights[i]) > 0 && i < n - 1) i++; return i }
  }
  const pickAgent = zipf(o.agents.length), pickModel = zipf(o.models.length)
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd())
  const span = o.to.getTime() - o.from.getTime()
  const id = o.ids === 'v4' ? () => randomUUID() : uuidv7
  for (let n = 0; ; n++) {
    const agent_ID = o.agents[pickAgent()], model = o.models[pickModel()]
    const at = new Date(o.from.getTime() + Math.floor(o.count ? (n + rnd()) * span / o.count : rnd() * span))
    const strategy = STRATEGIES[Math.floor(rnd() * rnd() * STRATEGIES.length)]
    const score = Math.round(rnd() * 1e4) / 1e4
    const candidates = Array.from({ length: o.candidates ?? 3 }, (_, i) => ({
      model_ID: i === 0 ? model.ID : o.models[Math.floor(rnd() * o.models.length)].ID,
      score: Math.round(score * (1 - i * 0.1) * 1e4) / 1e4,
      rank: i + 1,
    }))
    const decision: Decision = {
      ID: id(at), requestId: `req-${o.seed ?? 1}-${n}`, agent_ID, model_ID: model.ID, strategy,
      score, fallback: strategy === 'fallback', decidedAt: at.toISOString(), candidates,
    }
    const success = rnd() >= model.failureRate
    const latencyMs = Math.round(model.medianLatencyMs * Math.exp(model.spread * gauss()) * 100) / 100
    const recordedAt = new Date(at.getTime() + Math.round(latencyMs))
    const metric: Metric = {
      ID: id(recordedAt), decision_ID: decision.ID, agent_ID, model_ID: model.ID,
      latencyMs, ttftMs: Math.round(latencyMs * 0.3 * 100) / 100,
      inputTokens: 200 + Math.floor(rnd() * 3000), outputTokens: success ? 50 + Math.floor(rnd() * 800) : 0,
      success, errorCode: success ? null : (rnd() < 0.5 ? 'rate_limited' : 'timeout'),
      finishReason: success ? 'stop' : 'error', recordedAt: recordedAt.toISOString(),
    }
    yield { decision, metric }
  }
}

/** The next `size` pairs of a traffic generator, as an `ingest` payload. */
export function batch(source: Iterator<{ decision: Decision; metric: Metric }>, size: number) {
  const decisions: Decision[] = [], metrics: Metric[] = []
  for (let i = 0; i < size; i++) {
    const { decision, metric } = source.next().value as { decision: Decision; metric: Metric }
    decisions.push(decision); metrics.push(metric)
  }
  return { decisions, metrics }
}
