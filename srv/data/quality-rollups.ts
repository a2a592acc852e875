import { InferenceMetrics, RoutingDecisions, QualityRollups } from '#cds-models/router'
import {
  Outcome, KINDS, HOUR, bucketOf, outcomeKey, choiceKey,
  type DecisionQualityFacts, type MetricQualityFacts, type OutcomeGroupJSON, type ChoiceGroupJSON,
} from '../domain/routing-quality.ts'
import { writeAll } from './bulk.ts'
import { markQualityRollupsStart } from './quality-rollups-start.ts'

/**
 * The rollups of routing quality, per UTC hour of `decidedAt` (db/schema.cds, QualityRollups). A
 * metric counts in the hour of its decision whenever it was recorded, so each pair of a decision and
 * a metric of it is added once, by the call that stores the later of the two: a new decision brings
 * the metrics stored for it before, a new metric is added to its decision if that is stored already.
 * Duplicates are never new, so a re-sent record adds nothing.
 */

/** Groups of one kind by a key of their own, per hour (epoch ms). */
class Hours<G> {
  readonly hours = new Map<number, Map<string, G>>()
  at(hour: number, key: string, make: () => G): G {
    let groups = this.hours.get(hour)
    if (!groups) this.hours.set(hour, groups = new Map())
    let group = groups.get(key)
    if (!group) groups.set(key, group = make())
    return group
  }
}

const hourOf = (timestamp: string) => Math.floor(Date.parse(timestamp) / HOUR) * HOUR

/** What a call adds to the quality rollups, or retention takes out of them (written with sign -1). */
class QualityDeltas {
  readonly outcomes = new Hours<Outcome>()
  readonly choices = new Hours<ChoiceGroupJSON>()

  outcomeOf(d: Pick<DecisionQualityFacts, 'strategy' | 'score' | 'decidedAt'>) {
    const bucket = bucketOf(d.score)
    return this.outcomes.at(hourOf(d.decidedAt), outcomeKey(d.strategy, bucket), () => new Outcome(d.strategy, bucket))
  }

  addDecision(d: DecisionQualityFacts, candidates: string[]) {
    this.outcomeOf(d).addDecision(d)
    const others = [...new Set(candidates)].filter(m => m !== d.model_ID).sort()
    this.choices.at(hourOf(d.decidedAt), choiceKey(d.strategy, d.agent_ID, d.model_ID, others), () => [d.strategy, d.agent_ID, d.model_ID, others, 0])[4]++
  }

  addMetric(d: Pick<DecisionQualityFacts, 'strategy' | 'score' | 'decidedAt'>, m: MetricQualityFacts) {
    this.outcomeOf(d).addMetric(m)
  }
}

/** Columns of a stored metric that the outcomes add up. */
const METRIC_COLUMNS = ['decision_ID', 'agent_ID', 'model_ID', 'latencyMs', 'success', 'inputTokens', 'outputTokens', 'cost']

/**
 * Adds the decisions and metrics a call stores, with their candidates, to the quality rollups. Runs in
 * the write path's turn (srv/data/recorder.ts) before the call's rows are inserted, so that what it
 * finds stored are the metrics and decisions of earlier calls.
 */
