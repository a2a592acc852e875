import { RoutingDecisions, DecisionCandidates, InferenceMetrics, QualityRollups, HourlyRollups } from '#cds-models/router'
import { MetricTotals, roundUSD, ALL } from '../domain/metric-totals.ts'
import {
  planWindow, signAt, HOUR, Outcome, OutcomeGroups, KINDS, bucketOf, choiceKey,
  type Span, type Choice, type PairFigures, type StrategyOutcomes, type BucketOutcomes,
  type OutcomeGroupJSON, type ChoiceGroupJSON, type DecisionQualityFacts, type MetricQualityFacts,
} from '../domain/routing-quality.ts'
import { windowStats } from './window-stats.ts'
import { storedFrom } from './plain-sql.ts'
import { qualityRollupsStartTime } from './quality-rollups-start.ts'

/**
 * What routing quality reads of a window `from <= decidedAt < to`: whole UTC hours from the quality
 * rollups, edges from the raw decisions and the metrics of them (srv/domain/routing-quality.ts, planWindow).
 */

/**
 * The hours and raw spans of a window. A window reaching past every decision (as the last hours up
 * to now do) takes its last partial hour whole from the rollups, which then hold only what lies before `to`.
 */
async function plan(from: Date, to: Date) {
  const hourAfter = Math.ceil(to.getTime() / HOUR) * HOUR
  const end = hourAfter > to.getTime() && !await storedFrom([[RoutingDecisions, 'decidedAt']], to) ? hourAfter : to.getTime()
  return planWindow(from.getTime(), end, await qualityRollupsStartTime())
}

/** `column` lies in one of the spans. */
const within = (column: string, spans: Span[]) => ({
  xpr: spans.flatMap(({ start, end }, i) => [...i ? ['or'] : [],
    { xpr: [{ ref: [column] }, '>=', { val: new Date(start).toISOString() }, 'and', { ref: [column] }, '<', { val: new Date(end).toISOString() }] }]),
})

/** The groups of one kind in the rollup rows of the hours, each with the sign of its hour. */
async function rolledUp<G>(kind: string, hours: Span[]): Promise<[G, 1 | -1][]> {
  if (!hours.length) return []
  const rows = await SELECT.from(QualityRollups).columns('hour', 'groups')
    .where([within('hour', hours), 'and', { ref: ['kind'] }, '=', { val: kind }] as never) as { hour: string; groups: string }[]
  return rows.flatMap(row => {
    const sign = signAt(hours, Date.parse(row.hour)) as 1 | -1
    return (JSON.parse(row.groups) as G[]).map(group => [group, sign] as [G, 1 | -1])
  })
}

/** The raw decisions of the spans, each with the sign of its span. */
async function rawDecisions(raw: Span[], columns: string[]) {
  const decisions = await SELECT.from(RoutingDecisions).columns('ID', 'decidedAt', ...columns).where([within('decidedAt', raw)] as never) as DecisionQualityFacts[]
  return new Map(decisions.map(d => [d.ID, { d, sign: signAt(raw, Date.parse(d.decidedAt)) as 1 | -1 }]))
}

/** The IDs of the raw decisions of the spans, as a sub-query. */
const decisionIDs = (raw: Span[]) => SELECT('ID').from(RoutingDecisions).where([within('decidedAt', raw)] as never)

/** Per strategy and score bucket, the decisions of the window and the metrics of them, whenever recorded. */
async function outcomes(from: Date, to: Date): Promise<Outcome[]> {
  const { hours, raw } = await plan(from, to)
  const outcomes = new OutcomeGroups()
  for (const [group, sign] of await rolledUp<OutcomeGroupJSON>(KINDS.outcomes, hours)) outcomes.at(group[0], group[1]).addJSON(group, sign)
  if (raw.length) {
    const decisions = await rawDecisions(raw, ['strategy', 'score', 'fallback'])
    for (const { d, sign } of decisions.values()) outcomes.at(d.strategy, bucketOf(d.score)).addDecision(d, sign)
    const metrics = await SELECT.from(InferenceMetrics).columns('decision_ID', 'latencyMs', 'success', 'inputTokens', 'outputTokens', 'cost')
      .where({ decision_ID: { in: decisionIDs(raw) } }) as MetricQualityFacts[]
    for (const m of metrics) {
      const { d, sign } = decisions.get(m.decision_ID!)!
      outcomes.at(d.strategy, bucketOf(d.score)).addMetric(m, sign)
    }
  }
  // a group seen only in what was taken out again is not in the window
  return outcomes.values().filter(o => o.decisions > 0)
}

const figuresOf = (totals: MetricTotals) => ({
  requests: totals.requests, successes: totals.successes, latencySumMs: totals.latencySumMs, cost: roundUSD(totals.cost),
})

/** Per strategy with decisions in the window, its decisions and the metrics of them. */
export async function strategyOutcomes(from: Date, to: Date): Promise<StrategyOutcomes[]> {
  const strategies = new Map<string, { decisions: number; fallbacks: number; totals: MetricTotals }>()
  for (const o of await outcomes(from, to)) {
    let s = strategies.get(o.strategy)
    if (!s) strategies.set(o.strategy, s = { decisions: 0, fallbacks: 0, totals: new MetricTotals() })
    s.decisions += o.decisions; s.fallbacks += o.fallbacks
    s.totals.merge(o.totals)
  }
  return [...strategies].map(([strategy, { decisions, fallbacks, totals }]) => ({
    strategy, decisions, fallbacks, ...figuresOf(totals), p95LatencyMs: totals.sketch.quantile(0.95),
  }))
}

