import { launch, router, analyst, metric, decision, uuid } from './support'

/**
 * The requests of a $batch change set run concurrently in one transaction; single writes run
 * concurrently in many. Every write path must count each record once whatever shares its transaction.
 */
describe('writes that share a transaction', () => {
  const { GET, POST } = launch()
  const base = '/odata/v4/router'

  const pairFigures = async (agent: string, model: string) => {
    const { data } = await GET(`/odata/v4/analytics/AgentModelPairs?$filter=agent_ID eq '${agent}' and model_ID eq '${model}'`, analyst)
    return data.value[0] ?? { requests: 0 }
  }
  const jsonBatch = (requests: object[]) => POST(`${base}/$batch`, { requests }, { ...router, headers: { 'content-type': 'application/json' } })

  test.each(['support-bot', 'agent-unknown-json'])('three metrics in one JSON atomicity group for %s: all stored, all counted', async agent => {
    const metrics = [1, 2, 3].map(i => metric({ agent_ID: agent, model_ID: 'gpt-4o', latencyMs: 100 * i, recordedAt: `2026-10-0${i}T10:00:00.000Z` }))
    const before = await pairFigures(agent, 'gpt-4o')
    const res = await jsonBatch(metrics.map((m, i) => ({ id: `m${i}`, atomicityGroup: 'g1', method: 'POST', url: 'InferenceMetrics', headers: { 'content-type': 'application/json' }, body: m })))
    expect(res.status).toBe(200)
    expect(res.data.responses.map((r: { status: number }) => r.status)).toEqual([201, 201, 201])
    const after = await pairFigures(agent, 'gpt-4o')
    expect(Number(after.requests) - Number(before.requests ?? 0)).toBe(3)
    const { data } = await GET(`/odata/v4/analytics/InferenceMetrics/$count?$filter=agent_ID eq '${agent}' and recordedAt lt 2026-10-04T00:00:00Z`, analyst)
    expect(Number(data)).toBe(3)
  })

  test('three decisions with candidates in one multipart change set for an unknown agent and model: all stored and counted', async () => {
    const decisions = [1, 2, 3].map(() => decision({ agent_ID: 'agent-unknown-mp', model_ID: 'model-unknown-mp', strategy: 'greedy',
      candidates: [{ model_ID: 'model-unknown-mp', score: 0.9, rank: 1 }, { model_ID: 'model-unknown-mp2', score: 0.5, rank: 2 }] }))
    const part = (d: object, i: number) => `--cs\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\nContent-ID: ${i}\r\n\r\n` +
      `POST RoutingDecisions HTTP/1.1\r\nContent-Type: application/json\r\n\r\n${JSON.stringify(d)}\r\n`
    const body = `--b\r\nContent-Type: multipart/mixed; boundary=cs\r\n\r\n${decisions.map(part).join('')}--cs--\r\n--b--\r\n`
    const res = await POST(`${base}/$batch`, body, { ...router, headers: { 'content-type': 'multipart/mixed; boundary=b' } })
    expect(res.status).toBe(200)
    expect(String(res.data).match(/HTTP\/1.1 201/g)).toHaveLength(3)
    const { data: agent } = await GET(`${base}/Agents('agent-unknown-mp')`, router)
    expect(agent.autoRegistered).toBe(true)
    const { data: stats } = await GET(`/odata/v4/analytics/RoutingStats('greedy')`, analyst)
    expect(Number(stats.decisions)).toBeGreaterThanOrEqual(3)
    const { data: stored } = await GET(`/odata/v4/analytics/RoutingDecisions/$count?$filter=agent_ID eq 'agent-unknown-mp'`, analyst)
    expect(Number(stored)).toBe(3)
  })

  test('a change set whose last write fails stores nothing and counts nothing', async () => {
    const agent = 'agent-rolled-back'
    const good = [1, 2].map(() => metric({ agent_ID: agent }))
    const bad = metric({ agent_ID: agent, latencyMs: -1 })
    const res = await jsonBatch([...good, bad].map((m, i) => ({ id: `m${i}`, atomicityGroup: 'g', method: 'POST', url: 'InferenceMetrics', headers: { 'content-type': 'application/json' }, body: m })))
    expect(res.status).toBe(200)
    expect(res.data.responses.every((r: { status: number }) => r.status >= 400)).toBe(true)
    expect((await GET(`${base}/Agents('${agent}')`, router)).status).toBe(404)
    expect((await pairFigures(agent, 'gpt-4o')).requests).toBe(0)
  })

  test('32 concurrent single POSTs and ingest calls with overlapping IDs, some for unknown agents: each record counted once', async () => {
    const metrics = Array.from({ length: 40 }, (_, i) => metric({ agent_ID: `agent-race-${i % 3}`, model_ID: `model-race-${i % 2}`, latencyMs: i + 1 }))
    const calls = [
      ...metrics.map(m => POST(`${base}/InferenceMetrics`, m, router)),
      ...[0, 1, 2, 3].map(k => POST(`${base}/ingest`, { metrics: metrics.filter((_, i) => i % 4 === k) }, router)),
    ]
    const statuses = (await Promise.all(calls)).map(r => r.status)
    expect(statuses.filter(s => s >= 500)).toEqual([])
    expect(statuses.slice(0, 40).every(s => s === 201 || s === 409)).toBe(true)
    const { data } = await GET(`/odata/v4/analytics/ModelPerformance?$filter=startswith(model_ID,'model-race-')`, analyst)
    expect(data.value.reduce((n: number, r: { requests: number }) => n + Number(r.requests), 0)).toBe(40)
    const latencySum = data.value.reduce((s: number, r: { avgLatencyMs: number; requests: number }) => s + r.avgLatencyMs * Number(r.requests), 0)
    expect(latencySum).toBeCloseTo(metrics.reduce((s, m) => s + (m.latencyMs as number), 0), 6)
  })

  test('an unknown agent created by an operator while ingest registers it: no 5xx', async () => {
    const ID = `agent-${uuid().slice(0, 8)}`
    const [created, ingested] = await Promise.all([
      POST(`${base}/Agents`, { ID, name: 'Operator' }, router),
      POST(`${base}/ingest`, { metrics: [metric({ agent_ID: ID })] }, router),
    ])
    expect(ingested.status).toBe(200)
    expect([201, 409]).toContain(created.status)
  })
})
