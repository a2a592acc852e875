import path from 'node:path'
import { otlpCodec, UndecodableBody, type ResourceSpans } from '../../srv/otlp/codec'
import { mapSpans, derivedId } from '../../srv/otlp/spans'
import { GEN_AI, ROUTER, ERROR_TYPE, SERVICE_NAME, sourceOf } from '../../srv/otlp/attributes'

/** The span mapping and both decoders, without a server. */
const codec = otlpCodec(path.join(__dirname, '../../srv/otlp/proto'))

type Value = string | number | boolean | string[] | number[]
/** An OTLP/JSON AnyValue. */
const anyValue = (v: Value): object => Array.isArray(v) ? { arrayValue: { values: (v as Value[]).map(anyValue) } }
  : typeof v === 'string' ? { stringValue: v } : typeof v === 'boolean' ? { boolValue: v }
    : Number.isInteger(v) ? { intValue: String(v) } : { doubleValue: v }
const keyValues = (attributes: Record<string, Value>) => Object.entries(attributes).map(([key, v]) => ({ key, value: anyValue(v) }))

const TRACE = '0af7651916cd43dd8448eb211c80319c'
/** An OTLP/JSON export request of one resource; each span 412.5 ms long, ending 2026-11-20T10:00:00.500Z. */
const request = (spans: { spanId?: string; attributes: Record<string, Value>; status?: number; start?: string }[], resource: Record<string, Value> = { [SERVICE_NAME]: 'svc' }) => ({
  resourceSpans: [{
    resource: { attributes: keyValues(resource) },
    scopeSpans: [{ spans: spans.map((s, i) => ({
      traceId: TRACE, spanId: s.spanId ?? `b7ad6b71692033${String(i).padStart(2, '0')}`, name: `span ${i}`,
      startTimeUnixNano: s.start ?? '1795168800088000000', endTimeUnixNano: '1795168800500500000',
      attributes: keyValues(s.attributes), status: { code: s.status ?? 0 },
    })) }],
  }],
})
const mapJSON = (body: object) => mapSpans(codec.decode(Buffer.from(JSON.stringify(body)), 'json'))

const chat = { [GEN_AI.operation]: 'chat', [GEN_AI.requestModel]: 'gpt-4o', [GEN_AI.inputTokens]: 100, [GEN_AI.outputTokens]: 20 }

