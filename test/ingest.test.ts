import cds from '@sap/cds'
import { launch, router, analyst, decision, metric, withoutErrorLog } from './support'
import { traffic, batch, DEFAULT_AGENTS, DEFAULT_MODELS } from '../tools/workload'

describe('ingest', () => {
  const { GET, POST } = launch()
  const ingest = (body: object) => POST('/odata/v4/router/ingest', body, router)
  const count = async (set: string) => Number((await GET(`/odata/v4/router/${set}/$count`, router)).data)
  const source = traffic({ agents: DEFAULT_AGENTS, models: DEFAULT_MODELS, from: new Date('2026-11-01T00:00:00Z'), to: new Date('2026-11-03T00:00:00Z'), seed: 7 })

  test('stores decisions with candidates and metrics, and answers the counts', async () => {
    const payload = batch(source, 500)
    const { status, data } = await ingest(payload)
    expect(status).toBe(200)
    expect(data).toMatchObject({ decisions: { accepted: 500, duplicates: 0 }, metrics: { accepted: 500, duplicates: 0 } })
    const d = payload.decisions[123]
    const stored = await GET(`/odata/v4/router/RoutingDecisions(${d.ID})?$expand=candidates($orderby=rank)`, router)
    expect(stored.data).toMatchObject({ agent_ID: d.agent_ID, model_ID: d.model_ID, strategy: d.strategy, score: d.score, decidedAt: d.decidedAt })
    expect(stored.data.candidates).toHaveLength(d.candidates.length)
  })

  test('the same batch sent twice is stored once and changes no statistic', async () => {
    const payload = batch(source, 1000)
    expect((await ingest(payload)).data.metrics.accepted).toBe(1000)
    const stats = async () => (await GET('/odata/v4/analytics/ModelPerformance?$orderby=model_ID', analyst)).data.value
    const [before, metrics, decisions] = [await stats(), await count('InferenceMetrics'), await count('RoutingDecisions')]
    const again = await ingest(payload)
    expect(again.status).toBe(200)
    expect(again.data).toMatchObject({ decisions: { accepted: 0, duplicates: 1000 }, metrics: { accepted: 0, duplicates: 1000 } })
    expect(await count('InferenceMetrics')).toBe(metrics)
    expect(await count('RoutingDecisions')).toBe(decisions)
    expect(await stats()).toEqual(before)
  })

  test('a record repeated within one call is stored once', async () => {
    const m = metric()
    const { data } = await ingest({ metrics: [m, m, { ...m }] })
    expect(data.metrics).toEqual({ accepted: 1, duplicates: 2 })
  })

  test('one bad record among 1,000 stores nothing and names index and field', async () => {
    const payload = batch(source, 1000)
    payload.metrics[417].latencyMs = -3
    payload.decisions[17].score = 7
    const [metrics, decisions] = [await count('InferenceMetrics'), await count('RoutingDecisions')]
    const { status, data } = await ingest(payload)
    expect(status).toBe(400)
    const targets = (data.error.details ?? [data.error]).map((e: { target: string }) => e.target)
    expect(targets).toEqual(expect.arrayContaining(['metrics[417]/latencyMs', 'decisions[17]/score']))
    for (const e of data.error.details) expect(e.message).toMatch(/\w+ \w+/)
    expect(await count('InferenceMetrics')).toBe(metrics)
    expect(await count('RoutingDecisions')).toBe(decisions)
  })

  test.each([
    ['a missing ID', { metrics: [metric({ ID: undefined })] }, 'metrics[0]/ID'],
    ['a wrong type', { metrics: [metric({ inputTokens: 'many' })] }, 'metrics[0]/inputTokens'],
    ['an unknown strategy', { decisions: [decision({ strategy: 'coin-flip' })] }, 'decisions[0]/strategy'],
    ['a repeated candidate rank', { decisions: [decision({ candidates: [{ model_ID: 'gpt-4o', rank: 1 }, { model_ID: 'o3-mini', rank: 1 }] })] }, 'decisions[0]/candidates[1]/rank'],
    ['an unknown property', { metrics: [metric({ colour: 'blue' })] }, 'metrics[0]'],
    ['a timestamp that is none', { metrics: [metric({ recordedAt: 'yesterday' })] }, 'metrics[0]/recordedAt'],
    ['an hour that does not exist', { decisions: [decision({ decidedAt: '2026-11-02T25:00:00Z' })] }, 'decisions[0]/decidedAt'],
    ['a null record', { decisions: [decision()], metrics: [null] }, 'metrics[0]'],
    ['a null candidate', { decisions: [decision({ candidates: [{ model_ID: 'gpt-4o', rank: 1 }, null] })] }, 'decisions[0]/candidates[1]'],
    ['a score out of range, in a candidate', { decisions: [decision({ candidates: [{ model_ID: 'gpt-4o', rank: 1, score: 1.5 }] })] }, 'decisions[0]/candidates[0]/score'],
    ['a missing mandatory element of a candidate', { decisions: [decision({ candidates: [{ rank: 1 }] })] }, 'decisions[0]/candidates[0]/model_ID'],
    ['a string too long', { metrics: [metric({ errorCode: 'e'.repeat(101) })] }, 'metrics[0]/errorCode'],
  ])('rejects %s with 400 and its target', async (_, body, target) => {
    const { status, data } = await ingest(body)
    expect(status).toBe(400)
    expect((data.error.details ?? [data.error]).map((e: { target: string }) => e.target)).toContain(target)
  })

  test("reports CAP's checks of each element with CAP's codes and the model's messages, and drops instance annotations", async () => {
    const { status, data } = await ingest({
      decisions: [decision({ score: 1.5 }), decision({ strategy: 'coin-flip' }), decision({ model_ID: '*' }), decision({ agent_ID: undefined })],
      metrics: [metric({ outputTokens: -1 }), metric({ '@odata.type': '#RouterService.InferenceMetricInput' })],
    })
    expect(status).toBe(400)
    expect(data.error.details.map(({ code, target, message }: Record<string, string>) => [code, target, message])).toEqual([
      ['ASSERT_RANGE', 'decisions[0]/score', 'A score lies between 0 and 1'],
      ['ASSERT_ENUM', 'decisions[1]/strategy', expect.stringMatching(/greedy, optimal, balanced, fallback, manual/)],
      ['ASSERT_FORMAT', 'decisions[2]/model_ID', 'A model ID cannot be "*"'],
      ['ASSERT_MANDATORY', 'decisions[3]/agent_ID', expect.any(String)],
      ['ASSERT_RANGE', 'metrics[0]/outputTokens', 'A token count cannot be negative'],
    ])
    expect((await ingest({ metrics: [metric({ '@odata.type': '#RouterService.InferenceMetricInput' })] })).data.metrics.accepted).toBe(1)
  })

  test('takes a cost that JSON writes with an exponent (1.5e-7) and stores its value', async () => {
    const m = metric({ cost: 1.5e-7 })
    expect(JSON.stringify(m)).toContain('1.5e-7')
    expect((await ingest({ metrics: [m] })).data.metrics.accepted).toBe(1)
    expect(Number((await GET(`/odata/v4/router/InferenceMetrics(${m.ID})`, router)).data.cost)).toBe(1.5e-7)
  })

  test('stores texts and numbers exactly as sent, whatever characters they hold', async () => {
    // what an array or JSON encoding of rows would have to escape: quotes, commas, braces, backslashes, a "NULL", non-ASCII
    const odd = ['a "quoted", {braced} \\ text', 'NULL', 'ünïcødé ✓ 模型', ' spaced ', '']
    const d = decision({ requestId: odd[0], strategy: 'greedy', score: 1e-9, candidates: [{ model_ID: odd[2], score: 0.123456789012345, rank: 1 }] })
    const metrics = odd.map((text, i) => metric({
      agent_ID: `agent ${text}`, model_ID: odd[2], errorCode: text, finishReason: odd[(i + 1) % odd.length], decision_ID: i ? null : d.ID,
      latencyMs: 1234.5678 + i, ttftMs: i ? null : 0.001, inputTokens: 2 ** 31 - 1, cost: 0.0000000001 * (i + 1), success: i % 2 === 0,
    }))
    expect((await ingest({ decisions: [d], metrics })).data).toMatchObject({ decisions: { accepted: 1 }, metrics: { accepted: odd.length } })
    const stored = await GET(`/odata/v4/router/RoutingDecisions(${d.ID})?$expand=candidates`, router)
    expect(stored.data).toMatchObject({ requestId: odd[0], score: 1e-9, candidates: [{ model_ID: odd[2], score: 0.123456789012345, rank: 1 }] })
    for (const m of metrics) {
      const { data } = await GET(`/odata/v4/router/InferenceMetrics(${m.ID})`, router)
      expect({ ...data, cost: Number(data.cost) }).toMatchObject(m)
    }
    expect((await GET(`/odata/v4/router/Agents('${encodeURIComponent(`agent ${odd[0]}`.replace(/'/g, "''"))}')`, router)).data.autoRegistered).toBe(true)
  })

  test('8 concurrent clients with overlapping IDs leave exactly one copy of each', async () => {
    const pool = batch(source, 400)
    const before = await count('InferenceMetrics')
    // each client sends a window of 200 records that overlaps its neighbours' windows
    const calls = Array.from({ length: 8 }, (_, c) => {
      const from = (c * 25) % 200
      return ingest({ decisions: pool.decisions.slice(from, from + 200), metrics: pool.metrics.slice(from, from + 200) })
    })
    const results = await Promise.all(calls)
    for (const r of results) expect(r.status).toBe(200)
    const accepted = results.reduce((n: number, r: { data: { metrics: { accepted: number } } }) => n + r.data.metrics.accepted, 0)
    const distinct = new Set(Array.from({ length: 8 }, (_, c) => pool.metrics.slice((c * 25) % 200, (c * 25) % 200 + 200)).flat().map(m => m.ID)).size
    expect(accepted).toBe(distinct)
    expect(await count('InferenceMetrics')).toBe(before + distinct)
    const { value } = (await GET('/odata/v4/analytics/AgentModelPairs?$apply=aggregate(requests with sum as n)', analyst)).data
    expect(Number(value[0].n)).toBe(await count('InferenceMetrics'))
  })

  test('registers unknown agents and models, of candidates too, instead of dropping records', async () => {
    const d = decision({ agent_ID: 'brand-new-agent', model_ID: 'brand-new-model', candidates: [{ model_ID: 'candidate-only-model', score: 0.4, rank: 1 }] })
    const m = metric({ agent_ID: 'brand-new-agent', model_ID: 'brand-new-model' })
    expect((await ingest({ decisions: [d], metrics: [m] })).status).toBe(200)
    for (const [set, ID] of [['Agents', 'brand-new-agent'], ['Models', 'brand-new-model'], ['Models', 'candidate-only-model']]) {
      const { status, data } = await GET(`/odata/v4/router/${set}('${ID}')`, router)
      expect(status).toBe(200)
      expect(data.autoRegistered).toBe(true)
    }
    expect((await GET("/odata/v4/router/Agents('support-bot')", router)).data.autoRegistered).toBe(false)
  })

  test("prices metrics from the model's list prices unless the router sent a cost", async () => {
    // claude-3-5-sonnet: 3.00 in, 15.00 out; llama-3-1-8b: 0.18 / 0.18 (USD per 1M tokens)
    const priced = metric({ model_ID: 'claude-3-5-sonnet', inputTokens: 2500, outputTokens: 700 })
    const cheap = metric({ model_ID: 'llama-3-1-8b', inputTokens: 1_000_000, outputTokens: 1_000_000 })
    const sent = metric({ cost: 1.25 })
    await ingest({ metrics: [priced, cheap, sent] })
    const cost = async (ID: string) => Number((await GET(`/odata/v4/router/InferenceMetrics(${ID})`, router)).data.cost)
    expect(await cost(priced.ID)).toBeCloseTo((2500 * 3 + 700 * 15) / 1e6, 10)
    expect(await cost(cheap.ID)).toBeCloseTo(0.36, 10)
    expect(await cost(sent.ID)).toBe(1.25)
  })

  test('takes 5,000 records a call and answers 413 above', async () => {
    const full = batch(source, 2500)
    expect((await ingest(full)).status).toBe(200)
    const over = batch(source, 2501)
    const before = await count('InferenceMetrics')
    const { status, data } = await ingest(over)
    expect(status).toBe(413)
    expect(data.error.message).toMatch(/at most 5000 records/)
    expect(await count('InferenceMetrics')).toBe(before)
  })

  test('an empty call stores nothing', async () => {
    expect((await ingest({})).data).toMatchObject({ decisions: { accepted: 0, duplicates: 0 }, metrics: { accepted: 0, duplicates: 0 } })
  })

  test('a failure inside the transaction rolls back all of the call', async () => {
    const payload = batch(source, 50)
    payload.metrics[49].agent_ID = 'rollback-probe'
    const before = await count('RoutingDecisions')
    // the database itself refuses the last metric, after the decisions went in: in whichever process writes
    const sqlite = cds.env.requires.db.kind === 'sqlite'
    await cds.run(sqlite
      ? `CREATE TRIGGER refuse_probe BEFORE INSERT ON router_InferenceMetrics WHEN NEW.agent_ID = 'rollback-probe' BEGIN SELECT RAISE(ABORT, 'injected'); END`
      : `CREATE FUNCTION refuse_probe() RETURNS trigger AS $$ BEGIN IF NEW.agent_ID = 'rollback-probe' THEN RAISE EXCEPTION 'injected'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql`)
    if (!sqlite) await cds.run('CREATE TRIGGER refuse_probe BEFORE INSERT ON router_InferenceMetrics FOR EACH ROW EXECUTE FUNCTION refuse_probe()')
    try {
      expect((await withoutErrorLog(() => ingest(payload))).status).toBe(500)
    } finally {
      await cds.run(sqlite ? 'DROP TRIGGER refuse_probe' : 'DROP TRIGGER refuse_probe ON router_InferenceMetrics')
      if (!sqlite) await cds.run('DROP FUNCTION refuse_probe')
    }
    expect(await count('RoutingDecisions')).toBe(before)
    expect((await GET("/odata/v4/router/Agents?$filter=ID eq 'rollback-probe'", router)).data.value).toEqual([])
  })
})
