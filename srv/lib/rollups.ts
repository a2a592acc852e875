import cds from '@sap/cds'
import { HourlyRollups, PairRollups, ModelRollups, StrategyRollups, WriteLocks, RoutingDecisions } from '#cds-models/router'
import { LatencySketch } from './latency-sketch.ts'
import { writeAll } from './bulk.ts'

/** The fields of a stored metric that the rollups add up. */
export interface MetricFacts {
  agent_ID: string; model_ID: string; latencyMs: number; success: boolean
  inputTokens: number; outputTokens: number; cost: number; recordedAt: string
}
/** The fields of a stored decision that the rollups count. */
export interface DecisionFacts {
  agent_ID: string; model_ID: string; strategy: string; score?: number | null; fallback: boolean; decidedAt: string
}

/**
 * Stands for all agents or all models in hourly rollup rows: besides its pair's row, every record
 * counts in its model's, its agent's and the everything row of its hour, so that windows grouped by
 * model, by agent or not at all read a few rows an hour instead of one per pair.
 */
export const ALL = '*'

/** The UTC hour a timestamp falls in, as the ISO string CAP stores. */
export const hourOf = (timestamp: string | Date): string => {
  const t = new Date(timestamp)
  t.setUTCMinutes(0, 0, 0)
  return t.toISOString()
}

/** Additive figures of a set of metrics, as stored in the rollup tables (aspect MetricTotals). */
export class MetricTotals {
  requests = 0; successes = 0; failures = 0; latencySumMs = 0
  inputTokens = 0; outputTokens = 0; cost = 0
  sketch = new LatencySketch()

  /** Reads a rollup row; Integer64 and Decimal columns may come back as strings. */
  static of(row: Record<string, unknown>): MetricTotals {
    const t = new MetricTotals()
    t.requests = Number(row.requests ?? 0); t.successes = Number(row.successes ?? 0); t.failures = Number(row.failures ?? 0)
    t.latencySumMs = Number(row.latencySumMs ?? 0)
    t.inputTokens = Number(row.inputTokens ?? 0); t.outputTokens = Number(row.outputTokens ?? 0)
    t.cost = Number(row.cost ?? 0)
    t.sketch = LatencySketch.parse(row.latencySketch as string | null)
    return t
  }

  add(m: MetricFacts): this {
    this.requests++
    if (m.success) this.successes++; else this.failures++
    this.latencySumMs += m.latencyMs
    this.inputTokens += m.inputTokens; this.outputTokens += m.outputTokens
    this.cost += m.cost
    this.sketch.add(m.latencyMs)
    return this
  }

  /** Adds the other totals; with sign -1 takes away totals merged in before (retention). */
  merge(t: MetricTotals, sign: 1 | -1 = 1): this {
    this.requests += sign * t.requests; this.successes += sign * t.successes; this.failures += sign * t.failures
    this.latencySumMs += sign * t.latencySumMs
    this.inputTokens += sign * t.inputTokens; this.outputTokens += sign * t.outputTokens
    this.cost += sign * t.cost
    this.sketch.merge(t.sketch, sign)
    return this
  }

  get successRate() { return this.requests ? this.successes / this.requests : null }
  get avgLatencyMs() { return this.requests ? this.latencySumMs / this.requests : null }

  toRow() {
    const { requests, successes, failures, latencySumMs, inputTokens, outputTokens } = this
    return { requests, successes, failures, latencySumMs, inputTokens, outputTokens, cost: roundUSD(this.cost), latencySketch: this.sketch.stringify() }
  }

  percentiles() {
    const [p50LatencyMs, p95LatencyMs, p99LatencyMs] = this.sketch.quantiles([0.5, 0.95, 0.99])
    return { p50LatencyMs, p95LatencyMs, p99LatencyMs }
  }
}

export const roundUSD = (usd: number) => Math.round(usd * 1e10) / 1e10

/**
 * Serializes writers of rollups and registrations across transactions and instances: an UPDATE
 * takes the row lock on PostgreSQL and HANA until commit, and the write lock on SQLite.
 */
export async function lockWriters() {
  await UPDATE(WriteLocks, 'rollups').with({ lockedAt: new Date().toISOString() })
}

/** The last write queued in each open transaction. */
const lastWriteOf = new WeakMap<object, Promise<unknown>>()

