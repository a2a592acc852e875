import { launch, router, analyst, admin, metric } from './support'
import { traffic, batch, DEFAULT_AGENTS, DEFAULT_MODELS, type Metric, type Decision } from '../tools/workload'
import { expected, groupBy, expectFigures, expectWindow, groupKeys } from './expected'

const MINUTE = 60_000, HOUR = 3600_000

describe('analytics', () => {
  const { GET, POST } = launch()
  const now = Date.now()
  // 6,000 requests over the last 30 hours: the 24-hour window cuts through an hour at its start
  const source = traffic({ agents: DEFAULT_AGENTS, models: DEFAULT_MODELS, from: new Date(now - 30 * HOUR), to: new Date(now - 60_000), seed: 42 })
  // and a burst of 3,000 in 20 minutes of a whole hour 12 hours ago, a few a second: windows cut through its minutes and seconds
  const hour = Math.floor((now - 12 * HOUR) / HOUR) * HOUR
  const burst = traffic({ agents: DEFAULT_AGENTS, models: DEFAULT_MODELS, from: new Date(hour + 5 * MINUTE), to: new Date(hour + 25 * MINUTE), count: 3000, seed: 7 })
  const decisions: Decision[] = [], metrics: Metric[] = []
  const cost = new Map<string, number>()

  beforeAll(async () => {
    for (const [calls, from] of [[6, source], [3, burst]] as const) {
      for (let i = 0; i < calls; i++) {
        const payload = batch(from, 1000)
        decisions.push(...payload.decisions); metrics.push(...payload.metrics)
        const { status } = await POST('/odata/v4/router/ingest', payload, router)
        expect(status).toBe(200)
      }
    }
    // re-sending a batch changes nothing
    await POST('/odata/v4/router/ingest', { decisions: decisions.slice(0, 1000), metrics: metrics.slice(0, 1000) }, router)
    const prices = (await GET('/odata/v4/router/Models?$select=ID,inputPricePer1M,outputPricePer1M', router)).data.value
    const price = new Map(prices.map((p: { ID: string; inputPricePer1M: string; outputPricePer1M: string }) => [p.ID, p]))
    for (const m of metrics) {
      const p = price.get(m.model_ID) as { inputPricePer1M: string; outputPricePer1M: string }
      cost.set(m.ID, (m.inputTokens * Number(p.inputPricePer1M) + m.outputTokens * Number(p.outputPricePer1M)) / 1e6)
    }
  })
  const costOf = (ms: Metric[]) => ms.reduce((a, m) => a + cost.get(m.ID)!, 0)
  /** All rows of a read, following the server's @odata.nextLink pages. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- rows of many shapes, asserted field by field
  const get = async (path: string): Promise<any[]> => {
    const rows = []
    for (let url: string | undefined = `/odata/v4/analytics/${path}`; url;) {
      const { status, data }: { status: number; data: { value: object[]; '@odata.nextLink'?: string } } = await GET(url, analyst)
      expect(status).toBe(200)
      rows.push(...data.value)
      url = data['@odata.nextLink'] && `/odata/v4/analytics/${data['@odata.nextLink']}`
    }
    return rows
  }

  test('the workload is skewed: the busiest model has several times the requests of the quietest', () => {
    const sizes = [...groupBy(metrics, m => m.model_ID).values()].map(g => g.length).sort((a, b) => a - b)
    expect(sizes.at(-1)! / sizes[0]).toBeGreaterThan(4)
  })

  test('ModelPerformance: every field of every model', async () => {
    const rows = await get('ModelPerformance')
    const byModel = groupBy(metrics, m => m.model_ID)
    expect(rows).toHaveLength(byModel.size)
    for (const row of rows) {
      const ms = byModel.get(row.model_ID)!
      expectFigures(row, expected(ms))
      expect(Number(row.cost)).toBeCloseTo(costOf(ms), 6)
    }
  })

  test('AgentModelPairs: every field of every pair', async () => {
    const rows = await get('AgentModelPairs')
    const byPair = groupBy(metrics, m => `${m.agent_ID}|${m.model_ID}`)
    expect(rows).toHaveLength(byPair.size)
    for (const row of rows) {
      const ms = byPair.get(`${row.agent_ID}|${row.model_ID}`)!
      expectFigures(row, expected(ms), ['requests', 'successes', 'successRate', 'avgLatencyMs', 'p95LatencyMs'])
      expect(Number(row.cost)).toBeCloseTo(costOf(ms), 6)
    }
    const top = await get('AgentModelPairs?$orderby=requests desc&$top=3')
    expect(top.map((r: { requests: string }) => Number(r.requests))).toEqual([...byPair.values()].map(g => g.length).sort((a, b) => b - a).slice(0, 3))
  })

  test('RoutingStats: every field of every strategy', async () => {
    const rows = await get('RoutingStats')
    const byStrategy = groupBy(decisions, d => d.strategy)
    expect(rows).toHaveLength(byStrategy.size)
    for (const row of rows) {
      const ds = byStrategy.get(row.strategy)!
      expect(Number(row.decisions)).toBe(ds.length)
      expect(row.avgScore).toBeCloseTo(ds.reduce((a, d) => a + d.score, 0) / ds.length, 9)
      expect(row.fallbackRate).toBeCloseTo(ds.filter(d => d.fallback).length / ds.length, 12)
      expect(row.distinctModels).toBe(new Set(ds.map(d => d.model_ID)).size)
    }
  })

  test('Summary24h: exactly one row with the figures of the last 24 hours', async () => {
    const rows = await get('Summary24h')
    expect(rows).toHaveLength(1)
    const [row] = rows
    expect(new Date(row.windowEnd).getTime() - new Date(row.windowStart).getTime()).toBe(24 * 3600_000)
    const inWindow = (t: string) => t >= row.windowStart && t < row.windowEnd
    const ms = metrics.filter(m => inWindow(m.recordedAt)), ds = decisions.filter(d => inWindow(d.decidedAt))
    expect(ms.length).toBeLessThan(metrics.length) // the window really cuts the data
    expectFigures(row, expected(ms), ['requests', 'successRate', 'avgLatencyMs', 'p95LatencyMs', 'inputTokens', 'outputTokens'])
    expect(Number(row.decisions)).toBe(ds.length)
    expect(Number(row.cost)).toBeCloseTo(costOf(ms), 6)
    expect(row.activeAgents).toBe(new Set([...ms, ...ds].map(r => r.agent_ID)).size)
    expect(row.activeModels).toBe(new Set([...ms, ...ds].map(r => r.model_ID)).size)
  })

  test('HourlyStats: sums per UTC hour and pair, and $apply over them', async () => {
    const hourOf = (t: string) => t.slice(0, 13) + ':00:00.000Z'
    const byHour = groupBy(metrics, m => `${hourOf(m.recordedAt)}|${m.agent_ID}|${m.model_ID}`)
    const rows = (await get('HourlyStats?$filter=requests gt 0')) as Record<string, string>[]
    expect(rows.length).toBeGreaterThan(1000) // more than one page
    expect(rows).toHaveLength(byHour.size)
    for (const row of rows) {
      const ms = byHour.get(`${row.hour}|${row.agent_ID}|${row.model_ID}`)!
      expect(Number(row.requests)).toBe(ms.length)
      expect(Number(row.latencySumMs)).toBeCloseTo(ms.reduce((a, m) => a + m.latencyMs, 0), 6)
      expect(Number(row.outputTokens)).toBe(ms.reduce((a, m) => a + m.outputTokens, 0))
    }
    const perModel = await get('HourlyStats?$apply=groupby((model_ID),aggregate(requests with sum as requests))')
    for (const r of perModel) expect(Number(r.requests)).toBe(metrics.filter(m => m.model_ID === r.model_ID).length)
  })

  test('$metadata announces $apply support and measures for Fiori and BI tools', async () => {
    const { data } = await GET('/odata/v4/analytics/$metadata', analyst)
    for (const target of ['HourlyStats', 'InferenceMetrics', 'RoutingDecisions'])
      expect(data).toMatch(new RegExp(`<Annotations Target="AnalyticsService.EntityContainer/${target}">[\\s\\S]*?Aggregation.ApplySupported`))
    expect(data).toMatch(/Analytics.Measure/)
    // a measure aggregates by its default method without naming it
    const [total] = await get('HourlyStats?$apply=aggregate(requests)')
    expect(Number(total.requests)).toBe(metrics.length)
  })

  test('raw InferenceMetrics support $apply', async () => {
    const rows = await get('InferenceMetrics?$apply=filter(success eq false)/groupby((model_ID),aggregate($count as failures))')
    for (const r of rows) expect(Number(r.failures)).toBe(metrics.filter(m => m.model_ID === r.model_ID && !m.success).length)
  })

  describe('performance(from, to, groupBy)', () => {
    const call = (from: string, to: string, groupBy: string) => get(`performance(from=${from},to=${to},groupBy='${groupBy}')`)
    const from = new Date(now - 20.5 * 3600_000).toISOString(), to = new Date(now - 2.25 * 3600_000).toISOString()

    test.each([
      ['model', (m: Metric) => `|${m.model_ID}`],
      ['agent', (m: Metric) => `${m.agent_ID}|`],
      ['pair', (m: Metric) => `${m.agent_ID}|${m.model_ID}`],
      ['none', () => '|'],
    ])('groupBy %s: every field of every group', async (grouping, key) => {
      expectWindow(await call(from, to, grouping as string), metrics, from, to, key, costOf)
    })

    test('a metric exactly at `from` counts, one exactly at `to` does not', async () => {
      const edgeFrom = '2026-06-01T10:00:00.000Z', edgeTo = '2026-06-01T11:30:00.000Z'
      const atFrom = metric({ agent_ID: 'edge-agent', recordedAt: edgeFrom, latencyMs: 100 })
      const atTo = metric({ agent_ID: 'edge-agent', recordedAt: edgeTo, latencyMs: 900 })
      await POST('/odata/v4/router/ingest', { metrics: [atFrom, atTo] }, router)
      const [row] = await call(edgeFrom, edgeTo, 'agent')
      expect(row).toMatchObject({ agent_ID: 'edge-agent', requests: 1, avgLatencyMs: 100 })
      // and across whole hours: [09:00, 11:30) holds only the first, [10:00, 12:00) both
      expect((await call('2026-06-01T09:00:00Z', edgeTo, 'agent'))[0].requests).toBe(1)
      expect((await call(edgeFrom, '2026-06-01T12:00:00Z', 'agent'))[0].requests).toBe(2)
    })

    test('a window reaching past the latest record takes its last partial hour from the rollups, exactly', async () => {
      const start = new Date(now - 5.5 * 3600_000).toISOString(), end = new Date(now + 20 * 60_000).toISOString()
      const rows = await call(start, end, 'pair')
      const groups = groupBy(metrics.filter(m => m.recordedAt >= start && m.recordedAt < end), m => `${m.agent_ID}|${m.model_ID}`)
      expect(rows).toHaveLength(groups.size)
      for (const row of rows) expectFigures(row, expected(groups.get(`${row.agent_ID}|${row.model_ID}`)!))
    })

    test('an empty window answers no rows', async () => {
      expect(await call('2020-01-01T00:00:00Z', '2020-01-02T00:00:00Z', 'model')).toEqual([])
      const at = new Date(hour + 7 * MINUTE).toISOString()
      expect(await call(at, at, 'pair')).toEqual([])
    })

    // whole hours, minutes and 10 seconds come from rollups, partial ones from shorter ones or raw rows, or as the whole less the rest
    const at = (base: number, h: number, m: number, s = 0) => new Date(base + h * HOUR + m * MINUTE + s * 1000).toISOString()
    const midnight = Math.floor((now - 3 * HOUR) / (24 * HOUR)) * 24 * HOUR
    test.each([
      ['edges inside minutes', at(hour, -2, -37, -13.25), at(hour, 1, 12, 48.5)],
      ['edges at whole minutes', at(hour, 0, -47), at(hour, 2, 13)],
      ['edges at whole 10 seconds', at(hour, 0, 3, 20), at(hour, 1, 58, 40)],
      ['edges at whole hours', at(hour, -2, 0), at(hour, 1, 0)],
      ['one edge at a whole hour, one inside a minute', at(hour, 0, 0), at(hour, 1, 29, 59.999)],
      ['partial hours of more than half an hour', at(hour, 0, -50, -30.5), at(hour, 1, 55, 10.25)],
      ['within one hour, most of it', at(hour, 0, 3, 12.5), at(hour, 0, 57, 3.25)],
      ['within one hour, a little of it', at(hour, 0, 10, 5), at(hour, 0, 20, 1)],
      ['within one minute', at(hour, 0, 7, 3.5), at(hour, 0, 7, 41.2)],
      ['within 10 seconds', at(hour, 0, 12, 21.5), at(hour, 0, 12, 28)],
      ['across a day boundary', at(midnight, -1, -23, -17.5), at(midnight, 2, 5, 3.125)],
    ])('%s: every group of every grouping as brute force', async (_, from, to) => {
      expect(metrics.filter(m => m.recordedAt >= from && m.recordedAt < to).length).toBeGreaterThan(0)
      for (const [grouping, key] of Object.entries(groupKeys)) expectWindow(await call(from, to, grouping), metrics, from, to, key, costOf)
    })

    test('bad arguments get 400', async () => {
      const bad = async (q: string) => (await GET(`/odata/v4/analytics/${q}`, analyst)).status
      expect(await bad(`performance(from=${to},to=${from},groupBy='model')`)).toBe(400)
      expect(await bad(`performance(from=${from},to=${to},groupBy='planet')`)).toBe(400)
      expect(await bad(`performance(from=yesterday,to=${to},groupBy='model')`)).toBe(400)
    })
  })

  describe('updateMetrics()', () => {
    test('recomputes an assignment from its pair', async () => {
      const ms = metrics.filter(m => m.agent_ID === 'support-bot' && m.model_ID === 'gpt-4o-mini')
      const url = '/odata/v4/router/Assignments(6f1c7c3e-6a53-4d3e-9a53-0c1f2b7d9a01)'
      const { status, data } = await POST(`${url}/RouterService.updateMetrics`, {}, router)
      expect(status).toBe(200)
      const exact = expected(ms)
      expect(Number(data.totalRequests)).toBe(exact.requests)
      expect(Number(data.successfulRequests)).toBe(exact.successes)
      expect(data.successRate).toBeCloseTo(exact.successRate, 12)
      expect(data.avgLatencyMs).toBeCloseTo(exact.avgLatencyMs, 6)
      expect(Math.abs(data.p95LatencyMs - exact.p95LatencyMs) / exact.p95LatencyMs).toBeLessThanOrEqual(0.01)
      expect(data.lastUsedAt).toBe(ms.map(m => m.recordedAt).sort().at(-1))
    })

    test('on a pair without data it sets zero requests and no rates', async () => {
      const created = await POST('/odata/v4/router/Assignments', { agent_ID: 'translator', model_ID: 'command-r-plus' }, router)
      const { status, data } = await POST(`/odata/v4/router/Assignments(${created.data.ID})/RouterService.updateMetrics`, {}, router)
      expect(status).toBe(200)
      expect(data).toMatchObject({ totalRequests: '0', successfulRequests: '0', successRate: null, avgLatencyMs: null, p95LatencyMs: null, lastUsedAt: null })
    })

    test('works from AdminService too, and 404s for an unknown assignment', async () => {
      const url = '/odata/v4/admin/Assignments(ID=6f1c7c3e-6a53-4d3e-9a53-0c1f2b7d9a03,IsActiveEntity=true)/AdminService.updateMetrics'
      expect((await POST(url, {}, admin)).status).toBe(200)
      expect((await POST('/odata/v4/router/Assignments(00000000-0000-0000-0000-000000000000)/RouterService.updateMetrics', {}, router)).status).toBe(404)
    })
  })
})
