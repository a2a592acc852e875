import { RoutingDecisions, DecisionCandidates, InferenceMetrics } from '#cds-models/router'
import { hourOf } from '../domain/metric-totals.ts'
import { removeFromRollups } from './rollups.ts'
import { writeInTurn } from './write-lock.ts'
import { removeFromQualityRollups } from './quality-rollups.ts'

/**
 * Deletes decisions (with their candidates) and metrics before `before`, rounded down to a whole
 * UTC hour so that whole hourly rollups go with them and every view stays consistent.
 */
export function purge(before: Date) {
  return writeInTurn(() => deleteBefore(hourOf(before)))
}

async function deleteBefore(cutoff: string) {
  await removeFromRollups(cutoff)
  await removeFromQualityRollups(cutoff)
  await DELETE.from(DecisionCandidates).where({ decision_ID: { in: SELECT('ID').from(RoutingDecisions).where`decidedAt < ${cutoff}` } })
  const decisions = await DELETE.from(RoutingDecisions).where`decidedAt < ${cutoff}` as unknown as number
  const metrics = await DELETE.from(InferenceMetrics).where`recordedAt < ${cutoff}` as unknown as number
  return { cutoff, decisions, metrics }
}
