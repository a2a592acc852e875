import cds from '@sap/cds'
import { HourlyRollups, EdgeRollups, EdgeRollupsStart, PairRollups, ModelRollups, StrategyRollups, WriteLocks, RoutingDecisions } from '#cds-models/router'
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
 * Stands for all agents or all models in hourly and minute rollups: besides its pair's row, every
 * record counts in its model's, its agent's and the everything row of its hour and minute, so that
 * windows grouped by model, by agent or not at all read a few rows a period instead of one per pair.
 */
export const ALL = '*'

export const GROUPINGS = ['model', 'agent', 'pair', 'none'] as const
export type Grouping = typeof GROUPINGS[number]

/** The grouping whose rows have this agent and model, '*' where it leaves one out. */
export const groupingOf = (agent_ID: string, model_ID: string): Grouping =>
  agent_ID === ALL ? model_ID === ALL ? 'none' : 'model' : model_ID === ALL ? 'agent' : 'pair'

export const HOUR = 3600_000

/**
 * The periods at the edges of windows (EdgeRollups), longest first: of each minute the totals of
 * every group, of each 10 seconds per pair the latencies themselves, which cost a write less than
 * totals and sketches of a few records each, and a read of a few seconds hardly more.
 */
export const EDGE_SECONDS = [60, 10]

