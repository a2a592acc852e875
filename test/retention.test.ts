import { launch, router, analyst, admin } from './support'
import { traffic, batch, DEFAULT_AGENTS, DEFAULT_MODELS, type Metric } from '../tools/workload'
import { expected, groupBy, expectFigures, expectWindow, groupKeys } from './expected'

describe('retention: AdminService.purge', () => {
  const { GET, POST } = launch()
  const source = traffic({ agents: DEFAULT_AGENTS, models: DEFAULT_MODELS, from: new Date('2026-10-01T00:00:00Z'), to: new Date('2026-10-01T12:00:00Z'), seed: 11 })
  const { decisions, metrics } = batch(source, 2500)
  const rows = async (path: string) => (await GET(`/odata/v4/analytics/${path}`, analyst)).data.value
  const cutoff = '2026-10-01T06:00:00.000Z'
  // as in a database that held records before the edge rollups: they hold only those from 04:00 on, their 10 minutes
  // (a later level) only those from 05:00 on
  const edgesFrom = '2026-10-01T04:00:00.000Z', tenMinutesFrom = '2026-10-01T05:00:00.000Z'
  const edgeRows = async (from: string, to: string) => (await SELECT.from('router.EdgeRollups').where`startsAt >= ${from} and startsAt < ${to}`).length

  const cost = new Map<string, number>()
  const costOf = (ms: Metric[]) => ms.reduce((a, m) => a + cost.get(m.ID)!, 0)

  beforeAll(async () => {
    await INSERT.into('router.EdgeRollupsStart').entries([{ ID: 'edges', hour: edgesFrom }, { ID: 'tenMinutes', hour: tenMinutesFrom }])
    expect((await POST('/odata/v4/router/ingest', { decisions, metrics }, router)).status).toBe(200)
    await DELETE.from('router.EdgeRollups').where`startsAt < ${edgesFrom} or (periodSeconds = 600 and startsAt < ${tenMinutesFrom})`
    const prices = (await GET('/odata/v4/router/Models?$select=ID,inputPricePer1M,outputPricePer1M', router)).data.value
    const price = new Map<string, { inputPricePer1M: string; outputPricePer1M: string }>(prices.map((p: { ID: string }) => [p.ID, p]))
    for (const m of metrics) {
      const p = price.get(m.model_ID)!
      cost.set(m.ID, (m.inputTokens * Number(p.inputPricePer1M) + m.outputTokens * Number(p.outputPricePer1M)) / 1e6)
    }
  })

  /** Every group of every grouping of the windows, as brute force over the metrics still stored. */
  const expectWindows = async (windows: [string, string][], stored: Metric[]) => {
    for (const [from, to] of windows) for (const [grouping, key] of Object.entries(groupKeys))
      expectWindow(await rows(`performance(from=${from},to=${to},groupBy='${grouping}')`), stored, from, to, key, costOf)
  }

  test('only admin may purge, and `before` is required', async () => {
    expect((await POST('/odata/v4/admin/purge', { before: '2026-10-01T00:00:00Z' }, router)).status).toBe(403)
    expect((await POST('/odata/v4/admin/purge', {}, admin)).status).toBe(400)
  })

  test('windows across the starts of the edge rollups: before them from hourly rollups and raw rows, before the 10 minutes from minutes', async () => {
    await expectWindows([
      ['2026-10-01T02:17:31.500Z', '2026-10-01T05:42:10.250Z'],
      ['2026-10-01T03:05:00.000Z', '2026-10-01T04:20:00.000Z'],
      ['2026-10-01T04:12:30.000Z', '2026-10-01T05:47:10.500Z'],
      ['2026-10-01T00:40:12.125Z', '2026-10-01T11:19:59.999Z'],
    ], metrics)
  })

  test('deletes whole hours before the cutoff and takes them out of every statistic', async () => {
    expect(await edgeRows(edgesFrom, cutoff)).toBeGreaterThan(0)
    const { status, data } = await POST('/odata/v4/admin/purge', { before: '2026-10-01T06:40:00Z' }, admin)
    expect(status).toBe(200)
    expect(data.cutoff).toBe(cutoff)
    const keptMetrics = metrics.filter(m => m.recordedAt >= cutoff), keptDecisions = decisions.filter(d => d.decidedAt >= cutoff)
    expect(data.metrics).toBe(metrics.length - keptMetrics.length)
    expect(data.decisions).toBe(decisions.length - keptDecisions.length)
    expect(Number((await GET('/odata/v4/router/InferenceMetrics/$count', router)).data)).toBe(keptMetrics.length)
    expect(Number((await GET('/odata/v4/analytics/DecisionCandidates/$count', analyst)).data)).toBe(keptDecisions.length * 3)

    const byModel = groupBy(keptMetrics, m => m.model_ID)
    for (const row of await rows('ModelPerformance')) expectFigures(row, expected(byModel.get(row.model_ID)!))
    const byPair = groupBy(keptMetrics, m => `${m.agent_ID}|${m.model_ID}`)
    const pairs = await rows('AgentModelPairs')
    expect(pairs).toHaveLength(byPair.size)
    for (const row of pairs) expectFigures(row, expected(byPair.get(`${row.agent_ID}|${row.model_ID}`)!), ['requests', 'successes', 'avgLatencyMs', 'p95LatencyMs'])
    for (const row of await rows('RoutingStats')) {
      const ds = keptDecisions.filter(d => d.strategy === row.strategy)
      expect(Number(row.decisions)).toBe(ds.length)
      expect(row.distinctModels).toBe(new Set(ds.map(d => d.model_ID)).size)
    }
    expect((await rows(`HourlyStats?$filter=hour lt ${cutoff}`))).toEqual([])
    expect(await edgeRows('2000-01-01T00:00:00Z', cutoff)).toBe(0)
    expect(await edgeRows(cutoff, '2027-01-01T00:00:00Z')).toBeGreaterThan(0)
  })

  test('windows reaching before the cutoff count only what is kept', async () => {
    await expectWindows([
      ['2026-10-01T05:33:20.500Z', '2026-10-01T08:17:45.250Z'],
      ['2026-10-01T00:00:00.000Z', '2026-10-01T06:00:10.000Z'],
      ['2026-10-01T06:59:59.999Z', '2026-10-01T07:00:00.001Z'],
      ['2026-10-01T06:12:00.000Z', '2026-10-01T06:48:00.000Z'],
    ], metrics.filter(m => m.recordedAt >= cutoff))
  })
})
