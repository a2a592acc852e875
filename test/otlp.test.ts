import path from 'node:path'
import { spawn } from 'node:child_process'
import { gzipSync } from 'node:zlib'
import protobuf from 'protobufjs'
import { launch, root, router, analyst } from './support'
import { expected, expectFigures, groupBy } from './expected'
import { traffic, DEFAULT_MODELS, type Decision, type Metric } from '../tools/workload'
import { GEN_AI, ROUTER, SERVICE_NAME } from '../srv/otlp/attributes'
import { derivedId } from '../srv/otlp/spans'
import { OTLP_TRACES_PATH, MAX_BODY_BYTES } from '../srv/otlp/receiver'
import type { Job, JobResult } from '../tools/otlp-client'

/**
 * The OTLP/HTTP trace receiver with the OpenTelemetry JS SDK as the client: a router process
 * (test/otlp-router.ts) ends spans with a BatchSpanProcessor or SimpleSpanProcessor and the SDK's
 * OTLP exporters (http/protobuf and http/json, gzip or not) send them to the server that cds.test
 * started. Figures are compared with brute force over the spans sent.
 */

const SUCCESS = 0, FAILED = 1 // the SDK's ExportResultCode

/** Spans of a workload on models of this file alone, so that the per-model analytics hold only them. */
const MODELS = DEFAULT_MODELS.map(m => ({ ...m, ID: `otel-${m.ID}` }))
const pairsOf = (agents: string[], count: number, seed: number) => {
  const source = traffic({ agents, models: MODELS, from: new Date('2026-11-10T00:00:00Z'), to: new Date('2026-11-12T00:00:00Z'), count, seed })
  return Array.from({ length: count }, () => {
    const { decision, metric } = source.next().value as { decision: Decision; metric: Metric & { cost?: number } }
    metric.cost = Math.round((metric.inputTokens * 2.5 + metric.outputTokens * 10) * 1e4) / 1e10 // USD, as gen_ai.usage.cost
    return { decision, metric }
  })
}
const spansOf = (pairs: ReturnType<typeof pairsOf>) => pairs.flatMap(({ decision, metric }) => [{ decision }, { metric }])

/** The record IDs the receiver derives from the SDK's spans. */
type Ended = JobResult['spans'][number]
const ms = ([seconds, nanos]: [number, number]) => seconds * 1000 + Math.floor(nanos / 1e6)
const metricIdOf = (s: Ended) => derivedId('metric', s, ms(s.endTime))
const decisionIdOf = (s: Ended) => derivedId('decision', s, ms(s.startTime))

/** OTLP's own messages, to read the receiver's answers to hand-made requests. */
const proto = new protobuf.Root()
proto.resolvePath = (_origin, target) => path.join(root, 'srv/otlp/proto', target)
proto.loadSync(['opentelemetry/proto/collector/trace/v1/trace_service.proto', 'google/rpc/status.proto'])
const ExportRequest = proto.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest')
const ExportResponse = proto.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse')
const Status = proto.lookupType('google.rpc.Status')

const basicAuth = (user: string, password = user) => ({ authorization: 'Basic ' + Buffer.from(`${user}:${password}`).toString('base64') })
const asRouter = basicAuth('router')

