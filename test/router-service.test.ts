import cds from '@sap/cds'
import { launch, router, decision, metric, uuid } from './support'

describe('RouterService', () => {
  const { GET, POST, PATCH, DELETE } = launch()
  const base = '/odata/v4/router'

  test('serves agents, models and assignments from the master data', async () => {
    const agents = await GET(`${base}/Agents`, router)
    expect(agents.status).toBe(200)
    expect(agents.data.value.length).toBeGreaterThanOrEqual(8)
    const models = await GET(`${base}/Models?$select=ID,provider,inputPricePer1M`, router)
    expect(models.data.value.length).toBeGreaterThanOrEqual(12)
    expect(new Set(models.data.value.map((m: { provider: string }) => m.provider)).size).toBeGreaterThanOrEqual(5)
  })

  test("answers the router's hot read of active assignments", async () => {
    const { status, data } = await GET(`${base}/Assignments?$filter=agent_ID eq 'support-bot' and status eq 'ACTIVE'`, router)
    expect(status).toBe(200)
    expect(data.value.map((a: { model_ID: string }) => a.model_ID).sort()).toEqual(['claude-3-5-haiku', 'gpt-4o-mini'])
  })

  test('registers and updates agents and models, but does not delete them', async () => {
    expect((await POST(`${base}/Agents`, { ID: 'new-agent', name: 'New agent' }, router)).status).toBe(201)
    expect((await PATCH(`${base}/Agents('new-agent')`, { description: 'changed' }, router)).status).toBe(200)
    expect((await GET(`${base}/Agents('new-agent')`, router)).data.description).toBe('changed')
    expect((await DELETE(`${base}/Agents('new-agent')`, router)).status).toBe(405)
    expect((await POST(`${base}/Models`, { ID: 'm-new', provider: 'Acme', inputPricePer1M: 1, outputPricePer1M: 2 }, router)).status).toBe(201)
  })

  test('stores a decision with its candidates in one deep insert', async () => {
    const d = decision()
    const created = await POST(`${base}/RoutingDecisions`, d, router)
    expect(created.status).toBe(201)
    const { data } = await GET(`${base}/RoutingDecisions(${d.ID})?$expand=candidates($orderby=rank)`, router)
    expect(data).toMatchObject({ agent_ID: 'support-bot', model_ID: 'gpt-4o', strategy: 'balanced', score: 0.8, decidedAt: d.decidedAt })
    expect(data.candidates.map((c: { model_ID: string; rank: number }) => [c.model_ID, c.rank])).toEqual([['gpt-4o', 1], ['gpt-4o-mini', 2]])
    expect((await POST(`${base}/RoutingDecisions`, d, router)).status).toBe(409)
  })

  test('defaults decidedAt and recordedAt to now', async () => {
    const before = new Date().toISOString()
    const d = await POST(`${base}/RoutingDecisions`, decision({ decidedAt: undefined }), router)
    const m = await POST(`${base}/InferenceMetrics`, metric({ recordedAt: undefined }), router)
    const after = new Date().toISOString()
    expect(d.data.decidedAt >= before && d.data.decidedAt <= after).toBe(true)
    expect(m.data.recordedAt >= before && m.data.recordedAt <= after).toBe(true)
  })

  test("computes cost from the model's prices when the router sends none", async () => {
    // gpt-4o: 2.50 USD per 1M input tokens, 10.00 per 1M output tokens
    const m = await POST(`${base}/InferenceMetrics`, metric({ inputTokens: 12000, outputTokens: 3000 }), router)
    expect(m.status).toBe(201)
    expect(Number(m.data.cost)).toBeCloseTo((12000 * 2.5 + 3000 * 10) / 1e6, 10)
    const sent = await POST(`${base}/InferenceMetrics`, metric({ cost: 0.5 }), router)
    expect(Number(sent.data.cost)).toBe(0.5)
  })

  test('registers an unknown agent and model of a single POST instead of dropping it', async () => {
    const m = metric({ agent_ID: 'agent-from-nowhere', model_ID: 'model-from-nowhere' })
    expect((await POST(`${base}/InferenceMetrics`, m, router)).status).toBe(201)
    expect((await GET(`${base}/Agents('agent-from-nowhere')`, router)).data.autoRegistered).toBe(true)
    const model = await GET(`${base}/Models('model-from-nowhere')`, router)
    expect(model.data).toMatchObject({ autoRegistered: true, inputPricePer1M: '0.0000' })
  })

  test('keeps decisions and metrics append-only', async () => {
    const m = metric()
    await POST(`${base}/InferenceMetrics`, m, router)
    expect((await PATCH(`${base}/InferenceMetrics(${m.ID})`, { latencyMs: 1 }, router)).status).toBe(405)
    expect((await DELETE(`${base}/InferenceMetrics(${m.ID})`, router)).status).toBe(405)
  })

  test('creates and updates assignments with their ETag', async () => {
    const created = await POST(`${base}/Assignments`, { agent_ID: 'translator', model_ID: 'mistral-small', strategy: 'greedy', matchScore: 0.6 }, router)
    expect(created.status).toBe(201)
    const url = `${base}/Assignments(${created.data.ID})`
    const etag = (await GET(url, router)).headers.etag
    expect(etag).toBeTruthy()
    expect((await PATCH(url, { status: 'INACTIVE' }, { ...router, headers: { 'If-Match': 'W/"stale"' } })).status).toBe(412)
    expect((await PATCH(url, { status: 'INACTIVE' }, { ...router, headers: { 'If-Match': etag } })).status).toBe(200)
  })

  describe('rejects bad input with 400, a message and a target, and stores nothing', () => {
    const cases: [string, string, Record<string, unknown>, string][] = [
      ['negative latency', 'InferenceMetrics', metric({ latencyMs: -1 }), 'latencyMs'],
      ['negative tokens', 'InferenceMetrics', metric({ outputTokens: -5 }), 'outputTokens'],
      ['missing latency', 'InferenceMetrics', metric({ latencyMs: undefined }), 'latencyMs'],
      ['missing agent', 'InferenceMetrics', metric({ agent_ID: undefined }), 'agent_ID'],
      ['the agent ID that stands for all agents', 'InferenceMetrics', metric({ agent_ID: '*' }), 'agent_ID'],
      ['latency that is no number', 'InferenceMetrics', metric({ latencyMs: 'fast' }), 'latencyMs'],
      ['score above 1', 'RoutingDecisions', decision({ score: 1.2 }), 'score'],
      ['unknown strategy', 'RoutingDecisions', decision({ strategy: 'random' }), 'strategy'],
      ['missing strategy', 'RoutingDecisions', decision({ strategy: undefined }), 'strategy'],
      ['candidate rank 0', 'RoutingDecisions', decision({ candidates: [{ model_ID: 'gpt-4o', score: 0.5, rank: 0 }] }), 'candidates'],
      ['repeated candidate rank', 'RoutingDecisions', decision({ candidates: [{ model_ID: 'gpt-4o', rank: 1 }, { model_ID: 'o3-mini', rank: 1 }] }), 'candidates[1]/rank'],
      ['match score below 0', 'Assignments', { agent_ID: 'translator', model_ID: 'gpt-4o', matchScore: -0.1 }, 'matchScore'],
      ['unknown assignment status', 'Assignments', { agent_ID: 'translator', model_ID: 'gpt-4o', status: 'PAUSED' }, 'status'],
      ['unknown property', 'InferenceMetrics', metric({ temperature: 0.7 }), ''],
    ]
    test.each(cases)('%s', async (_, entitySet, body, target) => {
      const count = async () => Number((await GET(`${base}/${entitySet}/$count`, router)).data)
      const before = await count()
      const { status, data } = await POST(`${base}/${entitySet}`, body, router)
      expect(status).toBe(400)
      const errors = data.error.details ?? [data.error]
      expect(errors.some((e: { target?: string; message: string }) => (e.target ?? '').includes(target) && e.message.length > 5)).toBe(true)
      expect(await count()).toBe(before)
    })
  })

  test('answers malformed JSON with 400', async () => {
    const { status } = await POST(`${base}/InferenceMetrics`, '{"latencyMs": ', { ...router, headers: { 'content-type': 'application/json' } })
    expect(status).toBe(400)
  })

  test('answers an unknown key with 404', async () => {
    expect((await GET(`${base}/InferenceMetrics(${uuid()})`, router)).status).toBe(404)
  })

  // srv/data/postgres-session.ts sends them with BEGIN, as a literal in the statement's text
  test("gives every transaction CAP's session variables: the user's ID as it is, and $now", async () => {
    const sql = cds.env.requires.db.kind === 'postgres'
      ? "SELECT current_setting('cap.applicationuser') AS id, current_setting('cap.now') AS now"
      : "SELECT session_context('$user.id') AS id, session_context('$now') AS now"
    for (const id of ["o'brien", 'back\\slash \\u0041 \\\'', '"quoted", {braces}', 'Zoë 東京', 'router']) {
      const before = Date.now()
      const [row] = await cds.tx({ user: new cds.User(id) } as object, tx => tx.run(sql)) as { id: string; now: string }[]
      expect(row.id).toBe(id)
      expect(new Date(row.now).toISOString()).toBe(row.now)
      expect(Math.abs(new Date(row.now).getTime() - before)).toBeLessThan(60_000)
    }
  })

  if (cds.env.requires.db.kind === 'postgres') test('leaves no transaction open where the session variables cannot be set, and serves the next one', async () => {
    // PostgreSQL's JSON cannot hold the character 0: the statement that sets the session variables fails
    await expect(cds.tx({ user: new cds.User('nul\u0000') } as object, tx => tx.run('SELECT 1'))).rejects.toThrow(/unicode|0000/i)
    const reads = Array.from({ length: 12 }, () => GET(`${base}/Assignments?$filter=agent_ID eq 'support-bot' and status eq 'ACTIVE'`, router))
    for (const { status, data } of await Promise.all(reads)) expect([status, data.value?.length]).toEqual([200, 2])
  })
})
