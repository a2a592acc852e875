import cds from '@sap/cds'
import { Summary24h_, performance, strategyComparison, scoreCalibration, candidateRegret } from '#cds-models/AnalyticsService'
import type { StrategyComparisonRow, CandidateRegretRow } from '#cds-models/AnalyticsService'
import { windowStats, GROUPINGS, type Grouping } from '../data/window-stats.ts'
import { roundUSD } from '../domain/metric-totals.ts'
import { strategyOutcomes, bucketOutcomes, choices, pairFigures } from '../data/routing-quality.ts'
import { compareStrategies, calibrationRows, regretRows, MIN_REQUESTS } from '../domain/routing-quality.ts'

const DAY = 24 * 3600_000

export class AnalyticsService extends cds.ApplicationService {
  init() {
    this.on('READ', Summary24h_, () => this.summary24h())
    this.on(performance, req => {
      const { from, to, groupBy = 'none' } = req.data
      if (!GROUPINGS.includes(groupBy as Grouping))
        return req.reject(400, `groupBy must be one of ${GROUPINGS.join(', ')}, not '${groupBy}'`, 'groupBy')
      const start = new Date(from!), end = new Date(to!)
      if (start > end) return req.reject(400, `The window starts (${from}) after it ends (${to})`, 'from')
      return this.performanceRows(start, end, groupBy as Grouping)
    })
    this.onRoutingQuality()
    return super.init()
  }

  /** strategyComparison, scoreCalibration, candidateRegret: windows of decisions (srv/data/routing-quality.ts). */
  private onRoutingQuality() {
    const window = (req: cds.Request, { from, to }: { from?: string | null; to?: string | null }) => {
      const start = new Date(from!), end = new Date(to!)
      if (start > end) return req.reject(400, `The window starts (${from}) after it ends (${to})`, 'from')
      return [start, end] as const
    }
    this.on(strategyComparison, async req => {
      const [from, to] = window(req, req.data)
      return compareStrategies(await strategyOutcomes(from, to)) as StrategyComparisonRow[]
    })
    this.on(scoreCalibration, async req => {
      const [from, to] = window(req, req.data)
      return calibrationRows(await bucketOutcomes(from, to, req.data.strategy ?? undefined))
    })
    this.on(candidateRegret, async req => {
      const { minRequests = MIN_REQUESTS } = req.data
      if (!Number.isInteger(minRequests) || minRequests! < 1) return req.reject(400, `minRequests must be a whole number of at least 1, not ${minRequests}`, 'minRequests')
      const [from, to] = window(req, req.data)
      // one after the other: both run on the request's one connection, which takes one query at a time (pg 9 refuses more)
      const decided = await choices(from, to), figures = await pairFigures(from, to)
      return regretRows(decided, figures, minRequests!) as CandidateRegretRow[]
    })
  }

  /** The one row of the last 24 hours up to now. */
  private async summary24h() {
    const windowEnd = new Date(), windowStart = new Date(windowEnd.getTime() - DAY)
    const { groups: [all], decisions, activeAgents, activeModels } = await windowStats(windowStart, windowEnd, 'none', { withActivity: true })
    const totals = all?.totals
    return [{
      windowStart: windowStart.toISOString(),
      windowEnd: windowEnd.toISOString(),
      decisions,
      requests: totals?.requests ?? 0,
      successRate: totals?.successRate ?? null,
      avgLatencyMs: totals?.avgLatencyMs ?? null,
      p95LatencyMs: totals?.sketch.quantile(0.95) ?? null,
      inputTokens: totals?.inputTokens ?? 0,
      outputTokens: totals?.outputTokens ?? 0,
      cost: roundUSD(totals?.cost ?? 0),
      activeAgents: activeAgents.size,
      activeModels: activeModels.size,
    }]
  }

  /** One row per group of the window `from <= recordedAt < to`, busiest first. */
  private async performanceRows(from: Date, to: Date, grouping: Grouping) {
    const { groups } = await windowStats(from, to, grouping)
    return groups
      .map(({ agent_ID, model_ID, totals }) => ({
        agent_ID, model_ID,
        requests: totals.requests,
        successes: totals.successes,
        failures: totals.failures,
        successRate: totals.successRate,
        avgLatencyMs: totals.avgLatencyMs,
        ...totals.percentiles(),
        inputTokens: totals.inputTokens,
        outputTokens: totals.outputTokens,
        cost: roundUSD(totals.cost),
      }))
      .sort((a, b) => b.requests - a.requests)
  }
}
