import fs from 'node:fs'
import path from 'node:path'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import moment from 'moment'
import { BigNumber } from 'bignumber.js'
import {
  BoundOperationRequestBuilder, OperationRequestBuilder, OperationParameter, defaultDeSerializers, entityDeserializer,
  transformReturnValueForComplexType, transformReturnValueForEntity,
} from '@sap-cloud-sdk/odata-v4'
import { setLogLevel } from '@sap-cloud-sdk/util'
import { launch, root, admin } from './support'
import { expected, groupBy, expectFigures } from './expected'
import { traffic, batch, DEFAULT_AGENTS, DEFAULT_MODELS, type Metric, type Decision, type SimulatedModel } from '../tools/workload'

// the SDK looks for OData V2's `__metadata` in each V4 change-set answer and warns of every one that has none
setLogLevel('error', 'batch-response-transformer')

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the clients are generated while the test runs, typed only in their own .ts
type Generated = any

/** The SAP Cloud SDK for JavaScript as the router's and an analyst's client: typed clients generated from the live $metadata. */
describe('SAP Cloud SDK client', () => {
  const test$ = launch(), { GET } = test$
  const T0 = Date.parse('2026-11-20T12:00:00Z'), minutes = (n: number) => new Date(T0 + n * 60_000)
  const model = (ID: string): SimulatedModel => ({ ID, medianLatencyMs: 600, spread: 0.6, failureRate: 0.2 })
  /** What the server confirmed it stored, the basis of every figure the analytics must answer. */
  const stored = { metrics: [] as Metric[], decisions: [] as Decision[] }
  const prices = new Map<string, { input: number; output: number }>()
  const costOf = (ms: Metric[]) => ms.reduce((sum, m) => sum + (m.inputTokens * prices.get(m.model_ID)!.input + m.outputTokens * prices.get(m.model_ID)!.output) / 1e6, 0)
  let dir: string, client: Generated, api: Generated, insights: Generated
  let asRouter: { url: string; username: string; password: string }, asAnalyst: typeof asRouter

  beforeAll(async () => {
    fs.mkdirSync(path.join(root, 'node_modules/.cache'), { recursive: true })
    // inside the project, so that the generated code finds @sap-cloud-sdk/* in its node_modules
    dir = fs.mkdtempSync(path.join(root, 'node_modules/.cache/cloud-sdk-test-'))
    const services = { router: '/odata/v4/router', analytics: '/odata/v4/analytics' }
    fs.mkdirSync(path.join(dir, 'edmx'))
    for (const [name, basePath] of Object.entries(services)) {
      const { status, data } = await GET(`${basePath}/$metadata`, admin)
      expect(status).toBe(200)
      fs.writeFileSync(path.join(dir, 'edmx', `${name}.edmx`), data)
    }
    await generateClients(dir, services)
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- generated at run time, so not importable statically
    const load = (name: string): Generated => require(path.join(dir, 'client', name))
    client = load('router'); insights = load('analytics')
    api = client.router()
    const url = test$.axios.defaults.baseURL! // the server's, once started
    asRouter = { url, username: 'router', password: 'router' }
    asAnalyst = { url, username: 'analyst', password: 'analyst' }
  }, 180_000)
  afterAll(() => dir && fs.rmSync(dir, { recursive: true, force: true }))

  /** Writes skip the SDK's CSRF pre-flight: CAP hands out no CSRF tokens, the SDK would precede each write with two futile HEAD requests. */
  const noCsrf = <T extends { skipCsrfTokenFetching(): T }>(request: T) => request.skipCsrfTokenFetching()
  /** A metric as an entity of the generated client. */
  const metricEntity = (m: Metric) => api.inferenceMetricsApi.entityBuilder()
    .id(m.ID).decisionId(m.decision_ID).agentId(m.agent_ID).modelId(m.model_ID).latencyMs(m.latencyMs).ttftMs(m.ttftMs)
    .inputTokens(m.inputTokens).outputTokens(m.outputTokens).success(m.success).errorCode(m.errorCode)
    .finishReason(m.finishReason).recordedAt(moment.utc(m.recordedAt)).build()

  test('the generator turns the $metadata of both services into typed clients', () => {
    for (const set of ['agentsApi', 'modelsApi', 'assignmentsApi', 'routingDecisionsApi', 'inferenceMetricsApi'])
      expect(api[set].requestBuilder).toBeInstanceOf(Function)
    const analytics = insights.analytics()
    for (const set of ['modelPerformanceApi', 'agentModelPairsApi', 'routingStatsApi', 'summary24HApi', 'hourlyStatsApi'])
      expect(analytics[set].requestBuilder).toBeInstanceOf(Function)
    expect(insights.operations.performance).toBeInstanceOf(Function)
    // the SDK generates no operation with parameters of structured types: ingest is called below without
    expect(client.operations?.ingest).toBeUndefined()
  })

  test('creates an agent, a model with prices and assignments', async () => {
    const { agentsApi, modelsApi, assignmentsApi } = api
    const agent = await noCsrf(agentsApi.requestBuilder().create(agentsApi.entityBuilder().id('sdk-agent').name('SDK Agent').description('Created through the SAP Cloud SDK').build())).execute(asRouter)
    expect(agent).toMatchObject({ id: 'sdk-agent', name: 'SDK Agent', autoRegistered: false })
    const created = await noCsrf(modelsApi.requestBuilder().create(modelsApi.entityBuilder().id('sdk-model').name('SDK Model').provider('SDK')
      .inputPricePer1M(new BigNumber('3.25')).outputPricePer1M(new BigNumber('12.5')).contextWindow(64000).build())).execute(asRouter)
    expect(created.inputPricePer1M.toString()).toBe('3.25')
    const read = await modelsApi.requestBuilder().getByKey('sdk-model').execute(asRouter)
    expect({ id: read.id, provider: read.provider, input: read.inputPricePer1M.toNumber(), output: read.outputPricePer1M.toNumber(), contextWindow: read.contextWindow })
      .toEqual({ id: 'sdk-model', provider: 'SDK', input: 3.25, output: 12.5, contextWindow: 64000 })
    for (const [model_ID, status, matchScore] of [['sdk-model', 'ACTIVE', 0.7], ['gpt-4o-mini', 'INACTIVE', 0.4]] as const) {
      const assignment = await noCsrf(assignmentsApi.requestBuilder().create(assignmentsApi.entityBuilder()
        .agentId('sdk-agent').modelId(model_ID).status(status).strategy('balanced').matchScore(matchScore).build())).execute(asRouter)
      expect(assignment).toMatchObject({ agentId: 'sdk-agent', modelId: model_ID, status, matchScore })
      expect(assignment.id).toMatch(/^[0-9a-f-]{36}$/)
      expect(assignment.versionIdentifier).toBeTruthy()
    }
    for (const m of await modelsApi.requestBuilder().getAll().select(modelsApi.schema.ID, modelsApi.schema.INPUT_PRICE_PER_1_M, modelsApi.schema.OUTPUT_PRICE_PER_1_M).execute(asRouter))
      prices.set(m.id, { input: Number(m.inputPricePer1M ?? 0), output: Number(m.outputPricePer1M ?? 0) })
    expect(prices.get('sdk-model')).toEqual({ input: 3.25, output: 12.5 })
  })

  test("the router's hot read: agent_ID eq 'x' and status eq 'ACTIVE'", async () => {
    const { assignmentsApi } = api, { AGENT_ID, STATUS } = assignmentsApi.schema
    const active = await assignmentsApi.requestBuilder().getAll().filter(AGENT_ID.equals('sdk-agent'), STATUS.equals('ACTIVE')).execute(asRouter)
    expect(active.map((a: Generated) => [a.agentId, a.modelId, a.status])).toEqual([['sdk-agent', 'sdk-model', 'ACTIVE']])
    const all = await assignmentsApi.requestBuilder().getAll().filter(AGENT_ID.equals('sdk-agent')).execute(asRouter)
    expect(all).toHaveLength(2)
  })

  test('updates an assignment with its ETag; the stale ETag then gets 412 and changes nothing', async () => {
    const { assignmentsApi } = api, { AGENT_ID, STATUS } = assignmentsApi.schema
    const [assignment] = await assignmentsApi.requestBuilder().getAll().filter(AGENT_ID.equals('sdk-agent'), STATUS.equals('ACTIVE')).execute(asRouter)
    const mine = await assignmentsApi.requestBuilder().getByKey(assignment.id).execute(asRouter)
    const theirs = await assignmentsApi.requestBuilder().getByKey(assignment.id).execute(asRouter)
    expect(mine.versionIdentifier).toBe(assignment.versionIdentifier)
    mine.matchScore = 0.9
    const { status, headers } = await noCsrf(assignmentsApi.requestBuilder().update(mine)).executeRaw(asRouter)
    expect(status).toBe(200)
    expect(headers.etag).toBeTruthy()
    expect(headers.etag).not.toBe(mine.versionIdentifier)
    theirs.matchScore = 0.1
    expect(await failure(noCsrf(assignmentsApi.requestBuilder().update(theirs)).execute(asRouter))).toMatchObject({ status: 412, message: expect.stringMatching(/precondition/i) })
    const now = await assignmentsApi.requestBuilder().getByKey(assignment.id).execute(asRouter)
    expect({ matchScore: now.matchScore, etag: now.versionIdentifier }).toEqual({ matchScore: 0.9, etag: headers.etag })
  })

  test('deep insert of routing decisions with their candidates, then single creates of their metrics', async () => {
    const { routingDecisionsApi, decisionCandidatesApi, inferenceMetricsApi } = api
    const source = traffic({ agents: ['sdk-agent'], models: [model('sdk-model'), model('gpt-4o-mini')], from: minutes(0), to: minutes(120), seed: 3 })
    const { decisions, metrics } = batch(source, 12)
    for (const d of decisions) {
      const entity = routingDecisionsApi.entityBuilder().id(d.ID).requestId(d.requestId).agentId(d.agent_ID).modelId(d.model_ID)
        .strategy(d.strategy).score(d.score).fallback(d.fallback).decidedAt(moment.utc(d.decidedAt))
        .candidates(d.candidates.map(c => decisionCandidatesApi.entityBuilder().modelId(c.model_ID).score(c.score).rank(c.rank).build())).build()
      const { status } = await noCsrf(routingDecisionsApi.requestBuilder().create(entity)).executeRaw(asRouter)
      expect(status).toBe(201)
      stored.decisions.push(d)
    }
    const d = decisions[5]
    const read = await routingDecisionsApi.requestBuilder().getByKey(d.ID).expand(routingDecisionsApi.schema.CANDIDATES).execute(asRouter)
    expect({ agent: read.agentId, model: read.modelId, strategy: read.strategy, score: read.score, decidedAt: read.decidedAt.toISOString() })
      .toEqual({ agent: d.agent_ID, model: d.model_ID, strategy: d.strategy, score: d.score, decidedAt: d.decidedAt })
    expect(read.candidates.map((c: Generated) => [c.rank, c.modelId, c.score]).sort((a: number[], b: number[]) => a[0] - b[0])).toEqual(d.candidates.map(c => [c.rank, c.model_ID, c.score]))

    for (const m of metrics) {
      const created = await noCsrf(inferenceMetricsApi.requestBuilder().create(metricEntity(m))).execute(asRouter)
      expect({ id: created.id, decision: created.decisionId, latencyMs: created.latencyMs, success: created.success, recordedAt: created.recordedAt.toISOString() })
        .toEqual({ id: m.ID, decision: m.decision_ID, latencyMs: m.latencyMs, success: m.success, recordedAt: m.recordedAt })
      expect(created.cost.toNumber()).toBeCloseTo(costOf([m]), 9) // priced by the server from the model
      stored.metrics.push(m)
    }
    expect(await inferenceMetricsApi.requestBuilder().getAll().filter(inferenceMetricsApi.schema.AGENT_ID.equals('sdk-agent')).count().execute(asRouter)).toBe(12)
  })

  // $batch as the SDK sends it by default: multipart, sub-requests by their path from the server root
  const creates = (ms: Metric[]) => client.changeset(ms.map(m => api.inferenceMetricsApi.requestBuilder().create(metricEntity(m))))
  /** One entry per response: the statuses of a change set, a read's status, or a status with the server's message. */
  const outcome = (responses: Generated[]) => responses.map(r => r.isWriteResponses() ? r.responses.map((w: Generated) => w.httpCode)
    : r.isError() ? `${r.httpCode} ${r.body?.error?.message}` : r.httpCode)
  const performanceOf = (model_ID: string) => insights.analytics().modelPerformanceApi.requestBuilder().getByKey(model_ID).execute(asAnalyst)

  test('$batch: a change set of metric creates for a known agent is stored whole and counted whole, next to a read', async () => {
    const { agentsApi } = api
    const known = batch(traffic({ agents: ['sdk-agent'], models: [model('sdk-model')], from: minutes(150), to: minutes(160), seed: 5 }), 6).metrics
    const responses = await noCsrf(client.batch(creates(known), agentsApi.requestBuilder().getByKey('sdk-agent'))).execute(asRouter)
    if (responses[0]?.isWriteResponses()) stored.metrics.push(...known) // a change set is atomic: answered with writes, stored
    expect(outcome(responses)).toEqual([known.map(() => 201), 200])
    expect(responses[0].responses.map((w: Generated) => w.as(api.inferenceMetricsApi).id)).toEqual(known.map(m => m.ID))
    expect(responses[1].as(agentsApi)[0]).toMatchObject({ id: 'sdk-agent', name: 'SDK Agent' })
    // the creates of one change set roll up into the same model's row: none may be lost
    expectRow('sdk-model', await performanceOf('sdk-model'), expected(stored.metrics.filter(m => m.model_ID === 'sdk-model')))
  })

  test('$batch: a change set of metric creates for an unknown agent registers it once and stores them all', async () => {
    const { agentsApi, inferenceMetricsApi } = api
    const unknown = batch(traffic({ agents: ['sdk-newcomer'], models: [model('gpt-4o')], from: minutes(160), to: minutes(170), seed: 6 }), 6).metrics
    const responses = await noCsrf(client.batch(creates(unknown))).execute(asRouter)
    if (responses[0]?.isWriteResponses()) stored.metrics.push(...unknown)
    expect(outcome(responses)).toEqual([unknown.map(() => 201)])
    expect(await agentsApi.requestBuilder().getByKey('sdk-newcomer').execute(asRouter)).toMatchObject({ id: 'sdk-newcomer', autoRegistered: true })
    expect(await inferenceMetricsApi.requestBuilder().getAll().filter(inferenceMetricsApi.schema.AGENT_ID.equals('sdk-newcomer')).count().execute(asRouter)).toBe(6)
    expectRow('gpt-4o', await performanceOf('gpt-4o'), expected(stored.metrics.filter(m => m.model_ID === 'gpt-4o')))
  })

  /** `ingest` through the SDK's operation request builder: the generator skips it, its parameters being collections of structures. */
  const ingest = (decisions: object[], metrics: object[]) => new OperationRequestBuilder('/odata/v4/router', 'ingest',
    (data: Generated) => transformReturnValueForComplexType(data, (value: Generated) => entityDeserializer(defaultDeSerializers).deserializeComplexType(value, client.IngestResult)),
    // the SDK types parameters as primitives only; an action's body carries the values as they are
    { decisions: new OperationParameter('decisions', 'Edm.Any', decisions), metrics: new OperationParameter('metrics', 'Edm.Any', metrics) },
    defaultDeSerializers, 'action')

  test('ingest through the operation request builder: stored once, re-sent as duplicates, a bad record rejected with 400', async () => {
    const { decisions, metrics } = batch(traffic({ agents: DEFAULT_AGENTS, models: DEFAULT_MODELS, from: minutes(-360), to: minutes(360), seed: 11 }), 400)
    const result = await noCsrf(ingest(decisions, metrics)).execute(asRouter)
    expect(result).toEqual({ decisions: { accepted: 400, duplicates: 0 }, metrics: { accepted: 400, duplicates: 0 } })
    stored.decisions.push(...decisions); stored.metrics.push(...metrics)
    const again = await noCsrf(ingest(decisions.slice(0, 50), metrics.slice(0, 50))).execute(asRouter)
    expect(again).toEqual({ decisions: { accepted: 0, duplicates: 50 }, metrics: { accepted: 0, duplicates: 50 } })
    const bad = batch(traffic({ agents: DEFAULT_AGENTS, models: DEFAULT_MODELS, from: minutes(0), to: minutes(60), seed: 12 }), 3).metrics
    bad[2].latencyMs = -1
    expect(await failure(noCsrf(ingest([], bad)).execute(asRouter))).toMatchObject({ status: 400, targets: expect.arrayContaining(['metrics[2]/latencyMs']) })
    const { inferenceMetricsApi } = api
    expect(await inferenceMetricsApi.requestBuilder().getAll().count().execute(asRouter)).toBe(stored.metrics.length)
  })

  test('updateMetrics through the bound operation request builder recomputes the assignment', async () => {
    const { assignmentsApi } = api, { AGENT_ID, STATUS } = assignmentsApi.schema
    const [assignment] = await assignmentsApi.requestBuilder().getAll().filter(AGENT_ID.equals('sdk-agent'), STATUS.equals('ACTIVE')).execute(asRouter)
    const updated: Generated = await noCsrf(new BoundOperationRequestBuilder(assignmentsApi, assignment, 'RouterService.updateMetrics',
      (data: Generated) => transformReturnValueForEntity(data, assignmentsApi), {}, defaultDeSerializers, 'action')).execute(asRouter)
    const exact = expected(stored.metrics.filter(m => m.agent_ID === 'sdk-agent' && m.model_ID === 'sdk-model'))
    expectRow(updated.id, { ...updated, requests: updated.totalRequests, successes: updated.successfulRequests }, exact, ['requests', 'successes', 'successRate', 'avgLatencyMs', 'p95LatencyMs'])
  })

  describe('analytics through the generated client, against brute force over what was stored', () => {
    const analytics = () => insights.analytics()

    test('ModelPerformance: every field of every model', async () => {
      const rows = await analytics().modelPerformanceApi.requestBuilder().getAll().execute(asAnalyst)
      const byModel = groupBy(stored.metrics, m => m.model_ID)
      expect(rows.map((r: Generated) => r.modelId).sort()).toEqual([...byModel.keys()].sort())
      for (const row of rows) {
        expectRow(row.modelId, row, expected(byModel.get(row.modelId)!))
        expect(row.cost.toNumber()).toBeCloseTo(costOf(byModel.get(row.modelId)!), 6)
      }
    })

    test('AgentModelPairs: every field of every pair', async () => {
      const rows = await analytics().agentModelPairsApi.requestBuilder().getAll().execute(asAnalyst)
      const byPair = groupBy(stored.metrics, m => `${m.agent_ID}|${m.model_ID}`)
      expect(rows.map((r: Generated) => `${r.agentId}|${r.modelId}`).sort()).toEqual([...byPair.keys()].sort())
      for (const row of rows) {
        const ms = byPair.get(`${row.agentId}|${row.modelId}`)!
        expectRow(`${row.agentId}|${row.modelId}`, row, expected(ms))
        expect(row.cost.toNumber()).toBeCloseTo(costOf(ms), 6)
      }
    })

    test('RoutingStats: every field of every strategy', async () => {
      const rows = await analytics().routingStatsApi.requestBuilder().getAll().execute(asAnalyst)
      const byStrategy = groupBy(stored.decisions, d => d.strategy)
      expect(rows.map((r: Generated) => r.strategy).sort()).toEqual([...byStrategy.keys()].sort())
      for (const row of rows) {
        const ds = byStrategy.get(row.strategy)!
        expect(Number(row.decisions)).toBe(ds.length)
        expect(row.avgScore).toBeCloseTo(ds.reduce((sum, d) => sum + d.score, 0) / ds.length, 9)
        expect(row.fallbackRate).toBeCloseTo(ds.filter(d => d.fallback).length / ds.length, 12)
        expect(row.distinctModels).toBe(new Set(ds.map(d => d.model_ID)).size)
      }
    })

    test.each([
      ['model', (m: Metric) => m.model_ID],
      ['pair', (m: Metric) => `${m.agent_ID}|${m.model_ID}`],
      ['none', () => 'null|null'],
    ])('performance(from, to, groupBy=%s) over a window that cuts through the data', async (groupBy_, key) => {
      const [from, to] = [minutes(-180), minutes(90)]
      const rows = await insights.operations.performance({ from: moment.utc(from), to: moment.utc(to), groupBy: groupBy_ }).execute(asAnalyst)
      const inWindow = stored.metrics.filter(m => from.toISOString() <= m.recordedAt && m.recordedAt < to.toISOString())
      expect(inWindow.length).toBeGreaterThan(0)
      expect(inWindow.length).toBeLessThan(stored.metrics.length)
      const groups = groupBy(inWindow, key)
      const keyOf = (r: Generated) => groupBy_ === 'model' ? r.modelId : `${r.agentId ?? null}|${r.modelId ?? null}`
      expect(rows.map(keyOf).sort()).toEqual([...groups.keys()].sort())
      for (const row of rows) {
        const ms = groups.get(keyOf(row))!
        expectRow(keyOf(row), row, expected(ms))
        expect(row.cost.toNumber()).toBeCloseTo(costOf(ms), 6)
      }
    })
  })
})