/** The UTC hour a timestamp falls in, as the ISO string CAP stores. */
export const hourOf = (timestamp: string | Date): string =>
  new Date(Math.floor(new Date(timestamp).getTime() / HOUR) * HOUR).toISOString()

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

  /** Adds a metric; with sign -1 takes away one added before. */
  add(m: MetricFacts, sign: 1 | -1 = 1): this {
    this.requests += sign
    if (m.success) this.successes += sign; else this.failures += sign
    this.latencySumMs += sign * m.latencyMs
    this.inputTokens += sign * m.inputTokens; this.outputTokens += sign * m.outputTokens
    this.cost += sign * m.cost
    this.sketch.add(m.latencyMs, sign)
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

  /** The form of totals in EdgeRollups' groups: the counts and sums, then the sketch. */
  toJSON(): TotalsJSON {
    const { requests, successes, failures, latencySumMs, inputTokens, outputTokens } = this
    return [requests, successes, failures, latencySumMs, inputTokens, outputTokens, roundUSD(this.cost), this.sketch.toJSON()]
  }

  /** As `merge`, with a pair of 10 seconds in its EdgeRollups form. */
  mergeSeconds([, , , successes, failures, inputTokens, outputTokens, cost, latencies]: SecondsPairJSON, sign: 1 | -1 = 1): this {
    this.requests += sign * (successes + failures); this.successes += sign * successes; this.failures += sign * failures
    this.inputTokens += sign * inputTokens; this.outputTokens += sign * outputTokens
    this.cost += sign * cost
    for (const latencyMs of latencies) {
      this.latencySumMs += sign * latencyMs
      this.sketch.add(latencyMs, sign)
    }
    return this
  }

  /** As `merge`, with totals in their EdgeRollups form, without reading them into totals of their own first. */
  mergeJSON([requests, successes, failures, latencySumMs, inputTokens, outputTokens, cost, sketch]: TotalsJSON, sign: 1 | -1 = 1): this {
    this.requests += sign * requests; this.successes += sign * successes; this.failures += sign * failures
    this.latencySumMs += sign * latencySumMs
    this.inputTokens += sign * inputTokens; this.outputTokens += sign * outputTokens
    this.cost += sign * cost
    this.sketch.mergeStored(sketch, sign)
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

type TotalsJSON = [number, number, number, number, number, number, number, number[]]

/** A group of a minute's EdgeRollups row: agent and model ('*' where the grouping leaves one out), decisions, totals. */
export type MinuteGroupJSON = [string, string, number, TotalsJSON]
/** A pair of a 10-second EdgeRollups row: agent, model, decisions, successes, failures, inputTokens, outputTokens, cost, and the latencies themselves. */
export type SecondsPairJSON = [string, string, number, number, number, number, number, number, number[]]

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
  await markEdgeRollupsStart()
  const periods = new PeriodRows(), seconds = new TenSeconds(), allTime = new AllTimeDeltas(), { strategies } = allTime
  for (const d of decisions) {
    for (const row of periods.of(d.decidedAt, d.agent_ID, d.model_ID)) row.decisions++
    seconds.of(d.decidedAt, d.agent_ID, d.model_ID)[2]++
    const s = strategies.at(d.strategy, d.model_ID)
    s.decisions++
    if (d.score != null) { s.scoredDecisions++; s.scoreSum += d.score }
    if (d.fallback) s.fallbacks++
  }
  for (const m of metrics) {
    for (const row of periods.of(m.recordedAt, m.agent_ID, m.model_ID)) {
      row.totals.add(m)
      if (m.recordedAt > row.lastAt) row.lastAt = m.recordedAt
    }
    const pair = seconds.of(m.recordedAt, m.agent_ID, m.model_ID)
    pair[m.success ? 3 : 4]++
    pair[5] += m.inputTokens; pair[6] += m.outputTokens; pair[7] = roundUSD(pair[7] + m.cost)
    pair[8].push(m.latencyMs)
  }
  const hours = new Map<string, { key: string[]; delta: PeriodRow }>(), edges = new Grouped<(MinuteGroupJSON | SecondsPairJSON)[]>(() => [])
  for (const row of periods) {
    const { seconds, start, agent_ID, model_ID, decisions, totals } = row
    if (seconds === MINUTE_SECONDS) edges.at(String(seconds), groupingOf(agent_ID, model_ID), String(start)).push([agent_ID, model_ID, decisions, totals.toJSON()])
    else {
      const key = [String(start), agent_ID, model_ID]
      hours.set(key.join('\u0000'), { key, delta: row })
      if (row.wider && totals.requests) allTime.addPairHour(agent_ID, model_ID, totals, row.lastAt)
    }
  }
  for (const [start, pairs] of seconds.starts) edges.at(String(TEN_SECONDS), 'pair', String(start)).push(...pairs.values())

  await upsertMerged(HourlyRollups, ['hour', 'agent_ID', 'model_ID'], hours, (stored, delta) => ({
    decisions: Number(stored?.decisions ?? 0) + delta.decisions,
    ...(stored ? MetricTotals.of(stored).merge(delta.totals) : delta.totals).toRow(),
  }))
  await upsertMerged(EdgeRollups, ['periodSeconds', 'groupBy', 'startsAt'], edges.groups, (stored, added) => ({ groups: JSON.stringify(mergeGroups(stored, added)) }))
  await applyAllTime(allTime, 1)
}

const [MINUTE_SECONDS, TEN_SECONDS] = EDGE_SECONDS

/** The periods whose totals every record counts in, in seconds: its UTC hour (HourlyRollups) and minute (EdgeRollups). */
const PERIODS = [HOUR / 1000, MINUTE_SECONDS]

/** What a call adds to the row of a period and group; `lastAt` is the latest metric in it. */
interface PeriodRow {
  seconds: number; start: number; agent_ID: string; model_ID: string
  decisions: number; totals: MetricTotals; lastAt: string
  /** Of a pair's row: the rows of its model, its agent and everything in the same period. */
  wider?: PeriodRow[]
}

/** The rows of the hours and minutes a call touches. */
class PeriodRows {
  /** Per period as in PERIODS: the rows by start, then by agent and model. */
  private readonly starts = PERIODS.map(() => new Map<number, Map<string, PeriodRow>>())

  /** The rows a record counts in: in each of its periods its pair's, its model's, its agent's and the everything row. */
  of(timestamp: string, agent_ID: string, model_ID: string): PeriodRow[] {
    const t = Date.parse(timestamp), pair = `${agent_ID}\u0000${model_ID}`, rows: PeriodRow[] = []
    PERIODS.forEach((seconds, i) => {
      const start = Math.floor(t / (seconds * 1000)) * seconds * 1000
      let groups = this.starts[i].get(start)
      if (!groups) this.starts[i].set(start, groups = new Map())
      const at = (agent_ID: string, model_ID: string) => {
        const id = `${agent_ID}\u0000${model_ID}`
        let row = groups.get(id)
        if (!row) groups.set(id, row = { seconds, start, agent_ID, model_ID, decisions: 0, totals: new MetricTotals(), lastAt: '' })
        return row
      }
      let row = groups.get(pair)
      if (!row) (row = at(agent_ID, model_ID)).wider = [at(ALL, model_ID), at(agent_ID, ALL), at(ALL, ALL)]
      rows.push(row, ...row.wider!)
    })
    return rows
  }

  *[Symbol.iterator]() {
    for (const starts of this.starts) for (const groups of starts.values()) yield* groups.values()
  }
}

/** The decisions and metrics of the 10 seconds a call touches, per pair. */
class TenSeconds {
  readonly starts = new Map<number, Map<string, SecondsPairJSON>>()

  of(timestamp: string, agent_ID: string, model_ID: string): SecondsPairJSON {
    const start = Math.floor(Date.parse(timestamp) / (TEN_SECONDS * 1000)) * TEN_SECONDS * 1000
    let pairs = this.starts.get(start)
    if (!pairs) this.starts.set(start, pairs = new Map())
    let pair = pairs.get(`${agent_ID}\u0000${model_ID}`)
    if (!pair) pairs.set(`${agent_ID}\u0000${model_ID}`, pair = [agent_ID, model_ID, 0, 0, 0, 0, 0, 0, []])
    return pair
  }
}

/** The groups of a stored EdgeRollups row with the ones a call adds. */
function mergeGroups(stored: Record<string, unknown> | undefined, added: (MinuteGroupJSON | SecondsPairJSON)[]) {
  if (!stored) return added
  const groups = new Map((JSON.parse(stored.groups as string) as (MinuteGroupJSON | SecondsPairJSON)[]).map(group => [`${group[0]}\u0000${group[1]}`, group]))
  for (const group of added) {
    const id = `${group[0]}\u0000${group[1]}`, before = groups.get(id)
    groups.set(id, !before ? group : before.length === 4 ? mergeMinute(before, group as MinuteGroupJSON) : mergeSeconds(before, group as SecondsPairJSON))
  }
  return [...groups.values()]
}

const mergeMinute = ([agent_ID, model_ID, decisions, totals]: MinuteGroupJSON, added: MinuteGroupJSON): MinuteGroupJSON =>
  [agent_ID, model_ID, decisions + added[2], new MetricTotals().mergeJSON(totals).mergeJSON(added[3]).toJSON()]

const mergeSeconds = (pair: SecondsPairJSON, added: SecondsPairJSON): SecondsPairJSON =>
  [pair[0], pair[1], pair[2] + added[2], pair[3] + added[3], pair[4] + added[4], pair[5] + added[5], pair[6] + added[6], roundUSD(pair[7] + added[7]), [...pair[8], ...added[8]]]

/**
 * The UTC hour from which on the edge rollups hold every record, in epoch ms. A database that held
 * records before them (it has hourly rollups at the first write) gets the next hour, and windows read
 * the partial hours before it from the raw rows, as before the edge rollups; any other gets 0. Set
 * by the first write under the write lock; until then windows take it as never.
 */
let edgeRollupsStart: Promise<number> | undefined

export async function edgeRollupsStartTime() {
  if (edgeRollupsStart) return edgeRollupsStart
  const marked = await SELECT.one.from(EdgeRollupsStart).columns('hour') as { hour: string } | null
  if (!marked) return Infinity
  return edgeRollupsStart = Promise.resolve(new Date(marked.hour).getTime())
}

function markEdgeRollupsStart() {
  // a mark lost with its transaction costs only speed: windows then read raw rows as without one
  return edgeRollupsStart ??= (async () => {
    const marked = await SELECT.one.from(EdgeRollupsStart).columns('hour') as { hour: string } | null
    if (marked) return new Date(marked.hour).getTime()
    const start = await SELECT.one.from(HourlyRollups).columns('hour') ? Math.ceil(Date.now() / HOUR) * HOUR : 0
    await INSERT.into(EdgeRollupsStart).entries({ ID: 'edges', hour: new Date(start).toISOString() })
    return start
  })().catch(err => { edgeRollupsStart = undefined; throw err })
}

/**
 * Takes the decisions and metrics before `cutoff` (a whole UTC hour) out of the rollups, in the
 * transaction that deletes them: the hourly and edge rows go, and what the hours held is subtracted
 * from the all-time rollups. Strategies are not kept per hour, so their share is counted from the raw rows.
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
  await DELETE.from(EdgeRollups).where`startsAt < ${cutoff}`
  await applyAllTime(allTime, -1)
  await DELETE.from(PairRollups).where`requests <= 0`
  await DELETE.from(ModelRollups).where`requests <= 0`
  await DELETE.from(StrategyRollups).where`decisions <= 0`
}

/** Adds (sign 1) or subtracts (sign -1) deltas to or from the all-time rollups. */
async function applyAllTime({ pairs, models, strategies }: AllTimeDeltas, sign: 1 | -1) {
  const merged = (stored: Record<string, unknown> | undefined, delta: MetricTotals) =>
    (stored ? MetricTotals.of(stored) : new MetricTotals()).merge(delta, sign)
  await upsertMerged(PairRollups, ['agent_ID', 'model_ID'], pairs.groups, (stored, delta) => {
    const totals = merged(stored, delta.totals)
    const last = stored?.lastUsedAt as string | undefined
    return { ...totals.toRow(), ...totals.percentiles(), lastUsedAt: last && last > delta.lastUsedAt ? last : delta.lastUsedAt || null }
  })
  await upsertMerged(ModelRollups, ['model_ID'], models.groups, (stored, delta) => {
    const totals = merged(stored, delta)
    return { ...totals.toRow(), ...totals.percentiles() }
  })
  await upsertMerged(StrategyRollups, ['strategy', 'model_ID'], strategies.groups, (stored, delta) => ({
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

/** Key columns of periods: their start is in epoch milliseconds in the deltas, a timestamp in the database. */
const PERIOD_STARTS = { hour: true, startsAt: true }
const keyValue = (column: string, key: string) => column in PERIOD_STARTS ? new Date(Number(key)).toISOString() : column === 'periodSeconds' ? Number(key) : key

/**
 * Reads the stored rows of all touched groups in one query (a superset by each key column),
 * merges the deltas into them and writes them back in one UPSERT; rows not stored yet go in as a
 * plain INSERT, which bulk.ts runs without a JSON round trip on SQLite. The write lock keeps
 * others from storing them in between.
 */
async function upsertMerged<T>(
  entity: new () => object, keyColumns: string[], groups: Map<string, { key: string[]; delta: T }>,
  mergeRow: (stored: Record<string, unknown> | undefined, delta: T) => Record<string, unknown>,
) {
  if (!groups.size) return
  const keys = [...groups.values()].map(g => g.key)
  const where: Record<string, { in: unknown[] }> = {}
  keyColumns.forEach((column, i) => { where[column] = { in: [...new Set(keys.map(k => k[i]))].map(k => keyValue(column, k)) } })
  const stored = new Map<string, Record<string, unknown>>()
  for (const row of await SELECT.from(entity).where(where) as Record<string, unknown>[])
    stored.set(keyColumns.map(c => c in PERIOD_STARTS ? new Date(row[c] as string).getTime() : row[c]).join('\u0000'), row)
  const added: Record<string, unknown>[] = [], changed: Record<string, unknown>[] = []
  for (const [id, { key, delta }] of groups) {
    const row = mergeRow(stored.get(id), delta)
    keyColumns.forEach((column, i) => { row[column] = keyValue(column, key[i]) })
    if (stored.has(id)) changed.push(row); else added.push(row)
  }
  await writeAll(entity, added)
  await writeAll(entity, changed, { upsert: true })
}
