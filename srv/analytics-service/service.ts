import cds from '@sap/cds'
import { Summary24h_, performance } from '#cds-models/AnalyticsService'
import { windowStats, GROUPINGS, type Grouping } from '../data/window-stats.ts'
import { roundUSD } from '../domain/metric-totals.ts'

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
    return super.init()
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
