import { MetricTotals, HOUR, type MetricFacts, type TotalsJSON } from './metric-totals.ts'

/**
 * The figures of routing quality (API.md, "Routing quality"), without CAP: the Wilson interval of a
 * success rate, the two-proportion z-test against the best strategy, score buckets, a decision's
 * best and cheapest adequate candidate, and how a window splits into whole hours and raw edges.
 * Success rates and mean costs are compared exactly, as fractions, so ties are ties.
 */

/** The 97.5 % quantile of the standard normal distribution: a 95 % two-sided interval. */
export const WILSON_Z = 1.959964

/** Default of `candidateRegret`'s `minRequests`: metrics of an agent on a model before it counts as known. */
export const MIN_REQUESTS = 20

/** Costs are stored with 10 decimals (Decimal(20, 10)): sums of them are whole numbers of these units. */
const COST_UNIT = 1e-10

/** The Wilson score interval of `successes` out of `requests`; null without requests. */
export function wilsonInterval(successes: number, requests: number, z = WILSON_Z): { low: number; high: number } | null {
  if (!requests) return null
  const p = successes / requests, z2 = z * z, n = requests
  const centre = (p + z2 / (2 * n)) / (1 + z2 / n)
  const half = z / (1 + z2 / n) * Math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
  return { low: Math.max(0, centre - half), high: Math.min(1, centre + half) }
}

const SQRT_2PI = Math.sqrt(2 * Math.PI)

/**
 * The upper tail 1 - Φ(x) of the standard normal distribution for x >= 0, to about 1e-15: up to 3 by
 * the series Φ(x) - 1/2 = φ(x) Σ x^(2k+1) / (1·3·…·(2k+1)), whose terms are all positive; above
 * by the continued fraction φ(x) / (x + 1/(x + 2/(x + 3/(x + …)))), which keeps tiny tails exact
 * where 1 - Φ would cancel.
 */
export function normalUpperTail(x: number): number {
  if (x < 0) return 1 - normalUpperTail(-x)
  const density = Math.exp(-x * x / 2) / SQRT_2PI
  if (x < 3) {
    let term = x, sum = x
    for (let k = 1; term > 1e-17 * sum; k++) sum += term *= x * x / (2 * k + 1)
    return 0.5 - density * sum
  }
  let fraction = x
  for (let k = 120; k >= 1; k--) fraction = x + k / fraction
  return density / fraction
}

/** Φ(x), the standard normal distribution function. */
export const normalCdf = (x: number) => normalUpperTail(-x)

/**
 * The two-sided p-value of the pooled two-proportion z-test of x1/n1 against x2/n2; null where a
 * side has no request. Where the pooled rate is 0 or 1, both rates are equal and the p-value is 1.
 */
export function twoProportionPValue(x1: number, n1: number, x2: number, n2: number): number | null {
  if (!n1 || !n2) return null
  const pooled = (x1 + x2) / (n1 + n2), se = Math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
  if (!(se > 0)) return 1
  const z = Math.abs(x1 / n1 - x2 / n2) / se
  return Math.min(1, 2 * normalUpperTail(z))
}

/** The score bucket of `scoreCalibration`: min(9, floor(10 × score)). */
export const scoreBucket = (score: number) => Math.min(9, Math.floor(10 * score))

/** Sign of a/b - c/d for counts b, d > 0, exact also where the products pass 2^53. */
function compareFractions(a: number, b: number, c: number, d: number): number {
  const left = a * d, right = c * b
  if (Number.isSafeInteger(left) && Number.isSafeInteger(right)) return Math.sign(left - right)
  const diff = BigInt(a) * BigInt(d) - BigInt(c) * BigInt(b)
  return diff > 0n ? 1 : diff < 0n ? -1 : 0
}

/** Successes among requests, as counted for a strategy or an agent-model pair. */
export interface Outcomes { requests: number; successes: number }

/** Sign of the success rate of `a` less that of `b`, exactly; both with requests. */
export const compareSuccessRates = (a: Outcomes, b: Outcomes) => compareFractions(a.successes, a.requests, b.successes, b.requests)