/**
 * Runs `generate` of @sap-cloud-sdk/generator in a node of its own: it formats its output with prettier 3,
 * which loads itself by import(), and jest's module sandbox refuses that without --experimental-vm-modules.
 */
async function generateClients(dir: string, services: Record<string, string>) {
  const input = path.join(dir, 'edmx')
  // the generator keys its options per service by the specification's path relative to the working directory
  const optionsPerService = Object.fromEntries(Object.entries(services).map(([name, basePath]) =>
    [path.relative(root, path.join(input, `${name}.edmx`)).split(path.sep).join('/'), { directoryName: name, packageName: name, basePath }]))
  fs.writeFileSync(path.join(dir, 'options-per-service.json'), JSON.stringify(optionsPerService))
  // the generator's default, but without checking the SDK's own typings and without declarations: twice as fast
  fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { target: 'es2021', module: 'commonjs', lib: ['esnext'], moduleResolution: 'node', esModuleInterop: true, strict: true, skipLibCheck: true },
    include: ['**/*.ts'],
  }))
  const options = {
    input, outputDir: path.join(dir, 'client'), optionsPerService: path.join(dir, 'options-per-service.json'),
    transpile: true, tsconfig: path.join(dir, 'tsconfig.json'), transpilationProcesses: 1,
  }
  const script = "require('@sap-cloud-sdk/generator').generate(JSON.parse(process.argv[1])).catch(e => { console.error(e.stack ?? e); process.exit(1) })"
  await promisify(execFile)(process.execPath, ['-e', script, JSON.stringify(options)], { cwd: root, maxBuffer: 64 << 20 }).catch((e: { stderr?: string; stdout?: string }) => {
    throw new Error(`@sap-cloud-sdk/generator failed on the $metadata of ${Object.keys(services).join(', ')}:\n${e.stderr || e.stdout}`)
  })
}

/** A served row against brute force: its counts as one object, so that a difference names the row; then every figure within expectFigures' bounds. */
function expectRow(key: string, served: Record<string, unknown>, exact: ReturnType<typeof expected>, fields = Object.keys(exact)) {
  const counts = fields.filter(field => !/^p\d\d|Rate|avg/.test(field))
  expect({ key, ...Object.fromEntries(counts.map(field => [field, Number(served[field])])) })
    .toEqual({ key, ...Object.fromEntries(counts.map(field => [field, exact[field as keyof typeof exact]])) })
  expectFigures(served, exact, fields)
}

/** Status, message and error targets of a request that the SDK reports as failed; fails the test if it succeeded. */
async function failure(request: Promise<unknown>) {
  const error = await request.then(() => { throw new Error('the request succeeded, a failure was expected') }, (e: unknown) => e)
  for (let e = error as { cause?: unknown; response?: { status: number; data?: { error?: { message: string; target?: string; details?: { target: string }[] } } } } | undefined; e; e = e.cause as typeof e)
    if (e.response) {
      const { message, target, details } = e.response.data?.error ?? {}
      return { status: e.response.status, message, targets: (details ?? [{ target }]).map(d => d.target) }
    }
  throw error
}