/**
 * Runs `write` as the only writer of rollups: after every write queued before it in the same
 * transaction (the requests of a $batch change set run concurrently in one transaction, and each
 * reads rollup rows that the others write back), and holding the write lock against other
 * transactions and instances until commit.
 */
export function writeInTurn<T>(write: () => Promise<T>): Promise<T> {
  const locked = () => lockWriters().then(write)
  const tx = (cds.context as { tx?: object } | undefined)?.tx
  if (!tx) return locked()
  const turn = (lastWriteOf.get(tx) ?? Promise.resolve()).then(locked, locked)
  lastWriteOf.set(tx, turn.catch(() => undefined))
  return turn
}

/** What a call adds to one hourly row; `lastAt` is the latest metric of a pair's hour. */
interface HourlyDelta { decisions: number; totals: MetricTotals; lastAt: string }
interface StrategyTotals { decisions: number; scoredDecisions: number; scoreSum: number; fallbacks: number }

/** Deltas of the all-time rollups: per pair, per model, per strategy and model. */
class AllTimeDeltas {
  readonly pairs = new Grouped(() => ({ totals: new MetricTotals(), lastUsedAt: '' }))
  readonly models = new Grouped(() => new MetricTotals())
  readonly strategies = new Grouped<StrategyTotals>(() => ({ decisions: 0, scoredDecisions: 0, scoreSum: 0, fallbacks: 0 }))

  /** Counts the totals of one pair's hour in its all-time pair and model rows. */
  addPairHour(agent_ID: string, model_ID: string, totals: MetricTotals, lastAt = '') {
    const pair = this.pairs.at(agent_ID, model_ID)
    pair.totals.merge(totals)
    if (lastAt > pair.lastUsedAt) pair.lastUsedAt = lastAt
    this.models.at(model_ID).merge(totals)
  }
}

/** Adds freshly stored decisions and metrics to every rollup, in the caller's transaction. */
export async function addToRollups(decisions: DecisionFacts[], metrics: MetricFacts[]) {
  const hourly = new Grouped<HourlyDelta>(() => ({ decisions: 0, totals: new MetricTotals(), lastAt: '' }))
  const allTime = new AllTimeDeltas(), { strategies } = allTime

  // each record once into its pair's hour; the wider groups then merge the few pair-hours
  for (const d of decisions) {
    hourly.at(hourOf(d.decidedAt), d.agent_ID, d.model_ID).decisions++
    const s = strategies.at(d.strategy, d.model_ID)
    s.decisions++
    if (d.score != null) { s.scoredDecisions++; s.scoreSum += d.score }
    if (d.fallback) s.fallbacks++
  }
  for (const m of metrics) {
    const pairHour = hourly.at(hourOf(m.recordedAt), m.agent_ID, m.model_ID)
    pairHour.totals.add(m)
    if (m.recordedAt > pairHour.lastAt) pairHour.lastAt = m.recordedAt
  }
  for (const { key: [hour, agent_ID, model_ID], delta } of [...hourly.groups.values()]) {
    for (const key of [[hour, ALL, model_ID], [hour, agent_ID, ALL], [hour, ALL, ALL]]) {
      const wider = hourly.at(...key)
      wider.decisions += delta.decisions
      wider.totals.merge(delta.totals)
    }
    if (delta.totals.requests) allTime.addPairHour(agent_ID, model_ID, delta.totals, delta.lastAt)
  }

  await upsertMerged(HourlyRollups, ['hour', 'agent_ID', 'model_ID'], hourly, (stored, delta) => ({
    decisions: Number(stored?.decisions ?? 0) + delta.decisions,
    ...(stored ? MetricTotals.of(stored).merge(delta.totals) : delta.totals).toRow(),
  }))
  await applyAllTime(allTime, 1)
}

/**
 * Takes the decisions and metrics before `cutoff` (a whole UTC hour) out of the rollups, in the
 * transaction that deletes them: the hourly rows go, and what they held is subtracted from the
 * all-time rollups. Strategies are not kept per hour, so their share is counted from the raw rows.
 */