/**
 * The strategy the others are tested against: the highest success rate, ties to the one with more
 * requests, then the first by name; strategies without requests take no part.
 */
export function bestStrategy<T extends Outcomes & { strategy: string }>(rows: T[]): T | undefined {
  let best: T | undefined
  for (const row of rows) {
    if (!row.requests) continue
    const order = !best ? 1 : compareSuccessRates(row, best) || Math.sign(row.requests - best.requests) || (row.strategy < best.strategy ? 1 : -1)
    if (order > 0) best = row
  }
  return best
}

/** The metrics of an agent on a model in a window: requests, successes and the sum of their costs in USD. */
export interface PairFigures extends Outcomes { cost: number }

/** What `candidateRegret` finds of one evaluated decision. */
export interface Judgement {
  /** The best candidate is not the chosen model. */
  betterAvailable: boolean
  /** S(best) - S(chosen) */
  successRegret: number
  /** C(chosen) - C(cheapest adequate) */
  costSaving: number
}

/**
 * Judges a decision of an agent by the figures of its candidates for that agent (API.md,
 * `candidateRegret`): null where it is not evaluated, i.e. where its chosen model or every other
 * candidate has fewer than `minRequests` metrics. `figures` gives a model's, if it has any.
 */
export function judgeDecision(chosen: string, candidates: Iterable<string>, figures: (model_ID: string) => PairFigures | undefined, minRequests: number): Judgement | null {
  const known = (model_ID: string) => {
    const f = figures(model_ID)
    return f && f.requests >= minRequests ? f : undefined
  }
  const mine = known(chosen)
  if (!mine) return null
  const others: [string, PairFigures][] = []
  for (const model_ID of new Set(candidates)) {
    const f = model_ID !== chosen && known(model_ID)
    if (f) others.push([model_ID, f])
  }
  if (!others.length) return null
  const units = (f: PairFigures) => Math.round(f.cost / COST_UNIT)
  // sign of C(a) - C(b), exactly: mean costs as fractions of whole cost units
  const compareCosts = (a: PairFigures, b: PairFigures) => compareFractions(units(a), a.requests, units(b), b.requests)
  // the best: highest S, then lowest C, then the chosen model, then the smallest model_ID
  let best: [string, PairFigures] = [chosen, mine], cheapest = mine
  for (const candidate of others.sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0)) {
    const [, f] = candidate
    if ((compareSuccessRates(f, best[1]) || -compareCosts(f, best[1])) > 0) best = candidate
    if (compareSuccessRates(f, mine) >= 0 && compareCosts(f, cheapest) < 0) cheapest = f
  }
  const S = (f: PairFigures) => f.successes / f.requests, C = (f: PairFigures) => f.cost / f.requests
  return { betterAvailable: best[0] !== chosen, successRegret: S(best[1]) - S(mine), costSaving: C(mine) - C(cheapest) }
}

export { HOUR }

/** `[start, end)` in epoch milliseconds, counted with `sign`: -1 takes it out of a whole hour read from the rollups. */
export interface Span { start: number; end: number; sign: 1 | -1 }

/**
 * How to read the decisions of `[start, end)`: whole UTC hours from the rollups, the rest from the
 * raw rows. A partial hour of more than half an hour is read as the whole hour less the rest, so an
 * edge reads at most 30 minutes of raw rows. Before `rollupsFrom` (a whole hour; Infinity while no
 * rollup is kept) everything comes from the raw rows.
 */
export function planWindow(start: number, end: number, rollupsFrom: number): { hours: Span[]; raw: Span[] } {
  const hours: Span[] = [], raw: Span[] = []
  const split = Math.min(Math.max(start, rollupsFrom), end)
  if (start < split) raw.push({ start, end: split, sign: 1 })
  const partial = (from: number, to: number) => {
    if (from >= to) return
    if (to - from <= HOUR / 2) { raw.push({ start: from, end: to, sign: 1 }); return }
    const hour = Math.floor(from / HOUR) * HOUR
    hours.push({ start: hour, end: hour + HOUR, sign: 1 })
    if (hour < from) raw.push({ start: hour, end: from, sign: -1 })
    if (to < hour + HOUR) raw.push({ start: to, end: hour + HOUR, sign: -1 })
  }
  if (split < end) {
    const first = Math.ceil(split / HOUR) * HOUR, last = Math.floor(end / HOUR) * HOUR
    if (first > last) partial(split, end)
    else {
      if (first < last) hours.push({ start: first, end: last, sign: 1 })
      partial(split, first)
      partial(last, end)
    }
  }
  return { hours, raw }
}