/** Per score bucket, the decisions of the window with a score (of one strategy, or of all) and the metrics of them. */
export async function bucketOutcomes(from: Date, to: Date, strategy?: string): Promise<BucketOutcomes[]> {
  const buckets = new Map<number, { decisions: number; scoreSum: number; totals: MetricTotals }>()
  for (const o of await outcomes(from, to)) {
    if (o.bucket < 0 || (strategy && o.strategy !== strategy)) continue
    let b = buckets.get(o.bucket)
    if (!b) buckets.set(o.bucket, b = { decisions: 0, scoreSum: 0, totals: new MetricTotals() })
    b.decisions += o.decisions; b.scoreSum += o.scoreSum
    b.totals.merge(o.totals)
  }
  return [...buckets].map(([bucket, { decisions, scoreSum, totals }]) => ({ bucket, decisions, scoreSum, ...figuresOf(totals) }))
}

/** The decisions of the window, grouped by strategy, agent, chosen model and the other candidates. */
export async function choices(from: Date, to: Date): Promise<Choice[]> {
  const { hours, raw } = await plan(from, to)
  const groups = new Map<string, Choice>()
  const add = (strategy: string, agent_ID: string, model_ID: string, others: string[], decisions: number) => {
    const key = choiceKey(strategy, agent_ID, model_ID, others), group = groups.get(key)
    if (group) group.decisions += decisions; else groups.set(key, { strategy, agent_ID, model_ID, others, decisions })
  }
  for (const [[strategy, agent_ID, model_ID, others, decisions], sign] of await rolledUp<ChoiceGroupJSON>(KINDS.choices, hours))
    add(strategy, agent_ID, model_ID, others, sign * decisions)
  if (raw.length) {
    const decisions = await rawDecisions(raw, ['strategy', 'agent_ID', 'model_ID'])
    const candidates = await SELECT.from(DecisionCandidates).columns('decision_ID', 'model_ID')
      .where({ decision_ID: { in: decisionIDs(raw) } }) as { decision_ID: string; model_ID: string }[]
    const candidatesOf = new Map<string, Set<string>>()
    for (const c of candidates) {
      const set = candidatesOf.get(c.decision_ID)
      if (set) set.add(c.model_ID); else candidatesOf.set(c.decision_ID, new Set([c.model_ID]))
    }
    for (const { d, sign } of decisions.values())
      add(d.strategy, d.agent_ID, d.model_ID, [...candidatesOf.get(d.ID) ?? []].filter(m => m !== d.model_ID).sort(), sign)
  }
  return [...groups.values()].filter(c => c.decisions > 0)
}

/**
 * The metrics of each agent on each model recorded in the window `from <= recordedAt < to`: the whole
 * hours summed by the database from the hourly rollups (counts and costs only, no sketches to merge),
 * the partial hours at the edges as `performance(…, 'pair')` reads them.
 */
export async function pairFigures(from: Date, to: Date): Promise<(agent_ID: string, model_ID: string) => PairFigures | undefined> {
  const pairs = new Map<string, PairFigures>()
  const add = (agent_ID: string, model_ID: string, requests: number, successes: number, cost: number) => {
    const key = `${agent_ID}\u0000${model_ID}`, pair = pairs.get(key)
    if (pair) { pair.requests += requests; pair.successes += successes; pair.cost = roundUSD(pair.cost + cost) }
    else pairs.set(key, { requests, successes, cost: roundUSD(cost) })
  }
  const first = Math.ceil(from.getTime() / HOUR) * HOUR, last = Math.floor(to.getTime() / HOUR) * HOUR
  const edges = first < last ? [[from.getTime(), first], [last, to.getTime()]] : [[from.getTime(), to.getTime()]]
  if (first < last) {
    const hours = await SELECT.from(HourlyRollups)
      .columns('agent_ID', 'model_ID', 'sum(requests) as requests', 'sum(successes) as successes', 'sum(cost) as cost')
      .where`hour >= ${new Date(first).toISOString()} and hour < ${new Date(last).toISOString()} and agent_ID != ${ALL} and model_ID != ${ALL}`
      .groupBy('agent_ID', 'model_ID') as { agent_ID: string; model_ID: string; requests: number; successes: number; cost: number }[]
    for (const h of hours) add(h.agent_ID, h.model_ID, Number(h.requests), Number(h.successes), Number(h.cost ?? 0))
  }
  for (const [start, end] of edges) {
    if (start >= end) continue
    for (const { agent_ID, model_ID, totals } of (await windowStats(new Date(start), new Date(end), 'pair')).groups)
      add(agent_ID!, model_ID!, totals.requests, totals.successes, totals.cost)
  }
  return (agent_ID, model_ID) => pairs.get(`${agent_ID}\u0000${model_ID}`)
}
