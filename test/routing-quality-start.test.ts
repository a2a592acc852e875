import cds from '@sap/cds'
import { launch, router } from './support'
import { addToRollups } from '../srv/data/rollups'
import type { DecisionFacts, MetricFacts } from '../srv/domain/metric-totals'
import { routedTraffic, batch, DEFAULT_AGENTS, DEFAULT_MODELS } from '../tools/workload'
import { expectRows, qualityReads } from './quality-expected'

const HOUR = 3600_000

/**
 * A database that held decisions and metrics before the quality rollups existed: the first write
 * marks the hour after the latest of them (or now) as their start, and windows read what lies before
 * it from the raw rows, so every figure stays exact across the upgrade.
 */
describe('routing quality in a database that held records before its rollups', () => {
  const { GET, POST } = launch()
  const { rawRows, call } = qualityReads(GET)
  const now = Date.now(), start = Math.floor(now / HOUR) * HOUR + HOUR
  const iso = (t: number) => new Date(t).toISOString()
  // 1,200 requests over the 6 hours before the start, then 1,200 over the 4 hours from 2 hours before it
  const before = batch(routedTraffic({ agents: DEFAULT_AGENTS.slice(0, 3), models: DEFAULT_MODELS.slice(0, 4), from: new Date(start - 7 * HOUR), to: new Date(now - 60_000), count: 1200, seed: 5 }), 1200)
  const after = batch(routedTraffic({ agents: DEFAULT_AGENTS.slice(0, 3), models: DEFAULT_MODELS.slice(0, 4), from: new Date(start - 2 * HOUR), to: new Date(start + 2 * HOUR), count: 1200, seed: 6 }), 1200)

  beforeAll(async () => {
    // stored as the version before stored them: the rows and their other rollups, no quality rollups
    const stored = (decisions: object[], metrics: object[]) => cds.tx(async () => {
      if (decisions.length) await INSERT.into('router.RoutingDecisions').entries(decisions)
      await INSERT.into('router.InferenceMetrics').entries(metrics)
      await addToRollups(decisions as DecisionFacts[], metrics as MetricFacts[])
    })
    // some metrics of those decisions arrive only after the upgrade
    const late = new Set(before.metrics.filter((_, i) => i % 4 === 0).map(m => m.ID))
    await stored(before.decisions, before.metrics.filter(m => !late.has(m.ID)).map(m => ({ ...m, cost: 0.002 })))
    // and metrics of decisions that arrive only after it
    const early = after.metrics.filter((_, i) => i % 5 === 0)
    await stored([], early.map(m => ({ ...m, cost: 0.003 })))
    const { status } = await POST('/odata/v4/router/ingest', {
      decisions: after.decisions, metrics: [...before.metrics.filter(m => late.has(m.ID)), ...after.metrics.filter(m => !early.includes(m))],
    }, router)
    expect(status).toBe(200)
  })

  test('the first write marks the hour after the latest stored decision as the start', async () => {
    expect(await SELECT.from('router.QualityRollupsStart')).toEqual([{ ID: 'quality', hour: iso(start) }])
  })

  test.each([
    ['across the start, edges inside hours', -6.6, 1.3],
    ['before the start only', -5.25, -0.75],
    ['from the start on', 0, 2],
    ['everything', -8, 3],
  ])('%s: every function equals brute force', async (_, fromHours, toHours) => {
    const from = iso(start + fromHours * HOUR), to = iso(start + toHours * HOUR), brute = await rawRows()
    expect(brute.decisions.filter(d => d.decidedAt >= from && d.decidedAt < to).length).toBeGreaterThan(100)
    expectRows(await call(`strategyComparison(from=${from},to=${to})`), brute.strategyComparison(from, to).rows)
    expectRows(await call(`scoreCalibration(from=${from},to=${to})`), brute.scoreCalibration(from, to))
    expectRows(await call(`candidateRegret(from=${from},to=${to},minRequests=10)`), brute.candidateRegret(from, to, 10))
  })
})
