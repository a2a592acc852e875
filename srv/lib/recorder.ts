import { Agents, Models, RoutingDecisions, DecisionCandidates, InferenceMetrics } from '#cds-models/router'
import type { RoutingDecisionInput, InferenceMetricInput, IngestResult } from '#cds-models/RouterService'
import { addToRollups, lockWriters, roundUSD, type DecisionFacts, type MetricFacts } from './rollups.ts'

/**
 * The one write path for decisions and metrics, used by `ingest` and by single POSTs:
 * in the caller's transaction it skips IDs already stored, registers unknown agents and models,
 * prices metrics, inserts all rows in bulk and adds them to the rollups.
 */
export async function record(decisions: RoutingDecisionInput[], metrics: InferenceMetricInput[]): Promise<IngestResult> {
  await lockWriters() // before the look-up of stored IDs, so that concurrent retries cannot both insert
  const now = new Date().toISOString()
  const newDecisions = await notYetStored(RoutingDecisions, decisions)
  const newMetrics = await notYetStored(InferenceMetrics, metrics)

  await registerUnknown(Agents, [...newDecisions, ...newMetrics].map(r => r.agent_ID!))
  await registerUnknown(Models, [
    ...newDecisions.flatMap(d => [d.model_ID!, ...(d.candidates ?? []).map(c => c.model_ID!)]),
    ...newMetrics.map(m => m.model_ID!),
  ])

  const decisionRows = newDecisions.map(({ candidates: _, ...d }) => ({
    ...d, fallback: d.fallback ?? false, decidedAt: timestamp(d.decidedAt, now),
  }))
  const candidateRows = newDecisions.flatMap(d => (d.candidates ?? []).map(c => ({ ...c, decision_ID: d.ID })))
  const price = await pricing(newMetrics.filter(m => m.cost == null).map(m => m.model_ID!))
  const metricRows = newMetrics.map(m => ({
    ...m,
    inputTokens: m.inputTokens ?? 0,
    outputTokens: m.outputTokens ?? 0,
    success: m.success ?? true,
    cost: m.cost == null ? price(m) : Number(m.cost),
    recordedAt: timestamp(m.recordedAt, now),
  }))

  await insert(RoutingDecisions, decisionRows)
  await insert(DecisionCandidates, candidateRows)
  await insert(InferenceMetrics, metricRows)
  await addToRollups(decisionRows as DecisionFacts[], metricRows as MetricFacts[])

  return {
    decisions: { accepted: decisionRows.length, duplicates: decisions.length - decisionRows.length },
    metrics: { accepted: metricRows.length, duplicates: metrics.length - metricRows.length },
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
  const stored = await SELECT.from(entity).columns('ID').where({ ID: { in: ids } }) as { ID: string }[]
  const seen = new Set(stored.map(r => r.ID))
  return records.filter(r => !seen.has(r.ID!) && !!seen.add(r.ID!))
}

/** Inserts agents or models not yet known, flagged `autoRegistered`, so that no record is dropped. */
async function registerUnknown(entity: typeof Agents | typeof Models, ids: string[]) {
  const wanted = [...new Set(ids)]
  if (!wanted.length) return
  const known = new Set((await SELECT.from(entity).columns('ID').where({ ID: { in: wanted } }) as { ID: string }[]).map(r => r.ID))
  const unknown = wanted.filter(ID => !known.has(ID))
  await insert(entity, unknown.map(ID => ({ ID, name: ID, autoRegistered: true })))
}

/** Cost of a metric from its model's list prices (USD per 1M tokens); unpriced models cost 0. */
async function pricing(modelIDs: string[]) {
  const prices = new Map<string, { input: number; output: number }>()
  if (modelIDs.length) {
    const rows = await SELECT.from(Models).columns('ID', 'inputPricePer1M', 'outputPricePer1M')
      .where({ ID: { in: [...new Set(modelIDs)] } }) as { ID: string; inputPricePer1M: unknown; outputPricePer1M: unknown }[]
    for (const r of rows) prices.set(r.ID, { input: Number(r.inputPricePer1M ?? 0), output: Number(r.outputPricePer1M ?? 0) })
  }
  return (m: InferenceMetricInput) => {
    const p = prices.get(m.model_ID!) ?? { input: 0, output: 0 }
    return roundUSD(((m.inputTokens ?? 0) * p.input + (m.outputTokens ?? 0) * p.output) / 1e6)
  }
}

/** One bulk INSERT of rows CAP has validated against the entity (the typer's key types admit no nulls). */
const insert = async (entity: new () => object, rows: object[]) => {
  if (rows.length) await INSERT.into(entity).entries(rows as never)
}

/** Normalizes to the UTC ISO form CAP stores, so rollup hours and window edges compare as strings. */
const timestamp = (value: string | null | undefined, now: string) => value ? new Date(value).toISOString() : now
