import { spawnSync } from 'node:child_process'
import { startServer, basic } from '../tools/server-process'
import { traffic, batch, DEFAULT_AGENTS, DEFAULT_MODELS, type Decision, type Metric, type SimulatedModel } from '../tools/workload'
import { expected, groupBy, expectFigures, expectWindow } from './expected'
import { postgres, onPostgres, deployTo } from '../tools/postgres'

/**
 * Several gateway instances on one PostgreSQL database, as on BTP with more than one instance:
 * eight routers write through both at once, every batch through both instances, single POSTs
 * alike, with agents and models that neither knows yet. Afterwards every view of either instance
 * equals brute force over the records sent: nothing lost, nothing doubled.
 */

/** Whether PostgreSQL answers at 127.0.0.1:5432 (as jest.config.js asks); CI always has it. */
function postgresAnswers() {
  if (process.env.CI === 'true') return true
  const probe = "require('net').connect(5432,'127.0.0.1').on('connect',()=>process.exit(0)).on('error',()=>process.exit(1))"
  return spawnSync(process.execPath, ['-e', probe], { timeout: 3000 }).status === 0
}
const withPostgres = postgresAnswers()
if (!withPostgres) console.warn('PostgreSQL does not answer at 127.0.0.1:5432: skipping the test of several instances on one database')

const schema = `instances_${process.pid}_${Date.now().toString(36)}`

// unknown to the master data: the first batches through both instances race to register them
const NEW_AGENTS = ['fleet-agent-a', 'fleet-agent-b']
const NEW_MODELS: SimulatedModel[] = [
  { ID: 'fleet-model-a', medianLatencyMs: 500, spread: 0.4, failureRate: 0.02 },
  { ID: 'fleet-model-b', medianLatencyMs: 700, spread: 0.5, failureRate: 0.04 },
]
const CLIENTS = 8, BATCHES = 32, PAIRS_A_BATCH = 100, SINGLES = 32

type Payload = { decisions: Decision[]; metrics: Metric[] }
type Job = { ingest: Payload } | { metric: Metric } | { decision: Decision }
interface Outcome { job: Job; instance: number; status: number; body: Record<string, { accepted: number; duplicates: number }> }

