import { HourlyRollups, EdgeRollups, InferenceMetrics, RoutingDecisions } from '#cds-models/router'
import {
  MetricTotals, ALL, HOUR, EDGE_SECONDS, GROUPINGS,
  type Grouping, type MetricFacts, type MinuteGroupJSON, type SecondsPairJSON,
} from '../domain/metric-totals.ts'
import { edgeRollupsStartTimes } from './edge-rollups-start.ts'
import { select, storedFrom, type Token, type Column } from './plain-sql.ts'

export { GROUPINGS, type Grouping }

export interface WindowGroup { agent_ID: string | null; model_ID: string | null; totals: MetricTotals }
export interface WindowStats {
  groups: WindowGroup[]
  /** decisions and the active agents and models are counted only `withActivity` (Summary24h) */
  decisions: number
  activeAgents: Set<string>
  activeModels: Set<string>
}

/** `[start, end)` in epoch milliseconds, counted with `sign`: -1 takes what lies in it out of a whole period read at a longer level. */
export interface Span { start: number; end: number; sign: number }

/** The lengths of the rolled-up periods in ms, longest first: hours (HourlyRollups), 10 minutes, minutes and 10 seconds (EdgeRollups). */
const PERIODS = [HOUR, ...EDGE_SECONDS.map(seconds => seconds * 1000)]

/**
 * Figures of the window `from <= t < to`, exact and from a number of rows that hardly grows with the
 * traffic per hour: whole UTC hours from the hourly rollups, whole minutes and then whole 10 seconds
 * of what is left at the edges from the edge rollups, the rest from the raw rows (see `plan`). A
 * window that reaches past everything recorded (as the last 24 hours up to now do) takes its partial
 * last hour from the rollups too, which then hold exactly what lies before `to`.
 */
