import { Agents, Models, RoutingDecisions, DecisionCandidates, InferenceMetrics } from '#cds-models/router'
import type { RoutingDecisionInput, InferenceMetricInput, IngestResult } from '#cds-models/RouterService'
import { writeAll } from './bulk.ts'
import { readWhereIn } from './plain-sql.ts'
import type { DecisionFacts, MetricFacts } from '../domain/metric-totals.ts'
import { costOf } from '../domain/pricing.ts'
import { addToRollups } from './rollups.ts'
import { writeInTurn } from './write-lock.ts'
import type { DecisionQualityFacts, MetricQualityFacts } from '../domain/routing-quality.ts'
import { addToQualityRollups } from './quality-rollups.ts'

/**
 * The one write path for decisions and metrics, used by `ingest` and by single POSTs:
 * in the caller's transaction it skips IDs already stored, registers unknown agents and models,
 * prices metrics, inserts all rows in bulk and adds them to the rollups.
 */
export function record(decisions: RoutingDecisionInput[], metrics: InferenceMetricInput[]): Promise<IngestResult> {
  // in turn from before the look-up of stored IDs, so that concurrent retries cannot both insert
  return writeInTurn(() => store(decisions, metrics))
}

async function store(decisions: RoutingDecisionInput[], metrics: InferenceMetricInput[]): Promise<IngestResult> {
  const now = new Date().toISOString()
  const newDecisions = await notYetStored(RoutingDecisions, decisions)
  const newMetrics = await notYetStored(InferenceMetrics, metrics)

  await registerUnknown(Agents, [...newDecisions, ...newMetrics].map(r => r.agent_ID!))
  // one look-up of the models both registers the unknown ones and gives the prices of the known
  const price = pricing(await registerUnknown(Models, [
    ...newDecisions.flatMap(d => [d.model_ID!, ...(d.candidates ?? []).map(c => c.model_ID!)]),
    ...newMetrics.map(m => m.model_ID!),
  ], ['inputPricePer1M', 'outputPricePer1M']))

  // the records become the rows in place: each is the caller's fresh input (parsed body, request data, mapped
  // span) and stored once, and a copy of thousands of objects a call is garbage the write worker collects again
  for (const d of newDecisions) {
    d.fallback ??= false
    d.decidedAt = timestamp(d.decidedAt, now)
    for (const c of d.candidates ?? []) (c as { decision_ID?: string }).decision_ID = d.ID!
  }
  for (const m of newMetrics) {
    m.inputTokens ??= 0
    m.outputTokens ??= 0
    m.success ??= true
    m.cost = m.cost == null ? price(m) : Number(m.cost)
    m.recordedAt = timestamp(m.recordedAt, now)
  }
  const candidates = newDecisions.flatMap(d => d.candidates ?? [])

  // before the rows are stored: it joins them with the decisions and metrics of earlier calls
  await addToQualityRollups(newDecisions as DecisionQualityFacts[], candidates as { decision_ID: string; model_ID: string }[], newMetrics as MetricQualityFacts[])
  await writeAll(RoutingDecisions, newDecisions)
  await writeAll(DecisionCandidates, candidates)
  await writeAll(InferenceMetrics, newMetrics)
  await addToRollups(newDecisions as DecisionFacts[], newMetrics as MetricFacts[])

  return {
    decisions: { accepted: newDecisions.length, duplicates: decisions.length - newDecisions.length },
    metrics: { accepted: newMetrics.length, duplicates: metrics.length - newMetrics.length },
  }
}

/** Positions of candidates whose rank an earlier candidate of the same decision already has. */
export function repeatedRanks(candidates: { rank?: number | null }[] = []): number[] {
  const ranks = new Set<number | null | undefined>()
  return candidates.flatMap(({ rank }, i) => ranks.has(rank) ? [i] : (ranks.add(rank), []))
}

/** Records whose ID is neither stored nor repeated earlier in the same call; one indexed look-up. */
async function notYetStored<T extends { ID?: string | null }>(entity: typeof RoutingDecisions | typeof InferenceMetrics, records: T[]) {
  if (!records.length) return []
  const ids = records.map(r => r.ID!)
  const stored = await readWhereIn(entity, { ID: ids }, ['ID']) as { ID: string }[]
  const seen = new Set(stored.map(r => r.ID))
  return records.filter(r => !seen.has(r.ID!) && !!seen.add(r.ID!))
}

type Known = Map<string, Record<string, unknown>>

/**
 * Inserts agents or models not yet known, flagged `autoRegistered`, so that no record is dropped;
 * answers the rows of those already known, with the given columns.
 */
async function registerUnknown(entity: typeof Agents | typeof Models, ids: string[], columns: string[] = []): Promise<Known> {
  const wanted = [...new Set(ids)]
  if (!wanted.length) return new Map()
  const rows = await readWhereIn(entity, { ID: wanted }, ['ID', ...columns]) as { ID: string }[]
  const known: Known = new Map(rows.map(r => [r.ID, r]))
  // entries, not rows: CAP fills in the managed fields and the list prices' defaults
  const unknown = wanted.filter(ID => !known.has(ID))
  if (unknown.length) await INSERT.into(entity).entries(unknown.map(ID => ({ ID, name: ID, autoRegistered: true })))
  return known
}

/** Cost of a metric from its model's list prices; models just registered cost 0. */
function pricing(models: Known) {
  return (m: InferenceMetricInput) => {
    const p = models.get(m.model_ID!)
    return costOf(m.inputTokens ?? 0, m.outputTokens ?? 0, Number(p?.inputPricePer1M ?? 0), Number(p?.outputPricePer1M ?? 0))
  }
}

/**
 * Normalizes to the UTC ISO form CAP stores, so rollup hours and window edges compare as strings.
 * A router sends that form already: taken as it is when it surely names a real instant (days past
 * the 28th may not exist in their month, which Date would roll over), which costs a tenth of a Date's round trip.
 */
const timestamp = (value: string | null | undefined, now: string) =>
  !value ? now : STORED_FORM.test(value) ? value : new Date(value).toISOString()
const STORED_FORM = /^\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|1\d|2[0-8])T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d\.\d{3}Z$/
