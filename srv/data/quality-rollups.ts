import { InferenceMetrics, RoutingDecisions, QualityRollups } from '#cds-models/router'
import {
  Outcome, OutcomeGroups, KINDS, HOUR, bucketOf, outcomeKey, choiceKey,
  type DecisionQualityFacts, type MetricQualityFacts, type OutcomeGroupJSON, type ChoiceGroupJSON,
} from '../domain/routing-quality.ts'
import { writeAll } from './bulk.ts'
import { readWhereIn } from './plain-sql.ts'
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

  /** The outcome group of each decision, once found: a call adds a new decision and its metrics to the same. */
  private readonly outcomeOfDecision = new Map<object, Outcome>()

  outcomeOf(d: Pick<DecisionQualityFacts, 'strategy' | 'score' | 'decidedAt'>) {
    let outcome = this.outcomeOfDecision.get(d)
    if (!outcome) {
      const bucket = bucketOf(d.score)
      this.outcomeOfDecision.set(d, outcome = this.outcomes.at(hourOf(d.decidedAt), outcomeKey(d.strategy, bucket), () => new Outcome(d.strategy, bucket)))
    }
    return outcome
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
    const earlier = await readWhereIn(InferenceMetrics, { decision_ID: [...byID.keys()] }) as unknown as MetricQualityFacts[]
    for (const m of earlier) deltas.addMetric(byID.get(m.decision_ID!)!, m)
  }
  if (awaiting.length) {
    const stored = await readWhereIn(RoutingDecisions, { ID: [...new Set(awaiting.map(m => m.decision_ID!))] }) as unknown as DecisionQualityFacts[]
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

/** Writes the deltas of both kinds (see writeKind). */
async function writeDeltas(deltas: QualityDeltas, sign: 1 | -1) {
  await writeKind(KINDS.outcomes, deltas.outcomes, sign, (rows, delta) => {
    // a part of its own (the usual case, also for choices below): the call's groups as they are
    if (!rows.length && sign > 0) return [...delta.values()].map(outcome => outcome.toJSON())
    const outcomes = new OutcomeGroups()
    for (const g of rows.flat() as OutcomeGroupJSON[]) outcomes.at(g[0], g[1]).addJSON(g)
    for (const outcome of delta.values()) outcomes.at(outcome.strategy, outcome.bucket).addJSON(outcome.toJSON(), sign)
    return outcomes.values().filter(g => g.decisions > 0 || g.totals.requests > 0).map(g => g.toJSON())
  })
  await writeKind(KINDS.choices, deltas.choices, sign, (rows, delta) => {
    if (!rows.length && sign > 0) return [...delta.values()]
    const groups = new Map<string, ChoiceGroupJSON>()
    const add = ([strategy, agent_ID, model_ID, others, decisions]: ChoiceGroupJSON, times: number) => {
      const key = choiceKey(strategy, agent_ID, model_ID, others), group = groups.get(key)
      if (group) group[4] += times * decisions; else groups.set(key, [strategy, agent_ID, model_ID, others, times * decisions])
    }
    for (const g of rows.flat() as ChoiceGroupJSON[]) add(g, 1)
    for (const g of delta.values()) add(g, sign)
    return [...groups.values()].filter(g => g[4] > 0)
  })
}

/** Rows an hour of one kind may have before a call merges them into one. */
const PARTS_BEFORE_MERGE = 16

/**
 * Adds the deltas of one kind to the touched hours: as a row of its own (the next `part`), which costs
 * what the call touches; or, for an hour that has PARTS_BEFORE_MERGE rows, merged with them into one
 * row (part 0), which bounds the rows a read finds. Within the write path's turn, so parts do not collide.
 */
async function writeKind<G>(kind: string, deltas: Hours<G>, sign: 1 | -1, merge: (rows: unknown[][], delta: Map<string, G>) => unknown[]) {
  if (!deltas.hours.size) return
  const hours = [...deltas.hours.keys()].map(h => new Date(h).toISOString())
  const parts = new Map<number, number[]>()
  for (const row of await readWhereIn(QualityRollups, { kind: [kind], hour: hours }, ['hour', 'part']) as { hour: string; part: number }[]) {
    const hour = Date.parse(row.hour), list = parts.get(hour)
    if (list) list.push(Number(row.part)); else parts.set(hour, [Number(row.part)])
  }
  // what retention takes out is merged at once, so that no row holds negative counts
  const full = [...deltas.hours.keys()].filter(hour => sign < 0 || (parts.get(hour)?.length ?? 0) >= PARTS_BEFORE_MERGE).map(h => new Date(h).toISOString())
  const stored = new Map<number, unknown[][]>()
  if (full.length) {
    for (const row of await readWhereIn(QualityRollups, { kind: [kind], hour: full }) as { hour: string; groups: string }[]) {
      const hour = Date.parse(row.hour), list = stored.get(hour), groups = JSON.parse(row.groups) as unknown[]
      if (list) list.push(groups); else stored.set(hour, [groups])
    }
    await DELETE.from(QualityRollups).where({ kind, hour: { in: full } })
  }
  const rows = [...deltas.hours].map(([hour, delta]) => {
    const merged = stored.get(hour)
    const part = merged ? 0 : Math.max(-1, ...parts.get(hour) ?? []) + 1
    return { hour: new Date(hour).toISOString(), kind, part, groups: JSON.stringify(merge(merged ?? [], delta)) }
  })
  await writeAll(QualityRollups, rows)
}
