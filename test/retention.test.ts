import { launch, router, analyst, admin } from './support'
import { traffic, batch, DEFAULT_AGENTS, DEFAULT_MODELS } from '../srv/lib/workload'
import { expected, groupBy, expectFigures } from './expected'

describe('retention: AdminService.purge', () => {
  const { GET, POST } = launch()
  const source = traffic({ agents: DEFAULT_AGENTS, models: DEFAULT_MODELS, from: new Date('2026-10-01T00:00:00Z'), to: new Date('2026-10-01T12:00:00Z'), seed: 11 })
  const { decisions, metrics } = batch(source, 2500)
  const rows = async (path: string) => (await GET(`/odata/v4/analytics/${path}`, analyst)).data.value

  beforeAll(async () => {
    expect((await POST('/odata/v4/router/ingest', { decisions, metrics }, router)).status).toBe(200)
  })

  test('only admin may purge, and `before` is required', async () => {
    expect((await POST('/odata/v4/admin/purge', { before: '2026-10-01T00:00:00Z' }, router)).status).toBe(403)
    expect((await POST('/odata/v4/admin/purge', {}, admin)).status).toBe(400)
  })

  test('deletes whole hours before the cutoff and takes them out of every statistic', async () => {
    const { status, data } = await POST('/odata/v4/admin/purge', { before: '2026-10-01T06:40:00Z' }, admin)
    expect(status).toBe(200)
    const cutoff = '2026-10-01T06:00:00.000Z'
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
  })
})