export async function removeFromRollups(cutoff: string) {
  const allTime = new AllTimeDeltas()
  for (const row of await SELECT.from(HourlyRollups).where`hour < ${cutoff} and requests > 0 and agent_ID != ${ALL} and model_ID != ${ALL}` as Record<string, unknown>[])
    allTime.addPairHour(row.agent_ID as string, row.model_ID as string, MetricTotals.of(row))
  const strategies = await SELECT.from(RoutingDecisions)
    .columns('strategy', 'model_ID', 'count(1) as decisions', 'count(score) as scoredDecisions', 'sum(score) as scoreSum',
      'count(case when fallback = true then 1 end) as fallbacks')
    .where`decidedAt < ${cutoff}`.groupBy('strategy', 'model_ID') as Record<string, unknown>[]
  for (const s of strategies) {
    const delta = allTime.strategies.at(s.strategy as string, s.model_ID as string)
    for (const k of ['decisions', 'scoredDecisions', 'scoreSum', 'fallbacks'] as const) delta[k] = Number(s[k] ?? 0)
  }
  await DELETE.from(HourlyRollups).where`hour < ${cutoff}`
  await applyAllTime(allTime, -1)
  await DELETE.from(PairRollups).where`requests <= 0`
  await DELETE.from(ModelRollups).where`requests <= 0`
  await DELETE.from(StrategyRollups).where`decisions <= 0`
}

/** Adds (sign 1) or subtracts (sign -1) deltas to or from the all-time rollups. */
async function applyAllTime({ pairs, models, strategies }: AllTimeDeltas, sign: 1 | -1) {
  const merged = (stored: Record<string, unknown> | undefined, delta: MetricTotals) =>
    (stored ? MetricTotals.of(stored) : new MetricTotals()).merge(delta, sign)
  await upsertMerged(PairRollups, ['agent_ID', 'model_ID'], pairs, (stored, delta) => {
    const totals = merged(stored, delta.totals)
    const last = stored?.lastUsedAt as string | undefined
    return { ...totals.toRow(), ...totals.percentiles(), lastUsedAt: last && last > delta.lastUsedAt ? last : delta.lastUsedAt || null }
  })
  await upsertMerged(ModelRollups, ['model_ID'], models, (stored, delta) => {
    const totals = merged(stored, delta)
    return { ...totals.toRow(), ...totals.percentiles() }
  })
  await upsertMerged(StrategyRollups, ['strategy', 'model_ID'], strategies, (stored, delta) => ({
    decisions: Number(stored?.decisions ?? 0) + sign * delta.decisions,
    scoredDecisions: Number(stored?.scoredDecisions ?? 0) + sign * delta.scoredDecisions,
    scoreSum: Number(stored?.scoreSum ?? 0) + sign * delta.scoreSum,
    fallbacks: Number(stored?.fallbacks ?? 0) + sign * delta.fallbacks,
  }))
}

/** Deltas grouped by a composite key of string values. */
class Grouped<T> {
  readonly groups = new Map<string, { key: string[]; delta: T }>()
  private readonly init: () => T
  constructor(init: () => T) { this.init = init }
  at(...key: string[]): T {
    const id = key.join('\u0000')
    let group = this.groups.get(id)
    if (!group) this.groups.set(id, group = { key, delta: this.init() })
    return group.delta
  }
}

/**
 * Reads the stored rows of all touched groups in one query (a superset by each key column),
 * merges the deltas into them and writes them back in one UPSERT.
 */
async function upsertMerged<T>(
  entity: new () => object, keyColumns: string[], grouped: Grouped<T>,
  mergeRow: (stored: Record<string, unknown> | undefined, delta: T) => Record<string, unknown>,
) {
  if (!grouped.groups.size) return
  const keys = [...grouped.groups.values()].map(g => g.key)
  const where: Record<string, { in: string[] }> = {}
  keyColumns.forEach((column, i) => { where[column] = { in: [...new Set(keys.map(k => k[i]))] } })
  const stored = new Map<string, Record<string, unknown>>()
  for (const row of await SELECT.from(entity).where(where) as Record<string, unknown>[])
    stored.set(keyColumns.map(c => c === 'hour' ? hourOf(row[c] as string) : row[c]).join('\u0000'), row)
  const rows = [...grouped.groups].map(([id, { key, delta }]) => {
    const row = mergeRow(stored.get(id), delta)
    keyColumns.forEach((column, i) => { row[column] = key[i] })
    return row
  })
  await writeAll(entity, rows, { upsert: true })
}
