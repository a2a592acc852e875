import { launch, router, analyst, admin, uuid, metric as aMetric, decision as aDecision } from './support'
import { routedTraffic, batch, DEFAULT_AGENTS, DEFAULT_MODELS, type Decision, type Metric } from '../tools/workload'
import { BruteForce, expectRows, qualityReads, type Row } from './quality-expected'

const MINUTE = 60_000, HOUR = 3600_000
const T0 = Date.parse('2026-11-10T00:00:00.000Z')
const at = (h: number, m = 0, s = 0) => new Date(T0 + h * HOUR + m * MINUTE + s * 1000).toISOString()

describe('routing quality', () => {
  const { GET, POST } = launch()
  const q = (path: string) => GET(`/odata/v4/analytics/${path}`, analyst)
  const { rawRows, call } = qualityReads(GET)
  const ingest = async (body: { decisions?: object[]; metrics?: object[] }) => {
    const { status, data } = await POST('/odata/v4/router/ingest', body, router)
    expect([status, data.error?.message]).toEqual([200, undefined])
    return data
  }

  // 4,000 decisions over 30 hours from strategies of different quality; 5 agents keep pairs busy enough to be known
  const source = routedTraffic({ agents: DEFAULT_AGENTS.slice(0, 5), models: DEFAULT_MODELS, from: new Date(T0), to: new Date(T0 + 30 * HOUR), count: 4000, seed: 21 })
  const { decisions, metrics } = batch(source, 4000)
  // some decisions carry no score or no candidates; some have a retried second metric; some metrics belong to no stored decision
  decisions.forEach((d, i) => {
    if (i % 37 === 5) (d as { score?: number }).score = undefined
    if (i % 53 === 7) d.candidates = []
  })
  const retries: Metric[] = metrics.filter((_, i) => i % 10 === 3).map(m => ({ ...m, ID: uuid(), success: !m.success, recordedAt: new Date(Date.parse(m.recordedAt) + 2000).toISOString() }))
  const strays = [aMetric({ recordedAt: at(3, 10), decision_ID: uuid() }), aMetric({ recordedAt: at(4, 10), decision_ID: null })]
  const allMetrics: Metric[] = [...metrics, ...retries, ...strays as unknown as Metric[]]
  const metricsOf = (ds: Decision[]) => { const ids = new Set(ds.map(d => d.ID)); return allMetrics.filter(m => m.decision_ID && ids.has(m.decision_ID)) }
  const inCalls = async <T>(rows: T[], size: number, send: (part: T[]) => Promise<unknown>) => {
    for (let i = 0; i < rows.length; i += size) await send(rows.slice(i, i + size))
  }
  const part = (k: number) => decisions.filter((_, i) => i % 5 === k)

  beforeAll(async () => {
    // decisions first, their metrics in later calls
    await inCalls(part(0), 300, ds => ingest({ decisions: ds }))
    await inCalls(metricsOf(part(0)), 300, ms => ingest({ metrics: ms }))
    // metrics first, their decisions in later calls
    await inCalls(metricsOf(part(1)), 300, ms => ingest({ metrics: ms }))
    await inCalls(part(1), 300, ds => ingest({ decisions: ds }))
    // both in one call, metrics listed first
    await inCalls(part(2), 400, ds => ingest({ metrics: metricsOf(ds), decisions: ds }))
    // half the metrics first, then the decisions with the other half
    const fourth = part(3), early = metricsOf(fourth).filter((_, i) => i % 2 === 0), earlyIDs = new Set(early.map(m => m.ID))
    await ingest({ metrics: early })
    await inCalls(fourth, 400, ds => ingest({ decisions: ds, metrics: metricsOf(ds).filter(m => !earlyIDs.has(m.ID)) }))
    // the last part: 40 as single POSTs in both orders, 120 in $batch change sets with the metrics first, the rest
    // in calls that each carry the decisions of one slice and the metrics of the slice before
    const fifth = part(4), single = fifth.slice(0, 40), batched = fifth.slice(40, 160), sliding = fifth.slice(160)
    for (const [i, d] of single.entries()) {
      const posts = [() => POST('/odata/v4/router/RoutingDecisions', d, router), ...metricsOf([d]).map(m => () => POST('/odata/v4/router/InferenceMetrics', m, router))]
      for (const post of i % 2 ? posts.reverse() : posts) expect((await post()).status).toBe(201)
    }
    await inCalls(batched, 30, async ds => {
      const requests = [...metricsOf(ds).map(m => ['InferenceMetrics', m] as const), ...ds.map(d => ['RoutingDecisions', d] as const)]
        .map(([url, body], n) => ({ id: `r${n}`, atomicityGroup: 'g', method: 'POST', url, headers: { 'content-type': 'application/json' }, body }))
      const { status, data } = await POST('/odata/v4/router/$batch', { requests }, router)
      expect(status).toBe(200)
      expect(data.responses.map((r: { status: number }) => r.status)).toEqual(requests.map(() => 201))
    })
    for (let i = 0; i < sliding.length + 200; i += 200) await ingest({ decisions: sliding.slice(i, i + 200), metrics: metricsOf(sliding.slice(i - 200, i)) })
    await ingest({ metrics: strays })
    // re-sent batches store nothing and count nothing twice
    const again = await ingest({ decisions: part(2).slice(0, 300), metrics: metricsOf(part(0)).slice(0, 300) })
    expect(again).toMatchObject({ decisions: { accepted: 0, duplicates: 300 }, metrics: { accepted: 0, duplicates: 300 } })
  }, 300_000)

  let brute: BruteForce
  beforeAll(async () => { brute = await rawRows() })

  test('every record was stored once', () => {
    expect(brute.decisions).toHaveLength(decisions.length)
    expect(brute.metrics).toHaveLength(allMetrics.length)
  })

  // edges inside hours, of more and less than half an hour, within one hour, whole hours, past every decision, empty
  const windows: [string, string, string][] = [
    ['all the data', at(-1), at(31)],
    ['edges of 47 and 41 minutes', at(2, 13, 12.5), at(17, 41, 3.25)],
    ['edges of 12 and 9 minutes', at(4, 48), at(11, 9)],
    ['two partial hours', at(5, 50), at(6, 20)],
    ['most of one hour', at(7, 5, 30), at(7, 55)],
    ['10 minutes', at(8, 10), at(8, 20)],
    ['whole hours', at(3), at(9)],
    // the last partial hour, up to just after the latest decision, comes whole from the rollups
    ['up to just after the latest decision', at(20, 30), new Date(Date.parse(decisions.map(d => d.decidedAt).sort().at(-1)!) + 1).toISOString()],
  ]

  describe.each(windows)('%s', (_, from, to) => {
    test('strategyComparison equals brute force', async () => {
      const { rows } = brute.strategyComparison(from, to)
      expect(rows.length).toBeGreaterThan(2)
      expectRows(await call(`strategyComparison(from=${from},to=${to})`), rows)
    })

    test('scoreCalibration equals brute force, for all strategies and for each', async () => {
      const rows = brute.scoreCalibration(from, to)
      expect(rows.length).toBeGreaterThan(2)
      expectRows(await call(`scoreCalibration(from=${from},to=${to})`), rows)
      for (const strategy of ['optimal', 'greedy', 'fallback'])
        expectRows(await call(`scoreCalibration(from=${from},to=${to},strategy='${strategy}')`), brute.scoreCalibration(from, to, strategy))
    })

    test('candidateRegret equals brute force, with the default minRequests and others', async () => {
      expectRows(await call(`candidateRegret(from=${from},to=${to})`), brute.candidateRegret(from, to, 20))
      for (const minRequests of [1, 5, 60])
        expectRows(await call(`candidateRegret(from=${from},to=${to},minRequests=${minRequests})`), brute.candidateRegret(from, to, minRequests))
    })
  })

  test('the workload is skewed and the better strategy measurably so: optimal leads, greedy trails it with p < 0.01', async () => {
    const { rows, best } = brute.strategyComparison(at(-1), at(31))
    const served = await call(`strategyComparison(from=${at(-1)},to=${at(31)})`)
    expect(best).toBe('optimal')
    const row = (strategy: string) => served.find(r => r.strategy === strategy)!
    expect(row('optimal').pValueVsBest).toBeNull()
    expect(Number(row('greedy').successRateHigh)).toBeLessThan(Number(row('optimal').successRate))
    expect(Number(row('greedy').pValueVsBest)).toBeLessThan(0.01)
    expect(rows.find(r => r.strategy === 'greedy')!.requests).toBeGreaterThan(500)
    // greedy ignores better candidates far more often than optimal
    const regret = await call(`candidateRegret(from=${at(-1)},to=${at(31)})`)
    const of = (strategy: string) => regret.find(r => r.strategy === strategy)!
    expect(Number(of('greedy').betterAvailableRate)).toBeGreaterThan(Number(of('optimal').betterAvailableRate))
    expect(Number(of('greedy').successRegret)).toBeGreaterThan(3 * Number(of('optimal').successRegret))
    // and scores are calibrated: the high buckets succeed more often than the low ones
    const curve = await call(`scoreCalibration(from=${at(-1)},to=${at(31)})`)
    expect(Number(curve.at(-1)!.successRate)).toBeGreaterThan(Number(curve.find(r => Number(r.requests) > 50)!.successRate))
  })

  test('minRequests: a pair with exactly minRequests metrics is known, with one more required it is not', async () => {
    const from = at(2, 13, 12.5), to = at(17, 41, 3.25)
    const counts = new Map<string, number>()
    for (const m of brute.metrics.filter(m => m.recordedAt >= from && m.recordedAt < to)) counts.set(`${m.agent_ID}|${m.model_ID}`, (counts.get(`${m.agent_ID}|${m.model_ID}`) ?? 0) + 1)
    const sizes = [...new Set(counts.values())].sort((a, b) => a - b)
    const evaluated = (rows: Row[]) => rows.reduce((a, r) => a + Number(r.evaluated), 0)
    let lost = 0
    // at the request counts of actual pairs, and one above each
    for (const size of sizes.filter((_, i) => i % Math.ceil(sizes.length / 6) === 0)) {
      const atEdge = await call(`candidateRegret(from=${from},to=${to},minRequests=${size})`)
      const above = await call(`candidateRegret(from=${from},to=${to},minRequests=${size + 1})`)
      expectRows(atEdge, brute.candidateRegret(from, to, size))
      expectRows(above, brute.candidateRegret(from, to, size + 1))
      lost += evaluated(atEdge) - evaluated(above)
    }
    expect(lost).toBeGreaterThan(0)
    // more than any pair has: nothing is evaluated, and the rates are null
    const none = await call(`candidateRegret(from=${from},to=${to},minRequests=${sizes.at(-1)! + 1})`)
    expect(none.length).toBeGreaterThan(2)
    for (const row of none) expect(row).toMatchObject({ evaluated: 0, betterAvailable: 0, betterAvailableRate: null, successRegret: null, costSavingPerRequest: null })
  })

  test('an empty window and a window of no length answer no rows', async () => {
    for (const fn of ['strategyComparison', 'scoreCalibration', 'candidateRegret']) {
      expect(await call(`${fn}(from=2020-01-01T00:00:00Z,to=2020-01-02T00:00:00Z)`)).toEqual([])
      expect(await call(`${fn}(from=${at(7, 30)},to=${at(7, 30)})`)).toEqual([])
    }
  })

  test('bad parameters get 400 with a message, a user without the Analyst role 403', async () => {
    const bad = async (path: string, message: RegExp) => {
      const { status, data } = await q(path)
      expect([path, status]).toEqual([path, 400])
      expect(data.error.message).toMatch(message)
    }
    await bad(`strategyComparison(from=${at(9)},to=${at(3)})`, /starts .* after it ends/)
    await bad(`scoreCalibration(from=${at(9)},to=${at(3)})`, /starts .* after it ends/)
    await bad(`candidateRegret(from=${at(3)},to=${at(9)},minRequests=0)`, /minRequests/)
    await bad(`candidateRegret(from=${at(3)},to=${at(9)},minRequests=-5)`, /minRequests/)
    await bad(`scoreCalibration(from=${at(3)},to=${at(9)},strategy='clever')`, /allowed values: greedy, optimal/)
    expect((await q(`strategyComparison(from=yesterday,to=${at(9)})`)).status).toBe(400)
    expect((await q(`candidateRegret(from=${at(3)},to=${at(9)},minRequests=2.5)`)).status).toBe(400)
    expect((await q(`strategyComparison(to=${at(9)})`)).status).toBe(400)
    expect((await GET(`/odata/v4/analytics/strategyComparison(from=${at(3)},to=${at(9)})`, router)).status).toBe(403)
  })

  describe('ties', () => {
    // in a day of their own: strategies with equal success rates, and an agent whose candidates tie
    const day = Date.parse('2026-06-01T00:00:00.000Z'), t = (m: number) => new Date(day + m * MINUTE).toISOString()
    const from = t(0), to = t(24 * 60)
    const tied: { decisions: object[]; metrics: object[] } = { decisions: [], metrics: [] }
    const tie = (model_ID: string, o: object) => aMetric({ agent_ID: 'tie-agent', model_ID, cost: 0.1, inputTokens: 0, outputTokens: 0, ...o })
    /** `requests` decisions of a strategy for tie-a, half of them successful, among the candidates given. */
    const decide = (strategy: string, requests: number, minute: number, candidates = ['tie-a', 'tie-b', 'tie-c']) => {
      for (let i = 0; i < requests; i++) {
        const d = aDecision({ agent_ID: 'tie-agent', model_ID: 'tie-a', strategy, decidedAt: t(minute + i), candidates: candidates.map((model_ID, r) => ({ model_ID, rank: r + 1 })) })
        tied.decisions.push(d)
        tied.metrics.push(tie('tie-a', { decision_ID: d.ID, success: i % 2 === 0, recordedAt: t(minute + i) }))
      }
    }
    beforeAll(async () => {
      decide('manual', 10, 0, ['tie-a', 'tie-b'])
      decide('balanced', 10, 30)
      decide('fallback', 20, 60)
      decide('optimal', 12, 120)
      // tie-a: 52 metrics, S 0.5, C 0.1; tie-b the same S and C; tie-c the same S, C 0.05
      for (let i = 0; i < 20; i++) {
        tied.metrics.push(tie('tie-b', { success: i % 2 === 0, recordedAt: t(200 + i) }))
        tied.metrics.push(tie('tie-c', { success: i % 2 === 0, recordedAt: t(200 + i), cost: 0.05 }))
      }
      await ingest(tied)
    })

    test('equal success rates: the best is the one with more requests, then the first by name', async () => {
      const served = await call(`strategyComparison(from=${from},to=${to})`)
      expect(served.map(r => [r.strategy, r.successRate, r.pValueVsBest])).toEqual([
        ['balanced', 0.5, 1], ['fallback', 0.5, null], ['manual', 0.5, 1], ['optimal', 0.5, 1],
      ])
      expectRows(served, (await rawRows()).strategyComparison(from, to).rows)
      // manual and balanced alone: equal rates and requests, so balanced, the first by name, is the best
      const early = await call(`strategyComparison(from=${t(0)},to=${t(59)})`)
      expect(early.map(r => [r.strategy, r.pValueVsBest])).toEqual([['balanced', null], ['manual', 1]])
    })

    test('equal S and C: the chosen model stays the best; an equally good cheaper one is better and the cheapest adequate', async () => {
      const served = await call(`candidateRegret(from=${from},to=${to})`)
      const row = (strategy: string) => served.find(r => r.strategy === strategy)
      // manual weighed tie-a and tie-b only, which tie: no better candidate
      expect(row('manual')).toMatchObject({ decisions: 10, evaluated: 10, betterAvailable: 0, betterAvailableRate: 0, successRegret: 0, costSavingPerRequest: 0 })
      expect(row('fallback')).toMatchObject({ decisions: 20, evaluated: 20, betterAvailable: 20, betterAvailableRate: 1, successRegret: 0 })
      expect(Number(row('fallback')!.costSavingPerRequest)).toBeCloseTo(0.05, 12)
      expectRows(served, (await rawRows()).candidateRegret(from, to))
    })
  })

  describe('retention', () => {
    const cutoff = at(10)
    beforeAll(async () => {
      // a metric recorded before the cutoff whose decision lies after it (clocks differ): purge takes it out of that decision's hour
      const late = aDecision({ agent_ID: DEFAULT_AGENTS[0], strategy: 'greedy', decidedAt: at(10, 30) })
      await ingest({ decisions: [late], metrics: [aMetric({ decision_ID: late.ID, agent_ID: DEFAULT_AGENTS[0], recordedAt: at(9, 59), latencyMs: 77_777 })] })
      const { status } = await POST('/odata/v4/admin/purge', { before: at(10, 20) }, admin)
      expect(status).toBe(200)
      brute = await rawRows()
      expect(brute.decisions.every(d => d.decidedAt >= cutoff)).toBe(true)
      expect(brute.metrics.every(m => m.recordedAt >= cutoff)).toBe(true)
    })

    test.each([
      ['across the cutoff', at(8, 40), at(12, 25)],
      ['the hour after the cutoff', at(10), at(11)],
      ['all', at(-1), at(31)],
    ])('%s: every function equals brute force over what is kept', async (_, from, to) => {
      expectRows(await call(`strategyComparison(from=${from},to=${to})`), brute.strategyComparison(from, to).rows)
      expectRows(await call(`scoreCalibration(from=${from},to=${to})`), brute.scoreCalibration(from, to))
      expectRows(await call(`candidateRegret(from=${from},to=${to})`), brute.candidateRegret(from, to))
    })
  })
})
