/**
 * `npm run simulate -- [options]`: router traffic against a running gateway, written through
 * `ingest` over HTTP as a router writes it: batches of decisions with their metrics, retried with
 * the same IDs when a call fails. First it can backfill history, then it sends live traffic.
 * With `--otlp` the same traffic goes out as OpenTelemetry spans through the SDK's OTLP exporter.
 */
import { parseArgs } from 'node:util'
import { MAX_RECORDS_PER_CALL } from '../srv/domain/limits.ts'
import { traffic, routedTraffic, batch, DEFAULT_AGENTS, DEFAULT_MODELS, ROUTING_MIX, STRATEGIES, type Decision, type Metric, type WorkloadOptions } from './workload.ts'
import { tracing, batching, exporterTo, routerSpans, type Protocol } from './otlp-client.ts'
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace'

const { values: o } = parseArgs({
  options: {
    url: { type: 'string', default: process.env.ROUTER_ODATA_URL ?? 'http://localhost:4004' },
    user: { type: 'string', default: 'router:router' },
    rate: { type: 'string', default: '50' },
    duration: { type: 'string', default: '60' },
    agents: { type: 'string', default: String(DEFAULT_AGENTS.length) },
    models: { type: 'string', default: String(DEFAULT_MODELS.length) },
    'failure-rate': { type: 'string' },
    'latency-scale': { type: 'string', default: '1' },
    'history-days': { type: 'string', default: '0' },
    'history-requests': { type: 'string', default: '20000' },
    seed: { type: 'string', default: String(Date.now() % 100000) },
    routing: { type: 'string', default: 'quality' },
    strategies: { type: 'string' },
    otlp: { type: 'boolean', default: false },
    'otlp-protocol': { type: 'string', default: 'http/protobuf' },
    help: { type: 'boolean', default: false },
  },
})

if (o.help) {
  console.log(`Simulates an LLM router writing to router-odata through ingest (or OpenTelemetry spans, --otlp).

  --url URL                 the gateway (default http://localhost:4004, or $ROUTER_ODATA_URL)
  --user NAME:PASSWORD      a user with the RouterWriter role (default router:router)
  --rate N                  requests per second of live traffic: a decision and a metric each (default 50)
  --duration S              seconds of live traffic (default 60; 0 = none)
  --agents N                how many agents send requests (default ${DEFAULT_AGENTS.length}, at most ${DEFAULT_AGENTS.length})
  --models N                how many models the router chooses from (default ${DEFAULT_MODELS.length}, at most ${DEFAULT_MODELS.length})
  --failure-rate P          failure probability of every model (default: each model's own, 1-5%)
  --latency-scale F         multiplies every model's latency distribution (default 1)
  --history-days D          first backfill D days of past traffic, oldest first (default 0)
  --history-requests N      requests in that history (default 20000)
  --seed N                  seed of the traffic generator
  --routing R               quality (default): each agent weighs a pool of candidate models that succeed for it at
                            rates of their own, and strategies of different quality choose among them: optimal
                            the best 9 times in 10, balanced the best or else the fastest, greedy always the
                            fastest, manual the agent's first model, fallback any; the Routing Quality app ranks
                            them so. random: strategy, model and candidates drawn independently of each other
  --strategies S=W,...      shares of the strategies with --routing quality, e.g. greedy=1,optimal=1
                            (default ${Object.entries(ROUTING_MIX).map(([k, v]) => `${k}=${v}`).join(',')})
  --otlp                    send OpenTelemetry spans to <url>/otlp/v1/traces instead of calling ingest: a routing
                            span (router.*) and an inference span (gen_ai.*) per request, with the SDK's
                            BatchSpanProcessor and OTLP exporter, which retries by itself
  --otlp-protocol P         http/protobuf (default) or http/json

Agents and models are skewed: the first ones of each list get most requests. Latency per model is
log-normal around its own median; see tools/workload.ts.`)
  process.exit(0)
}

const number = (name: keyof typeof o, min: number, max = Infinity) => {
  const n = Number(o[name])
  if (!Number.isFinite(n) || n < min || n > max) { console.error(`--${name} must be a number from ${min} to ${max}`); process.exit(2) }
  return n
}
const rate = number('rate', 1, 20000), duration = number('duration', 0)
const models = DEFAULT_MODELS.slice(0, number('models', 1, DEFAULT_MODELS.length)).map(m => ({
  ...m,
  medianLatencyMs: m.medianLatencyMs * number('latency-scale', 0.01),
  failureRate: o['failure-rate'] === undefined ? m.failureRate : number('failure-rate', 0, 1),
}))
const agents = DEFAULT_AGENTS.slice(0, number('agents', 1, DEFAULT_AGENTS.length))
const seed = number('seed', 0)
if (!['quality', 'random'].includes(o.routing!)) { console.error('--routing must be quality or random'); process.exit(2) }
const mix = o.strategies === undefined ? undefined : Object.fromEntries(o.strategies.split(',').map(pair => {
  const [strategy, weight] = pair.split('=')
  if (!(STRATEGIES as readonly string[]).includes(strategy) || !(Number(weight) >= 0)) {
    console.error(`--strategies takes strategy=share pairs of ${STRATEGIES.join(', ')}, not '${pair}'`); process.exit(2)
  }
  return [strategy, Number(weight)]
}))
/** The traffic of --routing; the world (pools, success rates) stays the one of --seed whatever seed draws the requests. */
const generate = (options: WorkloadOptions) => o.routing === 'random' ? traffic(options) : routedTraffic({ ...options, worldSeed: seed, mix: mix && { ...Object.fromEntries(STRATEGIES.map(k => [k, 0])), ...mix } })
const authorization = 'Basic ' + Buffer.from(o.user!).toString('base64')
const MAX_PER_CALL = MAX_RECORDS_PER_CALL / 2 // decision-metric pairs: the most records one ingest call takes