describe('OTLP/HTTP traces in', () => {
  const server = launch()
  const { GET } = server
  const rows = async (url: string) => (await GET(url, analyst)).data.value as Record<string, unknown>[]
  const count = async (set: string, filter: string) => Number((await GET(`/odata/v4/analytics/${set}/$count?$filter=${filter}`, analyst)).data)
  const url = () => server.axios.defaults.baseURL! // the server's, once started
  const metricOf = async (s: Ended) => (await GET(`/odata/v4/analytics/InferenceMetrics(${metricIdOf(s)})`, analyst)).data

  /** Runs a job in a router process with the SDK, against this server. */
  const sdk = (job: Omit<Job, 'url'>) => new Promise<JobResult>((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(__dirname, 'otlp-router.ts')], {
      env: { ...process.env, NODE_OPTIONS: '--disable-warning=MODULE_TYPELESS_PACKAGE_JSON' },
    })
    let out = '', err = ''
    child.stdout.on('data', d => { out += d })
    child.stderr.on('data', d => { err += d })
    child.on('close', code => code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`the router process exited with ${code}: ${err}`)))
    child.stdin.end(JSON.stringify({ ...job, url: url() }))
  })

  /** A raw POST of an OTLP body, as curl sends it; answers status, headers and the decoded body. */
  async function post(body: Uint8Array | string, { type = 'application/json', headers = asRouter as Record<string, string> } = {}) {
    const res = await fetch(`${url()}${OTLP_TRACES_PATH}`, {
      method: 'POST', body: typeof body === 'string' ? body : new Uint8Array(body), headers: { 'content-type': type, ...headers },
    })
    const bytes = new Uint8Array(await res.arrayBuffer())
    const isJSON = res.headers.get('content-type')?.startsWith('application/json')
    const message = res.status === 200 ? ExportResponse : Status
    const answer = isJSON ? JSON.parse(Buffer.from(bytes).toString()) : message.toObject(message.decode(bytes), { longs: Number })
    return { status: res.status, headers: res.headers, answer }
  }

  describe('spans of the SDK (BatchSpanProcessor, http/protobuf) land exactly once', () => {
    const pairs = pairsOf(['otel-support', 'otel-coder', 'otel-analyst'], 900, 11)
    const job: Omit<Job, 'url'> = { via: { processor: 'batch', batchSize: 400, headers: asRouter }, spans: spansOf(pairs), idSeed: 11 }
    let sent: JobResult

    beforeAll(async () => { sent = await sdk(job) })

    test('every decision and inference is stored, with the values of its span', async () => {
      expect(sent.spans).toHaveLength(2 * pairs.length)
      expect(sent.warnings).toEqual([])
      expect(await count('InferenceMetrics', "startswith(model_ID,'otel-')")).toBe(pairs.length)
      expect(await count('RoutingDecisions', "startswith(model_ID,'otel-')")).toBe(pairs.length)
      for (const i of [0, 1, 17, 450, pairs.length - 1]) {
        const { decision: d, metric: m } = pairs[i]
        const stored = await metricOf(sent.spans[2 * i + 1])
        expect(stored).toMatchObject({
          decision_ID: d.ID, agent_ID: m.agent_ID, model_ID: m.model_ID, inputTokens: m.inputTokens, outputTokens: m.outputTokens,
          success: m.success, errorCode: m.errorCode, finishReason: m.finishReason, recordedAt: m.recordedAt,
        })
        expect(stored.latencyMs).toBeCloseTo(m.latencyMs, 9)
        expect(stored.ttftMs).toBeCloseTo(m.ttftMs, 9)
        expect(Number(stored.cost)).toBeCloseTo(m.cost!, 10)
      }
    })

    test('decisions come with their candidates, under the router.decision.id or an ID derived from the span', async () => {
      for (const d of [pairs[3].decision, pairs[600].decision]) {
        const stored = (await GET(`/odata/v4/router/RoutingDecisions(${d.ID})?$expand=candidates($orderby=rank)`, router)).data
        const { candidates, ...decision } = d
        expect(stored).toMatchObject(decision)
        expect(stored.candidates).toEqual(candidates.map(c => expect.objectContaining(c)))
      }
      const { spans: [span] } = await sdk({
        via: { processor: 'simple', headers: asRouter },
        spans: [{ decision: { ...pairs[5].decision, requestId: 'req-derived', model_ID: 'derived-model' }, attributes: { [ROUTER.decisionId]: null } }],
      })
      const stored = await GET(`/odata/v4/router/RoutingDecisions(${decisionIdOf(span)})`, router)
      expect(stored.data).toMatchObject({ requestId: 'req-derived', model_ID: 'derived-model', strategy: pairs[5].decision.strategy })
    })

    test('ModelPerformance, AgentModelPairs and routing counts match brute force over the spans', async () => {
      const metrics = pairs.map(p => p.metric)
      const performance = await rows("/odata/v4/analytics/ModelPerformance?$filter=startswith(model_ID,'otel-')")
      const byModel = groupBy(metrics, m => m.model_ID)
      expect(performance.map(r => r.model_ID).sort()).toEqual([...byModel.keys()].sort())
      for (const row of performance) {
        const own = byModel.get(row.model_ID as string)!
        expectFigures(row, expected(own))
        expect(Number(row.cost)).toBeCloseTo(own.reduce((sum, m) => sum + m.cost!, 0), 8)
      }
      const pairRows = await rows("/odata/v4/analytics/AgentModelPairs?$filter=startswith(model_ID,'otel-')")
      const byPair = groupBy(metrics, m => `${m.agent_ID}|${m.model_ID}`)
      expect(pairRows).toHaveLength(byPair.size)
      for (const row of pairRows)
        expectFigures(row, expected(byPair.get(`${row.agent_ID}|${row.model_ID}`)!), ['requests', 'successes', 'successRate', 'avgLatencyMs', 'p95LatencyMs'])
      const strategies = await rows("/odata/v4/analytics/RoutingDecisions?$apply=filter(startswith(model_ID,'otel-'))/groupby((strategy),aggregate($count as decisions))")
      const byStrategy = groupBy(pairs.map(p => p.decision), d => d.strategy)
      expect(Object.fromEntries(strategies.map(r => [r.strategy, r.decisions]))).toEqual(Object.fromEntries([...byStrategy].map(([s, ds]) => [s, ds.length])))
    })

    test('the same spans exported again are duplicates: no count and no figure changes', async () => {
      const figures = () => rows("/odata/v4/analytics/ModelPerformance?$filter=startswith(model_ID,'otel-')&$orderby=model_ID")
      const before = await figures()
      // the job once more, with the same span IDs: its processor's exports, then all spans through each exporter again
      const again = await sdk({ ...job, exports: [{ protocol: 'http/protobuf', headers: asRouter }, { protocol: 'http/json', gzip: true, headers: asRouter }] })
      expect(again.spans).toEqual(sent.spans)
      expect(again.exports).toEqual([{ code: SUCCESS }, { code: SUCCESS }])
      expect(await count('InferenceMetrics', "startswith(model_ID,'otel-')")).toBe(pairs.length)
      expect(await count('RoutingDecisions', "startswith(model_ID,'otel-')")).toBe(pairs.length)
      expect(await figures()).toEqual(before)
    })
  })

  test.each([
    ['http/protobuf', false], ['http/protobuf', true], ['http/json', false], ['http/json', true],
  ] as const)('%s (gzip: %s) with a SimpleSpanProcessor stores each span', async (protocol, gzip) => {
    const agent = `otel-simple-${protocol.slice(5)}-${gzip}`
    const { warnings } = await sdk({ via: { processor: 'simple', protocol, gzip, headers: asRouter }, spans: spansOf(pairsOf([agent], 5, 3)) })
    expect(warnings).toEqual([])
    expect(await count('InferenceMetrics', `agent_ID eq '${agent}'`)).toBe(5)
    expect(await count('RoutingDecisions', `agent_ID eq '${agent}'`)).toBe(5)
  })

  test('older attribute names, the service as agent, and the provider of models registered on the fly', async () => {
    const { spans: [span] } = await sdk({
      service: 'otel-legacy-service', via: { processor: 'batch', headers: asRouter },
      spans: [{
        metric: { ...pairsOf(['ignored'], 1, 5)[0].metric, model_ID: 'otel-legacy-request' },
        attributes: {
          [GEN_AI.agentId]: null, [GEN_AI.operation]: null, [GEN_AI.provider]: null, [GEN_AI.system]: 'openai',
          [GEN_AI.responseModel]: 'otel-legacy-model', [GEN_AI.inputTokens]: null, [GEN_AI.outputTokens]: null,
          [GEN_AI.promptTokens]: 120, [GEN_AI.completionTokens]: 30, [ROUTER.decisionId]: null,
        },
      }],
    })
    const stored = await metricOf(span)
    expect(stored).toMatchObject({ agent_ID: 'otel-legacy-service', model_ID: 'otel-legacy-model', inputTokens: 120, outputTokens: 30, decision_ID: null })
    const model = (await GET("/odata/v4/router/Models('otel-legacy-model')", router)).data
    expect(model).toMatchObject({ provider: 'openai', autoRegistered: true })
  })

  test('spans that describe no inference or decision are accepted and ignored', async () => {
    const { warnings } = await sdk({
      service: 'otel-other', via: { processor: 'batch', headers: asRouter },
      spans: [
        { name: 'GET /v1/chat/completions', attributes: { 'http.request.method': 'GET' } },
        { name: 'invoke_agent otel-agent', attributes: { [GEN_AI.operation]: 'invoke_agent', [GEN_AI.requestModel]: 'otel-agent-model' } },
        { name: 'execute_tool search', attributes: { [GEN_AI.operation]: 'execute_tool', [ROUTER.decisionId]: '3f0c2a8e-4c1b-4e39-9b0e-1a2b3c4d5e6f' } },
      ],
    })
    expect(warnings).toEqual([])
    expect(await count('InferenceMetrics', "agent_ID eq 'otel-other'")).toBe(0)
    expect(await count('RoutingDecisions', "agent_ID eq 'otel-other'")).toBe(0)
  })

  describe('bad spans are rejected one by one in partial_success, the others stored', () => {
    const good = (spanId: string, attributes: object[] = []) => ({
      traceId: '5B8EFFF798038103D269B633813FC60C', spanId, name: `chat ${spanId}`, kind: 3,
      startTimeUnixNano: '1763460000000000000', endTimeUnixNano: 1763460000412500000, // int64 as string or number
      attributes: [
        { key: GEN_AI.operation, value: { stringValue: 'chat' } }, { key: GEN_AI.requestModel, value: { stringValue: 'otel-json-model' } },
        { key: GEN_AI.inputTokens, value: { intValue: '100' } }, { key: GEN_AI.outputTokens, value: { intValue: 20 } }, ...attributes,
      ],
    })
    const request = (spans: object[]) => ({
      resourceSpans: [{ resource: { attributes: [{ key: SERVICE_NAME, value: { stringValue: 'otel-json' } }] }, scopeSpans: [{ scope: { name: 'test' }, spans }] }],
    })
    const spans = [
      good('00000000000000a1'),
      good('00000000000000a2', [{ key: GEN_AI.outputTokens, value: { intValue: '-5' } }]),
      good('00000000000000a3', [{ key: GEN_AI.requestModel, value: { stringValue: '*' } }]),
      good('00000000000000a4', [{ key: ROUTER.strategy, value: { stringValue: 'random' } }, { key: ROUTER.candidateScores, value: { arrayValue: { values: [{ doubleValue: 1.5 }] } } },
        { key: ROUTER.candidateModels, value: { arrayValue: { values: [{ stringValue: 'm1' }] } } }]),
      { ...good('00000000000000a5'), attributes: [{ key: GEN_AI.operation, value: { stringValue: 'chat' } }] },
      good('00000000000000a6', [{ key: ROUTER.decisionId, value: { stringValue: 'not-a-uuid' } }]),
      { ...good('00000000000000a7'), endTimeUnixNano: '1763459999000000000' },
      good('00000000000000a8', [{ key: GEN_AI.inputTokens, value: { doubleValue: 1.5 } }]),
      { ...good('00000000000000a9'), traceId: '' },
    ]

    test('OTLP/JSON: the answer counts and names each rejected span and why', async () => {
      const { status, headers, answer } = await post(JSON.stringify(request(spans)))
      expect(status).toBe(200)
      expect(headers.get('content-type')).toMatch(/^application\/json/)
      expect(answer.partialSuccess.rejectedSpans).toBe('8')
      const message: string = answer.partialSuccess.errorMessage
      expect(message).toMatch(/^8 of 9 spans rejected/)
      for (const reason of [
        /00000000000000a2.*gen_ai\.usage\.output_tokens: A token count cannot be negative/,
        /00000000000000a3.*gen_ai\.response\.model or gen_ai\.request\.model: A model ID cannot be "\*"/,
        /00000000000000a4.*router\.strategy: Enter one of the allowed values: greedy, optimal.*router\.candidate\.scores\[0\]: A score lies between 0 and 1/,
        /00000000000000a5.*gen_ai\.response\.model or gen_ai\.request\.model: Provide the missing value/,
        /00000000000000a6.*router\.decision\.id must be a UUID/,
        /00000000000000a7.*start and end time: A duration in milliseconds cannot be negative/,
        /00000000000000a8.*gen_ai\.usage\.input_tokens must be a whole number/,
        /span \(no span ID\)|trace ID must be 16 bytes/,
      ]) expect(message).toMatch(reason)
      const stored = await rows("/odata/v4/analytics/InferenceMetrics?$filter=agent_ID eq 'otel-json'")
      expect(stored).toEqual([expect.objectContaining({ model_ID: 'otel-json-model', inputTokens: 100, outputTokens: 20, recordedAt: '2025-11-18T10:00:00.412Z' })])
      expect(stored[0].latencyMs).toBeCloseTo(412.5, 3) // a JSON number of nanoseconds is exact to 256 ns
    })

    test('protobuf: the same answer, protobuf-encoded', async () => {
      const body = ExportRequest.encode(ExportRequest.fromObject(request(spans.slice(1, 3).map(s => ({
        ...s, traceId: Buffer.from(s.traceId, 'hex'), spanId: Buffer.from(s.spanId.replace('a', 'b'), 'hex'),
      }))))).finish()
      const { status, headers, answer } = await post(body, { type: 'application/x-protobuf' })
      expect(status).toBe(200)
      expect(headers.get('content-type')).toBe('application/x-protobuf')
      expect(answer.partialSuccess).toMatchObject({ rejectedSpans: 2, errorMessage: expect.stringMatching(/^2 of 2 spans rejected.*cannot be negative/) })
    })

    test("the SDK's exporter receives the partial success", async () => {
      const { warnings } = await sdk({
        via: { processor: 'batch', headers: asRouter },
        spans: [{ metric: { ...pairsOf(['otel-sdk-partial'], 1, 9)[0].metric, inputTokens: -1 } }],
      })
      expect(warnings.join('\n')).toMatch(/Partial Success.*"rejectedSpans":"?1"?.*gen_ai\.usage\.input_tokens: A token count cannot be negative/)
      expect(await count('InferenceMetrics', "agent_ID eq 'otel-sdk-partial'")).toBe(0)
    })
  })

  describe('authentication, encodings and limits', () => {
    test('an export without credentials gets 401, one of a user without RouterWriter 403: nothing is stored', async () => {
      const { exports } = await sdk({
        spans: spansOf(pairsOf(['otel-denied'], 2, 2)),
        exports: [{ headers: {} }, { headers: basicAuth('router', 'wrong') }, { protocol: 'http/json', headers: basicAuth('analyst') }],
      })
      expect(exports).toMatchObject([401, 401, 403].map(code => ({ code: FAILED, error: { code } })))
      const anonymous = await post('{}', { headers: {} })
      expect(anonymous).toMatchObject({ status: 401, answer: { code: 16, message: expect.stringMatching(/RouterWriter/) } })
      expect(anonymous.headers.get('www-authenticate')).toMatch(/^Basic/)
      expect(await post('{}', { headers: basicAuth('analyst') })).toMatchObject({ status: 403, answer: { code: 7 } })
      expect(await count('InferenceMetrics', "agent_ID eq 'otel-denied'")).toBe(0)
    })

    test('an empty export succeeds; undecodable bodies get 400, other content types 415, other methods 405', async () => {
      expect(await post('{}')).toMatchObject({ status: 200, answer: {} })
      expect(await post(new Uint8Array(0), { type: 'application/x-protobuf' })).toMatchObject({ status: 200, answer: {} })
      const garbage = await post(Buffer.from('this is not protobuf'), { type: 'application/x-protobuf' })
      expect(garbage).toMatchObject({ status: 400, answer: { code: 3, message: expect.stringMatching(/not a protobuf-encoded ExportTraceServiceRequest/) } })
      expect(await post('{"resourceSpans": [')).toMatchObject({ status: 400, answer: { message: expect.stringMatching(/not JSON/) } })
      expect(await post('{"resourceSpans": {"spans": 1}}')).toMatchObject({ status: 400, answer: { message: 'resourceSpans must be an array of objects' } })
      expect(await post(gzipSync('not json'), { headers: { ...asRouter, 'content-encoding': 'gzip' } })).toMatchObject({ status: 400 })
      expect(await post(Buffer.from('{}'), { headers: { ...asRouter, 'content-encoding': 'gzip' } })).toMatchObject({ status: 400 })
      expect(await post('a,b', { type: 'text/csv' })).toMatchObject({ status: 415, answer: { message: expect.stringMatching(/application\/x-protobuf or application\/json/) } })
      expect(await post('{}', { headers: { ...asRouter, 'content-encoding': 'compress' } })).toMatchObject({ status: 415 })
      const get = await fetch(`${url()}${OTLP_TRACES_PATH}`, { headers: asRouter })
      expect([get.status, get.headers.get('allow')]).toEqual([405, 'POST'])
    })

    test(`a body above ${MAX_BODY_BYTES / 1024 / 1024} MiB gets 413, also when it only grows that large by decompression`, async () => {
      const tooLarge = Buffer.alloc(MAX_BODY_BYTES + 1, 0x20) // blanks: valid JSON whitespace, so only the size is wrong
      expect(await post(tooLarge)).toMatchObject({ status: 413, answer: { message: expect.stringMatching(/exceeds 20 MiB/) } })
      const bomb = gzipSync(tooLarge)
      expect(bomb.length).toBeLessThan(100_000)
      expect(await post(bomb, { headers: { ...asRouter, 'content-encoding': 'gzip' } })).toMatchObject({ status: 413 })
      expect(await post(gzipSync(Buffer.alloc(MAX_BODY_BYTES - 10, 0x20)), { headers: { ...asRouter, 'content-encoding': 'gzip' } })).toMatchObject({ status: 400 })
    })
  })

  test('error.type and an ERROR status make a failure', async () => {
    const m = pairsOf(['otel-failures'], 1, 4)[0].metric
    const { spans } = await sdk({
      via: { processor: 'batch', headers: asRouter },
      spans: [{ metric: { ...m, success: true, errorCode: 'rate_limited' } }, { metric: { ...m, success: false, errorCode: null } }],
    })
    const stored = await Promise.all(spans.map(metricOf))
    expect(stored.map(r => [r.success, r.errorCode])).toEqual([[false, 'rate_limited'], [false, null]])
  })
})