describe('OTLP spans to records', () => {
  test('an inference span becomes a metric with every field the conventions give', () => {
    const { spans, mapped, rejected } = mapJSON(request([{ attributes: {
      ...chat, [GEN_AI.responseModel]: 'gpt-4o-2024-08-06', [GEN_AI.provider]: 'openai', [GEN_AI.agentName]: 'support-bot',
      [GEN_AI.timeToFirstChunk]: 0.1234, [GEN_AI.finishReasons]: ['length', 'stop'], [GEN_AI.cost]: 0.0012,
      [ROUTER.decisionId]: '3F0C2A8E-4C1B-4E39-9B0E-1A2B3C4D5E6F',
    } }]))
    expect([spans, rejected]).toEqual([1, []])
    expect(mapped[0].provider).toBe('openai')
    expect(mapped[0].decision).toBeUndefined()
    expect(mapped[0].metric).toEqual({
      ID: derivedId('metric', { traceId: TRACE, spanId: 'b7ad6b7169203300' }, Date.parse('2026-11-20T10:00:00.500Z')),
      decision_ID: '3f0c2a8e-4c1b-4e39-9b0e-1a2b3c4d5e6f', agent_ID: 'support-bot', model_ID: 'gpt-4o-2024-08-06',
      latencyMs: 412.5, ttftMs: 123.4, inputTokens: 100, outputTokens: 20, success: true, finishReason: 'length', cost: 0.0012,
      recordedAt: '2026-11-20T10:00:00.500Z',
    })
  })

  test('agent from gen_ai.agent.id, else gen_ai.agent.name, else service.name; older token and provider names', () => {
    const { mapped } = mapJSON(request([
      { attributes: { ...chat, [GEN_AI.agentId]: 'a-id', [GEN_AI.agentName]: 'a-name' } },
      { attributes: { ...chat, [GEN_AI.agentName]: 'a-name' } },
      { attributes: { [GEN_AI.requestModel]: 'claude', [GEN_AI.system]: 'anthropic', [GEN_AI.promptTokens]: 7, [GEN_AI.completionTokens]: 3 } },
    ]))
    expect(mapped.map(m => m.metric!.agent_ID)).toEqual(['a-id', 'a-name', 'svc'])
    expect(mapped[2]).toMatchObject({ provider: 'anthropic', metric: { model_ID: 'claude', inputTokens: 7, outputTokens: 3 } })
  })

  test('ERROR status or error.type is a failure, error.type its code', () => {
    const { mapped } = mapJSON(request([
      { attributes: chat, status: 2 }, { attributes: { ...chat, [ERROR_TYPE]: 'timeout' } }, { attributes: chat, status: 1 },
    ]))
    expect(mapped.map(m => [m.metric!.success, m.metric!.errorCode])).toEqual([[false, undefined], [false, 'timeout'], [true, undefined]])
  })

  test('only model-calling operations are inferences; other spans are ignored, not rejected', () => {
    const { spans, mapped, rejected } = mapJSON(request([
      { attributes: { [GEN_AI.operation]: 'invoke_agent', [GEN_AI.requestModel]: 'gpt-4o' } },
      { attributes: { [GEN_AI.operation]: 'execute_tool' } },
      { attributes: { 'http.request.method': 'POST' } },
      { attributes: { [ROUTER.decisionId]: '3f0c2a8e-4c1b-4e39-9b0e-1a2b3c4d5e6f' } },
      { attributes: { [GEN_AI.operation]: 'embeddings', [GEN_AI.requestModel]: 'text-embedding-3-small' } },
    ]))
    expect([spans, rejected.length, mapped.map(m => m.metric?.model_ID)]).toEqual([5, 0, ['text-embedding-3-small']])
  })

  test('a routing span becomes a decision with ranked candidates; a span that is both links its metric', () => {
    const { mapped } = mapJSON(request([{ start: '1795168800000000000', attributes: {
      ...chat, [ROUTER.strategy]: 'balanced', [ROUTER.score]: 0.82, [ROUTER.fallback]: false, [ROUTER.requestId]: 'req-1',
      [ROUTER.candidateModels]: ['gpt-4o', 'claude-3-5-haiku'], [ROUTER.candidateScores]: [0.82, 0.79], [GEN_AI.agentId]: 'bot',
    } }]))
    const { decision, metric } = mapped[0]
    expect(decision).toEqual({
      ID: derivedId('decision', { traceId: TRACE, spanId: 'b7ad6b7169203300' }, Date.parse('2026-11-20T10:00:00.000Z')),
      requestId: 'req-1', agent_ID: 'bot', model_ID: 'gpt-4o', strategy: 'balanced', score: 0.82, fallback: false,
      decidedAt: '2026-11-20T10:00:00.000Z',
      candidates: [{ model_ID: 'gpt-4o', score: 0.82, rank: 1 }, { model_ID: 'claude-3-5-haiku', score: 0.79, rank: 2 }],
    })
    expect(metric!.decision_ID).toBe(decision!.ID)
  })

  test('what cannot be mapped rejects the span, naming the attribute', () => {
    const { mapped, rejected } = mapJSON(request([
      { attributes: { ...chat, [GEN_AI.inputTokens]: 1.5 } },
      { attributes: { ...chat, [GEN_AI.requestModel]: 42 } },
      { attributes: { [ROUTER.strategy]: 'greedy', [ROUTER.candidateModels]: ['a', 'b'], [ROUTER.candidateScores]: [0.5] } },
      { attributes: { ...chat, [ROUTER.decisionId]: 'req-17' } },
      { spanId: '0000000000000000', attributes: chat },
      { attributes: chat },
    ]))
    expect(rejected.map(r => r.reason)).toEqual([
      'gen_ai.usage.input_tokens must be a whole number, not 1.5',
      'gen_ai.request.model must be a string, not 42',
      'router.candidate.scores has 1 scores for 2 models of router.candidate.models',
      'router.decision.id must be a UUID such as 3f0c2a8e-4c1b-4e39-9b0e-1a2b3c4d5e6f, not "req-17"',
      'span ID must be 8 bytes, not all zero',
    ])
    expect(mapped).toHaveLength(1)
  })

  test('derived IDs: UUIDv7 of the record time, the same for the same span, apart for another span or kind', () => {
    const span = { traceId: TRACE, spanId: 'b7ad6b7169203300' }, at = Date.parse('2026-11-20T10:00:00.500Z')
    const id = derivedId('metric', span, at)
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    expect(parseInt(id.replace(/-/g, '').slice(0, 12), 16)).toBe(at)
    expect(derivedId('metric', span, at)).toBe(id)
    expect(derivedId('decision', span, at)).not.toBe(id)
    expect(derivedId('metric', { ...span, spanId: 'b7ad6b7169203301' }, at)).not.toBe(id)
    expect(derivedId('metric', span, at + 1) > id).toBe(true)
  })

  test('protobuf and OTLP/JSON decode to the same spans', () => {
    const json = request([{ attributes: { ...chat, [GEN_AI.finishReasons]: ['stop'], [GEN_AI.cost]: 0.5, [ROUTER.fallback]: true } }])
    const binary = codec.encodeRequest({
      resourceSpans: json.resourceSpans.map(rs => ({ ...rs, scopeSpans: rs.scopeSpans.map(ss => ({ spans: ss.spans.map(s => ({
        ...s, traceId: Buffer.from(s.traceId, 'hex'), spanId: Buffer.from(s.spanId, 'hex'),
      })) })) })),
    })
    const plain = (resources: ResourceSpans[]) => resources.map(({ resource, spans }) => ({
      service: resource.get(SERVICE_NAME),
      spans: spans.map(({ attributes, ...s }) => ({ ...s, values: [...Object.keys(chat), GEN_AI.finishReasons, GEN_AI.cost, ROUTER.fallback].map(k => attributes.get(k)) })),
    }))
    const fromJSON = plain(codec.decode(Buffer.from(JSON.stringify(json)), 'json'))
    expect(plain(codec.decode(binary, 'protobuf'))).toEqual(fromJSON)
    expect(fromJSON[0].spans[0]).toMatchObject({ statusCode: 0, values: ['chat', 'gpt-4o', 100, 20, ['stop'], 0.5, true] })
  })

  test('undecodable bodies', () => {
    expect(() => codec.decode(Buffer.from('not protobuf'), 'protobuf')).toThrow(UndecodableBody)
    expect(() => codec.decode(Buffer.from('[1]'), 'json')).toThrow(/not an OTLP\/JSON ExportTraceServiceRequest/)
    expect(() => codec.decode(Buffer.from('{"resourceSpans":[{"scopeSpans":[{"spans":{}}]}]}'), 'json')).toThrow('resourceSpans[0].scopeSpans[0].spans must be an array of objects')
    expect(codec.decode(Buffer.from('{"resourceSpans":[],"unknownField":1}'), 'json')).toEqual([])
  })

  test('validation targets name the attribute they came from', () => {
    expect(sourceOf('metric', 'outputTokens')).toBe(GEN_AI.outputTokens)
    expect(sourceOf('decision', 'candidates[2]/score')).toBe(`${ROUTER.candidateScores}[2]`)
    expect(sourceOf('decision', 'strategy')).toBe(ROUTER.strategy)
  })
})