export async function windowStats(from: Date, to: Date, grouping: Grouping, { withActivity = false } = {}): Promise<WindowStats> {
  const hourAfter = Math.ceil(to.getTime() / HOUR) * HOUR
  const end = hourAfter > to.getTime() && await nothingRecordedFrom(to) ? hourAfter : to.getTime()
  // who was active cannot be taken out of a whole period again
  const [hours, tenMinutes, minutes, tenSeconds, raw] = plan(from.getTime(), end, { complements: !withActivity, edgesFrom: await edgeRollupsStartTimes() })

  const groups = new Map<string | null, Map<string | null, WindowGroup>>()
  const perAgent = grouping === 'agent' || grouping === 'pair', perModel = grouping === 'model' || grouping === 'pair'
  // called for every group of every edge row read: by agent, then by model, without building a key
  const groupOf = (agent_ID: string, model_ID: string) => {
    const agent = perAgent ? agent_ID : null, model = perModel ? model_ID : null
    let ofAgent = groups.get(agent)
    if (!ofAgent) groups.set(agent, ofAgent = new Map())
    let group = ofAgent.get(model)
    if (!group) ofAgent.set(model, group = { agent_ID: agent, model_ID: model, totals: new MetricTotals() })
    return group.totals
  }
  const stats: WindowStats = { groups: [], decisions: 0, activeAgents: new Set(), activeModels: new Set() }
  const active = (agent_ID: string, model_ID: string) => { stats.activeAgents.add(agent_ID); stats.activeModels.add(model_ID) }

  if (hours.length) {
    // the rows of the grouping's level: per pair, per model (all agents), per agent (all models) or everything;
    // with activity also the per-agent and per-model rows, for who was active, in the same statement
    const level: Token[] = [{ ref: ['agent_ID'] }, perAgent ? '!=' : '=', { val: ALL }, 'and', { ref: ['model_ID'] }, perModel ? '!=' : '=', { val: ALL }]
    const activity: Token[] = [{ ref: ['agent_ID'] }, '=', { val: ALL }, 'or', { ref: ['model_ID'] }, '=', { val: ALL }]
    // the rows read only for who was active come without their sketch: a few hundred of them, each a few kB of text
    const sketch: Column = withActivity ? { xpr: ['case', 'when', { xpr: level }, 'then', { ref: ['latencySketch'] }, 'end'], as: 'latencySketch' } : 'latencySketch'
    const rollups = await select(HourlyRollups, [...ROLLUP_COLUMNS, sketch], [
      within('hour', hours), 'and', { xpr: withActivity ? [{ xpr: level }, 'or', { xpr: activity }] : level },
    ])
    for (const row of rollups) {
      const [agent_ID, model_ID] = [row.agent_ID as string, row.model_ID as string]
      if (withActivity && agent_ID !== ALL && model_ID === ALL) stats.activeAgents.add(agent_ID)
      if (withActivity && model_ID !== ALL && agent_ID === ALL) stats.activeModels.add(model_ID)
      if ((agent_ID !== ALL) !== perAgent || (model_ID !== ALL) !== perModel) continue
      if (withActivity) stats.decisions += Number(row.decisions ?? 0)
      if (Number(row.requests) > 0) groupOf(agent_ID, model_ID).mergeRow(row, signAt(hours, row.hour as string))
    }
  }
  if (tenMinutes.length || minutes.length || tenSeconds.length) {
    // the 10 minutes and minutes of the grouping (and of models and agents, for who was active); 10 seconds are per pair
    const groupings = withActivity ? [...new Set([grouping, 'model', 'agent'])] : [grouping]
    const [TEN_MINUTES, MINUTE, TEN_SECONDS] = EDGE_SECONDS
    const periods = ([[TEN_MINUTES, tenMinutes, groupings], [MINUTE, minutes, groupings], [TEN_SECONDS, tenSeconds, ['pair']]] as const).filter(([, spans]) => spans.length)
    // one branch per span with all key columns: SQLite then searches the key for each, where ORed spans
    // inside one branch make it scan every stored row of the period and grouping
    const branches = periods.flatMap(([seconds, spans, groupBy]) => spans.map((span): Token => ({ xpr: [
      { ref: ['periodSeconds'] }, '=', { val: seconds }, 'and', { ref: ['groupBy'] }, 'in', { list: groupBy.map(val => ({ val })) }, 'and', within('startsAt', [span]),
    ] })))
    const rows = await select(EdgeRollups, ['periodSeconds', 'groupBy', 'startsAt', 'groups'], branches.flatMap((branch, i) => [...i ? ['or'] : [], branch])) as
      { periodSeconds: number; groupBy: Grouping; startsAt: string; groups: string }[]
    for (const row of rows) {
      if (row.periodSeconds === TEN_SECONDS) {
        const sign = signAt(tenSeconds, row.startsAt)
        for (const pair of JSON.parse(row.groups) as SecondsPairJSON[]) {
          if (withActivity) { active(pair[0], pair[1]); stats.decisions += pair[2] }
          groupOf(pair[0], pair[1]).mergeSeconds(pair, sign)
        }
        continue
      }
      const sign = signAt(row.periodSeconds === TEN_MINUTES ? tenMinutes : minutes, row.startsAt)
      for (const [agent_ID, model_ID, decisions, totals] of JSON.parse(row.groups) as MinuteGroupJSON[]) {
        if (withActivity && row.groupBy === 'model') stats.activeModels.add(model_ID)
        if (withActivity && row.groupBy === 'agent') stats.activeAgents.add(agent_ID)
        if (row.groupBy !== grouping) continue
        if (withActivity) stats.decisions += decisions
        if (totals[0] > 0) groupOf(agent_ID, model_ID).mergeJSON(totals, sign)
      }
    }
  }
  if (raw.length) {
    const metrics = await select(InferenceMetrics, ['agent_ID', 'model_ID', 'latencyMs', 'success', 'inputTokens', 'outputTokens', 'cost', 'recordedAt'],
      [within('recordedAt', raw)]) as unknown as MetricFacts[]
    for (const m of metrics) {
      active(m.agent_ID, m.model_ID)
      groupOf(m.agent_ID, m.model_ID).add({ ...m, cost: Number(m.cost ?? 0), latencyMs: Number(m.latencyMs) }, signAt(raw, m.recordedAt))
    }
    if (withActivity) {
      const decisions = await select(RoutingDecisions, ['agent_ID', 'model_ID'], [within('decidedAt', raw)]) as { agent_ID: string; model_ID: string }[]
      for (const d of decisions) active(d.agent_ID, d.model_ID)
      stats.decisions += decisions.length
    }
  }
  // a group seen only in what was taken out again is not in the window
  stats.groups = [...groups.values()].flatMap(ofAgent => [...ofAgent.values()]).filter(group => group.totals.requests > 0)
  return stats
}