export async function addToQualityRollups(decisions: DecisionQualityFacts[], candidates: { decision_ID: string; model_ID: string }[], metrics: MetricQualityFacts[]) {
  const linked = metrics.filter(m => m.decision_ID)
  if (!decisions.length && !linked.length) return
  await markQualityRollupsStart()
  const deltas = new QualityDeltas(), byID = new Map(decisions.map(d => [d.ID, d]))
  const candidatesOf = new Map<string, string[]>()
  for (const c of candidates) {
    const list = candidatesOf.get(c.decision_ID)
    if (list) list.push(c.model_ID); else candidatesOf.set(c.decision_ID, [c.model_ID])
  }
  for (const d of decisions) deltas.addDecision(d, candidatesOf.get(d.ID) ?? [])

  const awaiting: MetricQualityFacts[] = []
  for (const m of linked) {
    const d = byID.get(m.decision_ID!)
    if (d) deltas.addMetric(d, m); else awaiting.push(m)
  }
  if (decisions.length) {
    const earlier = await SELECT.from(InferenceMetrics).columns(...METRIC_COLUMNS).where({ decision_ID: { in: [...byID.keys()] } }) as MetricQualityFacts[]
    for (const m of earlier) deltas.addMetric(byID.get(m.decision_ID!)!, m)
  }
  if (awaiting.length) {
    const stored = await SELECT.from(RoutingDecisions).columns('ID', 'strategy', 'score', 'decidedAt')
      .where({ ID: { in: [...new Set(awaiting.map(m => m.decision_ID!))] } }) as DecisionQualityFacts[]
    const storedByID = new Map(stored.map(d => [d.ID, d]))
    for (const m of awaiting) {
      const d = storedByID.get(m.decision_ID!)
      if (d) deltas.addMetric(d, m)
    }
  }
  await writeDeltas(deltas, 1)
}

/**
 * Takes what retention deletes before `cutoff` (a whole UTC hour) out of the quality rollups, in its
 * transaction, before the rows go: the hours before it, and the metrics recorded before it of
 * decisions taken from it on.
 */
export async function removeFromQualityRollups(cutoff: string) {
  const deltas = new QualityDeltas()
  const early = await SELECT.from(InferenceMetrics)
    .columns(...METRIC_COLUMNS, 'decision.strategy as strategy', 'decision.score as score', 'decision.decidedAt as decidedAt')
    .where`recordedAt < ${cutoff} and decision.decidedAt >= ${cutoff}` as (MetricQualityFacts & DecisionQualityFacts)[]
  for (const m of early) deltas.addMetric(m, m)
  await DELETE.from(QualityRollups).where`hour < ${cutoff}`
  await writeDeltas(deltas, -1)
}

/** Reads the stored rows of the touched hours, merges the deltas in and writes them back. */
async function writeDeltas(deltas: QualityDeltas, sign: 1 | -1) {
  await writeKind(KINDS.outcomes, deltas.outcomes, (stored, delta) => {
    const groups = new Map((stored as OutcomeGroupJSON[]).map(g => [outcomeKey(g[0], g[1]), new Outcome(g[0], g[1]).addJSON(g)]))
    for (const [key, outcome] of delta) {
      if (!groups.has(key)) groups.set(key, new Outcome(outcome.strategy, outcome.bucket))
      groups.get(key)!.addJSON(outcome.toJSON(), sign)
    }
    return [...groups.values()].filter(g => g.decisions > 0 || g.totals.requests > 0).map(g => g.toJSON())
  })
  await writeKind(KINDS.choices, deltas.choices, (stored, delta) => {
    const groups = new Map((stored as ChoiceGroupJSON[]).map(g => [choiceKey(g[0], g[1], g[2], g[3]), g]))
    for (const [key, group] of delta) {
      const before = groups.get(key)
      if (before) before[4] += sign * group[4]; else groups.set(key, [group[0], group[1], group[2], group[3], sign * group[4]])
    }
    return [...groups.values()].filter(g => g[4] > 0)
  })
}

async function writeKind<G>(kind: string, deltas: Hours<G>, merge: (stored: unknown[], delta: Map<string, G>) => unknown[]) {
  if (!deltas.hours.size) return
  const hours = [...deltas.hours.keys()].map(h => new Date(h).toISOString())
  const rows = await SELECT.from(QualityRollups).columns('hour', 'groups').where({ kind, hour: { in: hours } }) as { hour: string; groups: string }[]
  const stored = new Map(rows.map(row => [Date.parse(row.hour), JSON.parse(row.groups) as unknown[]]))
  const added: Record<string, unknown>[] = [], changed: Record<string, unknown>[] = []
  for (const [hour, delta] of deltas.hours) {
    const row = { hour: new Date(hour).toISOString(), kind, groups: JSON.stringify(merge(stored.get(hour) ?? [], delta)) }
    ;(stored.has(hour) ? changed : added).push(row)
  }
  await writeAll(QualityRollups, added)
  await writeAll(QualityRollups, changed, { upsert: true })
}
