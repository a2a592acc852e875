import { HourlyRollups, EdgeRollups, PairRollups, ModelRollups, StrategyRollups, RoutingDecisions } from '#cds-models/router'
import {
  MetricTotals, ALL, HOUR, EDGE_SECONDS, groupingOf, roundUSD,
  type MetricFacts, type DecisionFacts, type MinuteGroupJSON, type SecondsPairJSON,
} from '../domain/metric-totals.ts'
import { markEdgeRollupsStart } from './edge-rollups-start.ts'
import { writeAll } from './bulk.ts'
import { readWhereIn } from './plain-sql.ts'

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
    const t = Date.parse(d.decidedAt)
    for (const row of periods.of(t, d.agent_ID, d.model_ID)) row.decisions++
    seconds.of(t, d.agent_ID, d.model_ID)[2]++
    const s = strategies.at(d.strategy, d.model_ID)
    s.decisions++
    if (d.score != null) { s.scoredDecisions++; s.scoreSum += d.score }
    if (d.fallback) s.fallbacks++
  }
  for (const m of metrics) {
    const t = Date.parse(m.recordedAt)
    for (const row of periods.of(t, m.agent_ID, m.model_ID)) {
      row.totals.add(m)
      if (m.recordedAt > row.lastAt) row.lastAt = m.recordedAt
    }
    const pair = seconds.of(t, m.agent_ID, m.model_ID)
    pair[m.success ? 3 : 4]++
    pair[5] += m.inputTokens; pair[6] += m.outputTokens; pair[7] = roundUSD(pair[7] + m.cost)
    pair[8].push(m.latencyMs)
  }
  const hours = new Map<string, { key: string[]; delta: PeriodRow }>(), edges = new Grouped<(MinuteGroupJSON | SecondsPairJSON)[]>(() => [])
  for (const row of periods) {
    const { seconds, start, agent_ID, model_ID, decisions, totals } = row
    if (seconds < HOUR_SECONDS) edges.at(String(seconds), groupingOf(agent_ID, model_ID), String(start)).push([agent_ID, model_ID, decisions, totals.toJSON()])
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

const HOUR_SECONDS = HOUR / 1000, TEN_SECONDS = EDGE_SECONDS.at(-1)!

/** The periods whose totals every record counts in, in seconds: its UTC hour (HourlyRollups), 10 minutes and minute (EdgeRollups). */
const PERIODS = [HOUR_SECONDS, ...EDGE_SECONDS.slice(0, -1)]

/** What a call adds to the row of a period and group; `lastAt` is the latest metric in it. */
interface PeriodRow {
  seconds: number; start: number; agent_ID: string; model_ID: string
  decisions: number; totals: MetricTotals; lastAt: string
  /** Of a pair's row: the rows of its model, its agent and everything in the same period. */
  wider?: PeriodRow[]
}

/** The rows of the hours, 10 minutes and minutes a call touches. */
class PeriodRows {
  /** Per period as in PERIODS: the rows by start, then by agent and model. */
  private readonly starts = PERIODS.map(() => new Map<number, Map<string, PeriodRow>>())
  /** The rows of each pair in each minute: all of a minute's records count in the same twelve. */
  private readonly ofMinute = new Map<number, Map<string, PeriodRow[]>>()

  /** The rows a record at `t` (epoch ms) counts in: in each of its periods its pair's, its model's, its agent's and the everything row. */
  of(t: number, agent_ID: string, model_ID: string): PeriodRow[] {
    const minute = Math.floor(t / 60_000), pair = `${agent_ID}\u0000${model_ID}`
    let pairs = this.ofMinute.get(minute)
    if (!pairs) this.ofMinute.set(minute, pairs = new Map())
    let rows = pairs.get(pair)
    if (!rows) pairs.set(pair, rows = PERIODS.flatMap((seconds, i) => {
      const start = Math.floor(t / (seconds * 1000)) * seconds * 1000
      let groups = this.starts[i].get(start)
      if (!groups) this.starts[i].set(start, groups = new Map())
      const at = (agent_ID: string, model_ID: string) => {
        const id = `${agent_ID}\u0000${model_ID}`
        let row = groups.get(id)
        if (!row) groups.set(id, row = { seconds, start, agent_ID, model_ID, decisions: 0, totals: new MetricTotals(), lastAt: '' })
        return row
      }
      const row = at(agent_ID, model_ID)
      row.wider ??= [at(ALL, model_ID), at(agent_ID, ALL), at(ALL, ALL)]
      return [row, ...row.wider]
    }))
    return rows
  }

  *[Symbol.iterator]() {
    for (const starts of this.starts) for (const groups of starts.values()) yield* groups.values()
  }
}

/** The decisions and metrics of the 10 seconds a call touches, per pair. */
class TenSeconds {
  readonly starts = new Map<number, Map<string, SecondsPairJSON>>()

  of(t: number, agent_ID: string, model_ID: string): SecondsPairJSON {
    const start = Math.floor(t / (TEN_SECONDS * 1000)) * TEN_SECONDS * 1000
    let pairs = this.starts.get(start)
    if (!pairs) this.starts.set(start, pairs = new Map())
    const id = `${agent_ID}\u0000${model_ID}`
    let pair = pairs.get(id)
    if (!pair) pairs.set(id, pair = [agent_ID, model_ID, 0, 0, 0, 0, 0, 0, []])
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
  const where: Record<string, unknown[]> = {}
  keyColumns.forEach((column, i) => { where[column] = [...new Set(keys.map(k => k[i]))].map(k => keyValue(column, k)) })
  const stored = new Map<string, Record<string, unknown>>()
  for (const row of await readWhereIn(entity, where))
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