/** The sign of the span a time lies in; spans of one plan do not overlap. */
export const signAt = (spans: Span[], t: number): 1 | -1 | 0 => spans.find(span => span.start <= t && t < span.end)?.sign ?? 0

/** A strategy's decisions in a window and the metrics of them, whenever recorded. */
export interface StrategyOutcomes extends Outcomes {
  strategy: string; decisions: number; fallbacks: number; latencySumMs: number; cost: number; p95LatencyMs: number | null
}

const byName = <T extends { strategy: string }>(a: T, b: T) => a.strategy < b.strategy ? -1 : a.strategy > b.strategy ? 1 : 0

/** The rows of `strategyComparison`, by strategy name: rates with their Wilson interval, and the p-value against the best. */
export function compareStrategies(outcomes: StrategyOutcomes[]) {
  const best = bestStrategy(outcomes)
  return outcomes.map(o => {
    const interval = wilsonInterval(o.successes, o.requests), per = (sum: number) => o.requests ? sum / o.requests : null
    return {
      strategy: o.strategy, decisions: o.decisions, fallbacks: o.fallbacks, requests: o.requests, successes: o.successes,
      successRate: per(o.successes), successRateLow: interval?.low ?? null, successRateHigh: interval?.high ?? null,
      avgLatencyMs: per(o.latencySumMs), p95LatencyMs: o.p95LatencyMs, costPerRequest: per(o.cost),
      pValueVsBest: !best || o === best ? null : twoProportionPValue(o.successes, o.requests, best.successes, best.requests),
    }
  }).sort(byName)
}

/** The decisions of a window whose score falls in one bucket, and the metrics of them. */
export interface BucketOutcomes extends Outcomes { bucket: number; decisions: number; scoreSum: number; latencySumMs: number; cost: number }

/** The rows of `scoreCalibration`, by bucket: buckets with decisions only. */
export function calibrationRows(buckets: BucketOutcomes[]) {
  return buckets.filter(b => b.decisions > 0).sort((a, b) => a.bucket - b.bucket).map(b => {
    const per = (sum: number) => b.requests ? sum / b.requests : null
    return {
      bucket: b.bucket, scoreFrom: b.bucket / 10, scoreTo: (b.bucket + 1) / 10, decisions: b.decisions, meanScore: b.scoreSum / b.decisions,
      requests: b.requests, successes: b.successes, successRate: per(b.successes), avgLatencyMs: per(b.latencySumMs), costPerRequest: per(b.cost),
    }
  })
}

/** Decisions of a strategy and agent that chose the same model among the same other candidates. */
export interface Choice { strategy: string; agent_ID: string; model_ID: string; others: string[]; decisions: number }

/** The rows of `candidateRegret`, by strategy name; `figures` gives the metrics of an agent on a model recorded in the window. */
export function regretRows(choices: Choice[], figures: (agent_ID: string, model_ID: string) => PairFigures | undefined, minRequests: number) {
  const strategies = new Map<string, { strategy: string; decisions: number; evaluated: number; betterAvailable: number; regret: number; saving: number }>()
  for (const c of choices) {
    let s = strategies.get(c.strategy)
    if (!s) strategies.set(c.strategy, s = { strategy: c.strategy, decisions: 0, evaluated: 0, betterAvailable: 0, regret: 0, saving: 0 })
    s.decisions += c.decisions
    const judged = judgeDecision(c.model_ID, c.others, model_ID => figures(c.agent_ID, model_ID), minRequests)
    if (!judged) continue
    s.evaluated += c.decisions
    if (judged.betterAvailable) s.betterAvailable += c.decisions
    s.regret += c.decisions * judged.successRegret
    s.saving += c.decisions * judged.costSaving
  }
  return [...strategies.values()].filter(s => s.decisions > 0).sort(byName).map(s => ({
    strategy: s.strategy, decisions: s.decisions, evaluated: s.evaluated, betterAvailable: s.betterAvailable,
    betterAvailableRate: s.evaluated ? s.betterAvailable / s.evaluated : null,
    successRegret: s.evaluated ? s.regret / s.evaluated : null,
    costSavingPerRequest: s.evaluated ? s.saving / s.evaluated : null,
  }))
}