const describeWithPostgres = withPostgres ? describe : describe.skip
describeWithPostgres('two instances on one PostgreSQL database', () => {
  const now = Date.now()
  const source = traffic({
    agents: [NEW_AGENTS[0], ...DEFAULT_AGENTS, NEW_AGENTS[1]], models: [NEW_MODELS[0], ...DEFAULT_MODELS, NEW_MODELS[1]],
    from: new Date(now - 30 * 3600_000), to: new Date(now - 60_000), seed: 4711,
  })
  const batches = Array.from({ length: BATCHES }, () => batch(source, PAIRS_A_BATCH))
  const singles = batch(source, SINGLES)
  const metrics = [...batches.flatMap(b => b.metrics), ...singles.metrics]
  const decisions = [...batches.flatMap(b => b.decisions), ...singles.decisions]
  const outcomes: Outcome[] = []
  const cost = new Map<string, number>()
  const instances: Awaited<ReturnType<typeof startServer>>[] = []

  beforeAll(async () => {
    await onPostgres(db => db.run(`CREATE SCHEMA "${schema}"`))
    await deployTo({ ...postgres, schema })
    // one after the other: two first starts at once may both create the indexes of srv/data/indexes.ts, and one fails
    const config = { requires: { db: { kind: 'postgres', credentials: { ...postgres, schema } } } }
    for (let i = 0; i < 2; i++) instances.push(await startServer(config, { CDS_PLUGIN_UI5_ACTIVE: 'false' }))

    /**
     * Clients c and c+4 work through the same jobs in the same order (odd pairs from the end), one
     * through each instance, so every record reaches both at about the same time; single POSTs between batches.
     */
    const jobs = (c: number): Job[] => {
      const mine = batches.filter((_, b) => b % 4 === c % 4)
      const own = (_: unknown, s: number) => s % 4 === c % 4
      const list: Job[] = mine.flatMap((payload, i) => [
        { ingest: payload } as Job,
        ...singles.metrics.filter(own).slice(i, i + 1).map(metric => ({ metric })),
        ...singles.decisions.filter(own).slice(i, i + 1).map(decision => ({ decision })),
      ])
      // a record of a batch once more on its own: 201 or 409, depending on who was first
      list.splice(3, 0, { metric: mine.at(-1)!.metrics[c] })
      return c % 2 ? list.reverse() : list
    }
    const client = async (c: number) => {
      const instance = c < CLIENTS / 2 ? 0 : 1, { url } = instances[instance]
      for (const job of jobs(c)) {
        const [path, body] = 'ingest' in job ? ['ingest', job.ingest] : 'metric' in job ? ['InferenceMetrics', job.metric] : ['RoutingDecisions', job.decision]
        const res = await fetch(`${url}/odata/v4/router/${path}`, {
          method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json', ...basic('router') },
        })
        outcomes.push({ job, instance, status: res.status, body: await res.json().catch(() => ({})) })
      }
    }
    await Promise.all(Array.from({ length: CLIENTS }, (_, c) => client(c)))

    const prices = (await read(0, 'Models?$select=ID,inputPricePer1M,outputPricePer1M')) as { ID: string; inputPricePer1M: string; outputPricePer1M: string }[]
    const price = new Map(prices.map(p => [p.ID, p]))
    for (const m of metrics) {
      const p = price.get(m.model_ID)!
      cost.set(m.ID, (m.inputTokens * Number(p.inputPricePer1M) + m.outputTokens * Number(p.outputPricePer1M)) / 1e6)
    }
  }, 300_000)

  afterAll(async () => {
    await Promise.all(instances.map(i => i.stop()))
    await onPostgres(db => db.run(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`))
  }, 60_000)

  const costOf = (ms: Metric[]) => ms.reduce((a, m) => a + cost.get(m.ID)!, 0)

  /** All rows of a read of AnalyticsService through one instance, following its @odata.nextLink pages. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- rows of many shapes, asserted field by field
  async function read(instance: number, path: string): Promise<any[]> {
    const rows = []
    for (let url: string | undefined = path; url;) {
      const res = await fetch(`${instances[instance].url}/odata/v4/analytics/${url}`, { headers: basic('analyst') })
      expect([url, res.status]).toEqual([url, 200])
      const page = await res.json() as { value: object[]; '@odata.nextLink'?: string }
      rows.push(...page.value)
      url = page['@odata.nextLink']
    }
    return rows
  }
  const bothInstances = [[0], [1]]

  test('every call succeeded, and the instances together accepted each record exactly once', () => {
    const answered = (kind: string) => outcomes.filter(o => kind in o.job).map(o => o.status)
    expect(answered('ingest').filter(s => s !== 200)).toEqual([])
    expect(answered('ingest')).toHaveLength(2 * BATCHES)
    expect([...answered('metric'), ...answered('decision')].filter(s => s !== 201 && s !== 409)).toEqual([])
    const accepted = (kind: 'metrics' | 'decisions', single: 'metric' | 'decision') =>
      outcomes.reduce((n, o) => n + ('ingest' in o.job ? o.body[kind].accepted : single in o.job && o.status === 201 ? 1 : 0), 0)
    expect(accepted('metrics', 'metric')).toBe(metrics.length)
    expect(accepted('decisions', 'decision')).toBe(decisions.length)
  })

  test.each(bothInstances)('instance %i: raw rows and auto-registered agents and models, each once', async instance => {
    const count = async (set: string) => {
      const res = await fetch(`${instances[instance].url}/odata/v4/analytics/${set}/$count`, { headers: basic('analyst') })
      return Number(await res.text())
    }
    expect(await count('InferenceMetrics')).toBe(metrics.length)
    expect(await count('RoutingDecisions')).toBe(decisions.length)
    expect(await count('DecisionCandidates')).toBe(decisions.reduce((n, d) => n + d.candidates.length, 0))
    expect((await read(instance, 'Agents?$filter=autoRegistered eq true&$orderby=ID')).map(a => a.ID)).toEqual(NEW_AGENTS)
    expect((await read(instance, 'Models?$filter=autoRegistered eq true&$orderby=ID')).map(m => m.ID)).toEqual(NEW_MODELS.map(m => m.ID))
  })

  test.each(bothInstances)('instance %i: ModelPerformance, every field of every model', async instance => {
    const rows = await read(instance, 'ModelPerformance')
    const byModel = groupBy(metrics, m => m.model_ID)
    expect(rows).toHaveLength(byModel.size)
    for (const row of rows) {
      expectFigures(row, expected(byModel.get(row.model_ID)!))
      expect(Number(row.cost)).toBeCloseTo(costOf(byModel.get(row.model_ID)!), 6)
    }
  })

  test.each(bothInstances)('instance %i: AgentModelPairs, every pair', async instance => {
    const rows = await read(instance, 'AgentModelPairs')
    const byPair = groupBy(metrics, m => `${m.agent_ID}|${m.model_ID}`)
    expect(rows).toHaveLength(byPair.size)
    for (const row of rows) {
      const ms = byPair.get(`${row.agent_ID}|${row.model_ID}`)!
      expectFigures(row, expected(ms), ['requests', 'successes', 'successRate', 'avgLatencyMs', 'p95LatencyMs'])
      expect(Number(row.cost)).toBeCloseTo(costOf(ms), 6)
    }
  })

  test.each(bothInstances)('instance %i: RoutingStats, every strategy', async instance => {
    const rows = await read(instance, 'RoutingStats')
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

  test.each(bothInstances)('instance %i: HourlyStats, every hour of every pair', async instance => {
    const hourOf = (t: string) => t.slice(0, 13) + ':00:00.000Z'
    const byHour = groupBy(metrics, m => `${hourOf(m.recordedAt)}|${m.agent_ID}|${m.model_ID}`)
    const rows = await read(instance, 'HourlyStats?$filter=requests gt 0')
    expect(rows).toHaveLength(byHour.size)
    for (const row of rows) {
      const ms = byHour.get(`${row.hour}|${row.agent_ID}|${row.model_ID}`)!
      expect(Number(row.requests)).toBe(ms.length)
      expect(Number(row.successes)).toBe(ms.filter(m => m.success).length)
      expect(Number(row.latencySumMs)).toBeCloseTo(ms.reduce((a, m) => a + m.latencyMs, 0), 6)
      expect(Number(row.inputTokens)).toBe(ms.reduce((a, m) => a + m.inputTokens, 0))
      expect(Number(row.cost)).toBeCloseTo(costOf(ms), 6)
    }
  })

  describe('performance(from, to, groupBy)', () => {
    const from = new Date(now - 20.5 * 3600_000).toISOString(), to = new Date(now - 2.25 * 3600_000).toISOString()
    test.each([
      ['model', 0, (m: Metric) => `|${m.model_ID}`],
      ['agent', 1, (m: Metric) => `${m.agent_ID}|`],
      ['pair', 0, (m: Metric) => `${m.agent_ID}|${m.model_ID}`],
      ['none', 1, () => '|'],
    ])('groupBy %s (instance %i): every field of every group', async (grouping, instance, key) => {
      const rows = await read(instance as number, `performance(from=${from},to=${to},groupBy='${grouping}')`)
      expectWindow(rows, metrics, from, to, key as (m: Metric) => string, costOf)
    })
  })

  test('updateMetrics recomputes an assignment from the records of both instances', async () => {
    const ms = metrics.filter(m => m.agent_ID === 'support-bot' && m.model_ID === 'gpt-4o-mini')
    const res = await fetch(`${instances[1].url}/odata/v4/router/Assignments(6f1c7c3e-6a53-4d3e-9a53-0c1f2b7d9a01)/RouterService.updateMetrics`, {
      method: 'POST', body: '{}', headers: { 'content-type': 'application/json', ...basic('router') },
    })
    expect(res.status).toBe(200)
    const data = await res.json(), exact = expected(ms)
    expect(Number(data.totalRequests)).toBe(exact.requests)
    expect(Number(data.successfulRequests)).toBe(exact.successes)
    expect(data.successRate).toBeCloseTo(exact.successRate, 12)
    expect(data.avgLatencyMs).toBeCloseTo(exact.avgLatencyMs, 6)
    expect(Math.abs(data.p95LatencyMs - exact.p95LatencyMs) / exact.p95LatencyMs).toBeLessThanOrEqual(0.01)
    expect(data.lastUsedAt).toBe(ms.map(m => m.recordedAt).sort().at(-1))
  })
})
