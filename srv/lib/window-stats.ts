import { HourlyRollups, InferenceMetrics, RoutingDecisions } from '#cds-models/router'
import { MetricTotals, ALL, type MetricFacts } from './rollups.ts'

export const GROUPINGS = ['model', 'agent', 'pair', 'none'] as const
export type Grouping = typeof GROUPINGS[number]

export interface WindowGroup { agent_ID: string | null; model_ID: string | null; totals: MetricTotals }
export interface WindowStats {
  groups: WindowGroup[]
  /** decisions and the active agents and models are counted only `withActivity` (Summary24h) */
  decisions: number
  activeAgents: Set<string>
  activeModels: Set<string>
}

const HOUR = 3600_000

/**
 * Figures of the window `from <= t < to`: whole UTC hours inside it come from the hourly rollups,
 * the partial hours at its edges from the raw rows, so the result is exact whatever the volume.
 * A window that reaches past everything recorded (as the last 24 hours up to now do) takes its
 * partial last hour from the rollups too, which then hold exactly what lies before `to`.
 */
export async function windowStats(from: Date, to: Date, grouping: Grouping, { withActivity = false } = {}): Promise<WindowStats> {
  const firstHour = new Date(Math.ceil(from.getTime() / HOUR) * HOUR)
  const endHour = new Date(Math.floor(to.getTime() / HOUR) * HOUR)
  const lastHourWhole = to > endHour && await nothingRecordedFrom(to)
  const rollupEnd = lastHourWhole ? new Date(endHour.getTime() + HOUR) : endHour
  const wholeHours = firstHour < rollupEnd
  const edges: [Date, Date][] = !wholeHours ? [[from, to]] : lastHourWhole ? [[from, firstHour]] : [[from, firstHour], [endHour, to]]

  const groups = new Map<string, WindowGroup>()
  const groupOf = (agent_ID: string, model_ID: string) => {
    const key = grouping === 'model' ? [null, model_ID] : grouping === 'agent' ? [agent_ID, null] : grouping === 'pair' ? [agent_ID, model_ID] : [null, null]
    const id = key.join('\u0000')
    let group = groups.get(id)
    if (!group) groups.set(id, group = { agent_ID: key[0], model_ID: key[1], totals: new MetricTotals() })
    return group.totals
  }
  const stats: WindowStats = { groups: [], decisions: 0, activeAgents: new Set(), activeModels: new Set() }
  const active = (agent_ID: string, model_ID: string) => { stats.activeAgents.add(agent_ID); stats.activeModels.add(model_ID) }

  if (wholeHours) {
    const [start, end] = [firstHour.toISOString(), rollupEnd.toISOString()]
    // the rows of the grouping's level: per pair, per model (all agents), per agent (all models) or everything
    const perAgent = grouping === 'agent' || grouping === 'pair' ? '!=' : '=', perModel = grouping === 'model' || grouping === 'pair' ? '!=' : '='
    const rollups = await SELECT.from(HourlyRollups).where([
      { ref: ['hour'] }, '>=', { val: start }, 'and', { ref: ['hour'] }, '<', { val: end },
      'and', { ref: ['agent_ID'] }, perAgent, { val: ALL }, 'and', { ref: ['model_ID'] }, perModel, { val: ALL },
    ] as never) as Record<string, unknown>[]
    for (const row of rollups) {
      if (withActivity) stats.decisions += Number(row.decisions ?? 0)
      if (Number(row.requests) > 0) groupOf(row.agent_ID as string, row.model_ID as string).merge(MetricTotals.of(row))
    }
    // who was active, from the per-agent and per-model rows
    if (withActivity) {
      const activity = await SELECT.from(HourlyRollups).columns('agent_ID', 'model_ID')
        .where`hour >= ${start} and hour < ${end} and ((agent_ID != ${ALL} and model_ID = ${ALL}) or (agent_ID = ${ALL} and model_ID != ${ALL}))` as
        { agent_ID: string; model_ID: string }[]
      for (const { agent_ID, model_ID } of activity) {
        if (agent_ID === ALL) stats.activeModels.add(model_ID)
        else stats.activeAgents.add(agent_ID)
      }
    }
  }
  for (const [a, b] of edges) {
    if (a >= b) continue
    const [start, end] = [a.toISOString(), b.toISOString()]
    const metrics = await SELECT.from(InferenceMetrics)
      .columns('agent_ID', 'model_ID', 'latencyMs', 'success', 'inputTokens', 'outputTokens', 'cost', 'recordedAt')
      .where`recordedAt >= ${start} and recordedAt < ${end}` as MetricFacts[]
    for (const m of metrics) {
      active(m.agent_ID, m.model_ID)
      groupOf(m.agent_ID, m.model_ID).add({ ...m, cost: Number(m.cost ?? 0), latencyMs: Number(m.latencyMs) })
    }
    if (!withActivity) continue
    const decisions = await SELECT.from(RoutingDecisions).columns('agent_ID', 'model_ID').where`decidedAt >= ${start} and decidedAt < ${end}` as
      { agent_ID: string; model_ID: string }[]
    for (const d of decisions) active(d.agent_ID, d.model_ID)
    stats.decisions += decisions.length
  }
  stats.groups = [...groups.values()]
  return stats
}

async function nothingRecordedFrom(to: Date) {
  const t = to.toISOString()
  return !await SELECT.one.from(InferenceMetrics).columns('ID').where`recordedAt >= ${t}`
    && !await SELECT.one.from(RoutingDecisions).columns('ID').where`decidedAt >= ${t}`
}

