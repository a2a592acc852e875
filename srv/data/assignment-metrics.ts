import type { Request } from '@sap/cds'
import type { Request as HttpRequest, Response, NextFunction } from 'express'
import { Assignments, PairRollups } from '#cds-models/router'
import { MetricTotals } from '../domain/metric-totals.ts'

/**
 * `updateMetrics()` of RouterService and AdminService: recomputes an assignment's request counts,
 * success rate, mean and p95 latency and last use from its agent-model pair's rollup.
 */
export async function updateAssignmentMetrics(req: Request) {
  const assignment = await SELECT.one.from(req.subject).columns('ID', 'agent_ID', 'model_ID') as
    { ID: string; agent_ID: string; model_ID: string } | undefined
  if (!assignment) return req.reject(404, 'No such assignment')
  const pair = await SELECT.one.from(PairRollups).where({ agent_ID: assignment.agent_ID, model_ID: assignment.model_ID }) as
    Record<string, unknown> | undefined
  const totals = pair ? MetricTotals.of(pair) : new MetricTotals()
  await UPDATE(Assignments, assignment.ID).with({
    totalRequests: totals.requests,
    successfulRequests: totals.successes,
    successRate: totals.successRate,
    avgLatencyMs: totals.avgLatencyMs,
    p95LatencyMs: totals.sketch.quantile(0.95),
    lastUsedAt: (pair?.lastUsedAt as string | undefined) ?? null,
  })
  return SELECT.one.from(req.subject)
}

/**
 * `updateMetrics` only derives an assignment's figures from stored metrics and overwrites no one's
 * edit, so unlike other writes of an ETag entity it needs no If-Match: a call without one counts as `*`. Installed in server.ts for
 * POSTs to `…/updateMetrics`, qualified or not (OData 4.01 Part 1 §13.2.1 item 9.5).
 */
export function recomputeWithoutETag(req: HttpRequest, _res: Response, next: NextFunction) {
  req.headers['if-match'] ??= '*'
  next()
}