/**
 * How to read `[start, end)`: per level of PERIODS, and last of the raw rows, the spans to read there.
 * Whole periods come from their level; a partial one from the shorter levels, or, where it covers
 * more than half of its period and `complements` may be taken out, as the whole period less the
 * rest: an edge so reads at most half a period's worth of each shorter level. `edgesFrom` gives for
 * each level below the hour the whole hour from which on it holds every record; before it a partial
 * period comes from the next shorter level that does, or from the raw rows.
 */
export function plan(start: number, end: number, { complements = true, edgesFrom = [] as number[] } = {}): Span[][] {
  const levels: Span[][] = [...PERIODS.map(() => []), []], raw = levels[PERIODS.length]
  const cover = (start: number, end: number, sign: number, level: number): void => {
    while (level && level < PERIODS.length && start < (edgesFrom[level - 1] ?? 0)) level++
    const ms = PERIODS[level]
    if (!ms) { raw.push({ start, end, sign }); return }
    const partial = (start: number, end: number) => {
      if (start >= end) return
      if (!complements || end - start <= ms / 2) { cover(start, end, sign, level + 1); return }
      const period = Math.floor(start / ms) * ms
      levels[level].push({ start: period, end: period + ms, sign })
      if (period < start) cover(period, start, -sign, level + 1)
      if (end < period + ms) cover(end, period + ms, -sign, level + 1)
    }
    const first = Math.ceil(start / ms) * ms, last = Math.floor(end / ms) * ms
    if (first > last) { partial(start, end); return }
    if (first < last) levels[level].push({ start: first, end: last, sign })
    partial(start, first)
    partial(last, end)
  }
  // cut where levels start, so that no part reaches across the start of one
  const cuts = [...new Set(edgesFrom)].filter(t => start < t && t < end).sort((a, b) => a - b)
  cuts.concat(end).reduce((from, to) => (cover(from, to, 1, 0), to), start)
  return levels
}

/** The columns of an hourly rollup row that windows read, but for its sketch. */
const ROLLUP_COLUMNS = ['hour', 'agent_ID', 'model_ID', 'decisions', 'requests', 'successes', 'failures', 'latencySumMs', 'inputTokens', 'outputTokens', 'cost']

/** The sign of the span that a period's start or a record's time lies in. */
const signAt = (spans: Span[], timestamp: string) => {
  const t = new Date(timestamp).getTime()
  return spans.find(span => span.start <= t && t < span.end)!.sign as 1 | -1
}

/** `column` lies in one of the spans. */
const within = (column: string, spans: Span[]): Token => ({
  xpr: spans.flatMap(({ start, end }, i) => [...i ? ['or'] : [],
    { xpr: [{ ref: [column] }, '>=', { val: new Date(start).toISOString() }, 'and', { ref: [column] }, '<', { val: new Date(end).toISOString() }] }]),
})

async function nothingRecordedFrom(to: Date) {
  return !await storedFrom([[InferenceMetrics, 'recordedAt'], [RoutingDecisions, 'decidedAt']], to)
}
