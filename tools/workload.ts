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

/** Draws of a seeded generator that both kinds of traffic make. */
function draws(o: WorkloadOptions) {
  const rnd = random(o.seed ?? 1), span = o.to.getTime() - o.from.getTime()
  return {
    rnd,
    /** An index below n, Zipf-skewed: P(i) ∝ 1/(i+1). */
    zipf: (n: number) => {
      const weights = Array.from({ length: n }, (_, i) => 1 / (i + 1)), total = weights.reduce((a, b) => a + b)
      return () => { let r = rnd() * total, i = 0; while ((r -= weights[i]) > 0 && i < n - 1) i++; return i }
    },
    gauss: () => Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd()),
    /** The time of the n-th record. */
    at: (n: number) => new Date(o.from.getTime() + Math.floor(o.count ? (n + rnd()) * span / o.count : rnd() * span)),
    id: o.ids === 'v4' ? () => randomUUID() : uuidv7,
  }
}

/** The metric of a decision served by `model`: its latency drawn from the model's distribution, tokens at random. */
function served(draw: ReturnType<typeof draws>, decision: Decision, model: SimulatedModel, success: boolean): Metric {
  const { rnd, gauss, id } = draw
  const latencyMs = Math.round(model.medianLatencyMs * Math.exp(model.spread * gauss()) * 100) / 100
  const recordedAt = new Date(Date.parse(decision.decidedAt) + Math.round(latencyMs))
  return {
    ID: id(recordedAt), decision_ID: decision.ID, agent_ID: decision.agent_ID, model_ID: model.ID,
    latencyMs, ttftMs: Math.round(latencyMs * 0.3 * 100) / 100,
    inputTokens: 200 + Math.floor(rnd() * 3000), outputTokens: success ? 50 + Math.floor(rnd() * 800) : 0,
    success, errorCode: success ? null : (rnd() < 0.5 ? 'rate_limited' : 'timeout'),
    finishReason: success ? 'stop' : 'error', recordedAt: recordedAt.toISOString(),
  }
}

/** An endless generator of decision-metric pairs; agents and models are Zipf-skewed (the first ones busiest). */
export function* traffic(o: WorkloadOptions): Generator<{ decision: Decision; metric: Metric }> {
  const draw = draws(o), { rnd, zipf, id } = draw
  const pickAgent = zipf(o.agents.length), pickModel = zipf(o.models.length)
  for (let n = 0; ; n++) {
    const agent_ID = o.agents[pickAgent()], model = o.models[pickModel()]
    const at = draw.at(n)
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
    yield { decision, metric: served(draw, decision, model, rnd() >= model.failureRate) }
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

/**
 * How often each strategy decides in `routedTraffic`, and how it picks among an agent's candidates
 * knowing their true success rates for that agent: `optimal` the best (9 times in 10), `balanced` the
 * best or else the fastest, `greedy` always the fastest, `manual` the agent's first model, `fallback`
 * any. So the strategies differ in quality as a router's do, and routing quality can tell them apart.
 */
export const ROUTING_MIX: Record<typeof STRATEGIES[number], number> = { optimal: 0.3, balanced: 0.3, greedy: 0.25, manual: 0.1, fallback: 0.05 }

export interface RoutingOptions {
  /** Shares of the strategies (default ROUTING_MIX). */
  mix?: Partial<typeof ROUTING_MIX>
  /** Seed of the agents' candidate pools and success rates (default: `seed`): traffic of other seeds then routes in the same world. */
  worldSeed?: number
}

/** Per agent its candidate models, each with its true success rate for that agent. */
function candidatePools(o: WorkloadOptions & RoutingOptions) {
  const { rnd, zipf } = draws({ ...o, seed: o.worldSeed ?? o.seed })
  const pickModel = zipf(o.models.length), size = Math.min(o.candidates ?? 3, o.models.length)
  return o.agents.map(() => {
    const pool = new Map<SimulatedModel, number>()
    while (pool.size < size) {
      const model = o.models[pickModel()]
      if (!pool.has(model)) pool.set(model, 1 - model.failureRate - 0.25 * rnd())
    }
    return [...pool].map(([model, successRate]) => ({ model, successRate }))
  })
}

/**
 * Router traffic whose strategies differ in quality: each agent weighs a pool of `candidates` models
 * (Zipf-weighted, so popular models serve many agents), each with a success rate of its own for that
 * agent (its failure rate and up to 25 points less), and a strategy picks one of them (ROUTING_MIX).
 * A candidate's score grows with its true success rate, with noise, so scores are calibrated.
 */
export function* routedTraffic(o: WorkloadOptions & RoutingOptions): Generator<{ decision: Decision; metric: Metric }> {
  const draw = draws(o), { rnd, zipf, gauss, id } = draw
  const pools = candidatePools(o)
  const mix = Object.entries({ ...ROUTING_MIX, ...o.mix }).filter(([, w]) => w > 0), mixTotal = mix.reduce((a, [, w]) => a + w, 0)
  const pickStrategy = () => { let r = rnd() * mixTotal, i = 0; while ((r -= mix[i][1]) > 0 && i < mix.length - 1) i++; return mix[i][0] }
  const pickAgent = zipf(o.agents.length)
  for (let n = 0; ; n++) {
    const a = pickAgent(), pool = pools[a], at = draw.at(n), strategy = pickStrategy()
    const best = pool.reduce((x, y) => y.successRate > x.successRate ? y : x)
    const fastest = pool.reduce((x, y) => y.model.medianLatencyMs < x.model.medianLatencyMs ? y : x)
    const any = () => pool[Math.floor(rnd() * pool.length)]
    const chosen = strategy === 'optimal' ? (rnd() < 0.9 ? best : any())
      : strategy === 'balanced' ? (rnd() < 0.6 ? best : fastest)
        : strategy === 'greedy' ? fastest
          : strategy === 'manual' ? pool[0]
            : any()
    const scored = pool.map(c => ({ c, score: Math.round(Math.min(1, Math.max(0, 0.1 + 3 * (c.successRate - 0.7) + 0.05 * gauss())) * 1e4) / 1e4 }))
    const decision: Decision = {
      ID: id(at), requestId: `req-${o.seed ?? 1}-${n}`, agent_ID: o.agents[a], model_ID: chosen.model.ID, strategy,
      score: scored.find(s => s.c === chosen)!.score, fallback: strategy === 'fallback', decidedAt: at.toISOString(),
      candidates: [...scored].sort((x, y) => y.score - x.score).map(({ c, score }, i) => ({ model_ID: c.model.ID, score, rank: i + 1 })),
    }
    yield { decision, metric: served(draw, decision, chosen.model, rnd() < chosen.successRate) }
  }
}