if (o.otlp && !['http/protobuf', 'http/json'].includes(o['otlp-protocol']!)) {
  console.error('--otlp-protocol must be http/protobuf or http/json'); process.exit(2)
}

let sent = 0, duplicates = 0, retries = 0
const started = Date.now()
const progress = (phase: string) => process.stdout.write(
  `\r  ${phase}  ${Math.round((Date.now() - started) / 1000)} s  ${sent.toLocaleString('en-US')} requests stored, ${duplicates} duplicates, ${retries} retries   `)

/** One ingest call; retried with the very same payload, which ingest's idempotency makes safe. */
async function ingest(payload: object) {
  for (let attempt = 1; ; attempt++) {
    try {
      const res = await fetch(`${o.url}/odata/v4/router/ingest`, {
        method: 'POST', body: JSON.stringify(payload), headers: { authorization, 'content-type': 'application/json' },
      })
      const body = await res.json() as { metrics?: { accepted: number; duplicates: number }; error?: { message: string } }
      if (res.status >= 400 && res.status < 500) throw Object.assign(new Error(`${res.status} ${body.error?.message}`), { final: true })
      if (!res.ok) throw new Error(`${res.status} ${body.error?.message}`)
      sent += body.metrics!.accepted; duplicates += body.metrics!.duplicates
      return
    } catch (e) {
      if ((e as { final?: boolean }).final || attempt === 5) { console.error(`\ningest failed: ${(e as Error).message}`); process.exit(1) }
      retries++
      await new Promise(r => setTimeout(r, 200 * 2 ** attempt))
    }
  }
}

/**
 * The same traffic as spans: the SDK batches them (512 a request) and its exporter retries what the
 * gateway answers with 429 or 503; an export that fails for good ends the simulation. The gateway
 * derives record IDs from the spans, so the exporter's retries double nothing.
 */
const otlp = o.otlp ? (() => {
  const exporter = exporterTo(o.url!, { protocol: o['otlp-protocol'] as Protocol, headers: { authorization } })
  const counting: SpanExporter = {
    export(spans: ReadableSpan[], done) {
      exporter.export(spans, result => {
        if (result.code !== 0) { console.error(`\nOTLP export failed: ${result.error?.message}`); process.exit(1) }
        sent += spans.filter(s => s.name.startsWith('chat ')).length
        done(result)
      })
    },
    shutdown: () => exporter.shutdown(),
    forceFlush: () => exporter.forceFlush?.() ?? Promise.resolve(),
  }
  const { provider, tracer } = tracing('llm-router', [batching(counting)])
  return { provider, tracer }
})() : undefined

/** One batch of decisions and metrics, through ingest or as spans. */
async function send(payload: { decisions: Decision[]; metrics: Metric[] }) {
  if (!otlp) return ingest(payload)
  routerSpans(otlp.tracer, payload.decisions.map((decision, i) => ({ decision, metric: payload.metrics[i] })))
  await otlp.provider.forceFlush()
}

const historyDays = number('history-days', 0)
if (historyDays > 0) {
  const count = number('history-requests', 1)
  const source = generate({ agents, models, seed, count, from: new Date(started - historyDays * 86400_000), to: new Date(started) })
  for (let left = count; left > 0; left -= MAX_PER_CALL) {
    await send(batch(source, Math.min(MAX_PER_CALL, left)))
    progress('history')
  }
  console.log()
}

// live: every second, the requests of the second before
for (let second = 0; second < duration; second++) {
  const tick = Date.now()
  const source = generate({ agents, models, seed: seed + second + 1, count: rate, from: new Date(tick - 1000), to: new Date(tick) })
  for (let left = rate; left > 0; left -= MAX_PER_CALL) await send(batch(source, Math.min(MAX_PER_CALL, left)))
  progress('live')
  await new Promise(r => setTimeout(r, Math.max(0, 1000 - (Date.now() - tick))))
}
await otlp?.provider.shutdown()
console.log(`\ndone: ${sent.toLocaleString('en-US')} requests in ${Math.round((Date.now() - started) / 1000)} s`)