/** The fields of a stored decision that the quality rollups count. */
export interface DecisionQualityFacts {
  ID: string; agent_ID: string; model_ID: string; strategy: string; score?: number | null; fallback?: boolean | null; decidedAt: string
}
/** The fields of a stored metric that the quality rollups add up. */
export type MetricQualityFacts = Omit<MetricFacts, 'recordedAt'> & { decision_ID?: string | null; recordedAt?: string }

/** The two kinds of QualityRollups rows (db/schema.cds). */
export const KINDS = { outcomes: 'outcomes', choices: 'choices' } as const
/** A group of an `outcomes` row: strategy, score bucket (-1: no score), decisions, fallbacks, sum of scores, totals of their metrics. */
export type OutcomeGroupJSON = [string, number, number, number, number, TotalsJSON]
/** A group of a `choices` row: strategy, agent, chosen model, the other candidates' models (distinct, sorted), decisions. */
export type ChoiceGroupJSON = [string, string, string, string[], number]

/** The bucket of a decision's score in the outcomes; -1 for a decision without one. */
export const bucketOf = (score: number | null | undefined) => score == null ? -1 : scoreBucket(score)
export const outcomeKey = (strategy: string, bucket: number) => `${strategy}\u0000${bucket}`
export const choiceKey = (strategy: string, agent_ID: string, model_ID: string, others: string[]) => [strategy, agent_ID, model_ID, ...others].join('\u0000')

/** The figures of a strategy's decisions with scores in one bucket, and of their metrics. */
export class Outcome {
  decisions = 0; fallbacks = 0; scoreSum = 0
  totals = new MetricTotals()
  readonly strategy: string
  readonly bucket: number
  constructor(strategy: string, bucket: number) { this.strategy = strategy; this.bucket = bucket }

  addDecision(d: Pick<DecisionQualityFacts, 'score' | 'fallback'>, sign: 1 | -1 = 1) {
    this.decisions += sign
    if (d.fallback) this.fallbacks += sign
    if (d.score != null) this.scoreSum += sign * d.score
  }

  /** Adds a metric of one of its decisions, as stored (numbers may come as strings). */
  addMetric(m: MetricQualityFacts, sign: 1 | -1 = 1) {
    // a copy only where the database answered strings (Decimal on PostgreSQL)
    this.totals.add(typeof m.latencyMs === 'number' && typeof m.cost === 'number' ? m : { ...m, latencyMs: Number(m.latencyMs), cost: Number(m.cost ?? 0) }, sign)
  }

  addJSON([, , decisions, fallbacks, scoreSum, totals]: OutcomeGroupJSON, sign: 1 | -1 = 1) {
    this.decisions += sign * decisions; this.fallbacks += sign * fallbacks; this.scoreSum += sign * scoreSum
    this.totals.mergeJSON(totals, sign)
    return this
  }

  toJSON(): OutcomeGroupJSON {
    return [this.strategy, this.bucket, this.decisions, this.fallbacks, this.scoreSum, this.totals.toJSON()]
  }
}

/** Outcomes by strategy and score bucket, each made when first asked for. */
export class OutcomeGroups {
  private readonly groups = new Map<string, Outcome>()
  at(strategy: string, bucket: number): Outcome {
    const key = outcomeKey(strategy, bucket)
    let outcome = this.groups.get(key)
    if (!outcome) this.groups.set(key, outcome = new Outcome(strategy, bucket))
    return outcome
  }
  values() { return [...this.groups.values()] }
}
