import { analyst } from './support'
import { normalUpperTail } from '../srv/domain/routing-quality'

/** A decision and a metric as read back through OData: the raw rows the brute force counts. */
export interface DecisionRow { ID: string; agent_ID: string; model_ID: string; strategy: string; score: number | null; fallback: boolean; decidedAt: string; candidates: { model_ID: string }[] }
export interface MetricRow { ID: string; decision_ID: string | null; agent_ID: string; model_ID: string; latencyMs: number; success: boolean; cost: string; recordedAt: string }
export type Row = Record<string, number | string | null>

const rate = (x: number, n: number) => n ? x / n : null
const nearestRank = (values: number[], q: number) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.max(1, Math.ceil(q * sorted.length)) - 1]
}
/** Costs in whole units of 1e-10 USD, as Decimal(20, 10) stores them: sums and comparisons exact. */
const units = (cost: string | number) => BigInt(Math.round(Number(cost) * 1e10))
const sumCost = (ms: MetricRow[]) => ms.reduce((a, m) => a + Number(m.cost), 0)

/** Brute force over the raw rows: every figure of API.md's "Routing quality", computed anew. */
export class BruteForce {
  readonly decisions: DecisionRow[]
  readonly metrics: MetricRow[]
  constructor(decisions: DecisionRow[], metrics: MetricRow[]) { this.decisions = decisions; this.metrics = metrics }

  private decided(from: string, to: string) {
    const ds = this.decisions.filter(d => d.decidedAt >= from && d.decidedAt < to)
    const ids = new Set(ds.map(d => d.ID))
    const metricsOf = new Map<string, MetricRow[]>()
    for (const m of this.metrics) if (m.decision_ID && ids.has(m.decision_ID)) metricsOf.set(m.decision_ID, [...metricsOf.get(m.decision_ID) ?? [], m])
    return { ds, metricsOf: (d: DecisionRow) => metricsOf.get(d.ID) ?? [] }
  }

  strategyComparison(from: string, to: string) {
    const { ds, metricsOf } = this.decided(from, to)
    const rows = [...new Set(ds.map(d => d.strategy))].sort().map(strategy => {
      const mine = ds.filter(d => d.strategy === strategy), ms = mine.flatMap(metricsOf)
      const n = ms.length, x = ms.filter(m => m.success).length, z = 1.959964
      const p = x / n, centre = (p + z * z / (2 * n)) / (1 + z * z / n), half = z / (1 + z * z / n) * Math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
      return {
        strategy, decisions: mine.length, fallbacks: mine.filter(d => d.fallback).length, requests: n, successes: x,
        successRate: rate(x, n), successRateLow: n ? centre - half : null, successRateHigh: n ? centre + half : null,
        avgLatencyMs: rate(ms.reduce((a, m) => a + m.latencyMs, 0), n), p95LatencyMs: n ? nearestRank(ms.map(m => m.latencyMs), 0.95) : null,
        costPerRequest: rate(sumCost(ms), n), pValueVsBest: null as number | null,
      }
    })
    const ranked = rows.filter(r => r.requests).sort((a, b) =>
      b.successes * a.requests - a.successes * b.requests || b.requests - a.requests || (a.strategy < b.strategy ? -1 : 1))
    const best = ranked[0]
    for (const r of rows) {
      if (!best || r === best || !r.requests) continue
      const pooled = (r.successes + best.successes) / (r.requests + best.requests)
      const se = Math.sqrt(pooled * (1 - pooled) * (1 / r.requests + 1 / best.requests))
      r.pValueVsBest = se === 0 ? 1 : 2 * normalUpperTail(Math.abs(r.successes / r.requests - best.successes / best.requests) / se)
    }
    return { rows, best: best?.strategy }
  }

  scoreCalibration(from: string, to: string, strategy?: string) {
    const { ds, metricsOf } = this.decided(from, to)
    const scored = ds.filter(d => d.score != null && (!strategy || d.strategy === strategy))
    const buckets = [...new Set(scored.map(d => Math.min(9, Math.floor(10 * d.score!))))].sort((a, b) => a - b)
    return buckets.map(bucket => {
      const mine = scored.filter(d => Math.min(9, Math.floor(10 * d.score!)) === bucket), ms = mine.flatMap(metricsOf)
      return {
        bucket, scoreFrom: bucket / 10, scoreTo: (bucket + 1) / 10, decisions: mine.length, meanScore: mine.reduce((a, d) => a + d.score!, 0) / mine.length,
        requests: ms.length, successes: ms.filter(m => m.success).length, successRate: rate(ms.filter(m => m.success).length, ms.length),
        avgLatencyMs: rate(ms.reduce((a, m) => a + m.latencyMs, 0), ms.length), costPerRequest: rate(sumCost(ms), ms.length),
      }
    })
  }

  candidateRegret(from: string, to: string, minRequests = 20) {
    const pairs = new Map<string, { n: number; x: number; cost: bigint; usd: number }>()
    for (const m of this.metrics.filter(m => m.recordedAt >= from && m.recordedAt < to)) {
      const key = `${m.agent_ID}|${m.model_ID}`, p = pairs.get(key) ?? { n: 0, x: 0, cost: 0n, usd: 0 }
      p.n++; if (m.success) p.x++
      p.cost += units(m.cost); p.usd += Number(m.cost)
      pairs.set(key, p)
    }
    const S = (p: { n: number; x: number }) => p.x / p.n, C = (p: { n: number; usd: number }) => p.usd / p.n
    const { ds } = this.decided(from, to)
    return [...new Set(ds.map(d => d.strategy))].sort().map(strategy => {
      let evaluated = 0, betterAvailable = 0, regret = 0, saving = 0
      const mine = ds.filter(d => d.strategy === strategy)
      for (const d of mine) {
        const known = (model: string) => { const p = pairs.get(`${d.agent_ID}|${model}`); return p && p.n >= minRequests ? p : undefined }
        const chosen = known(d.model_ID)
        const candidates = [...new Set([d.model_ID, ...d.candidates.map(c => c.model_ID)])].filter(known)
        if (!chosen || candidates.length < 2) continue
        evaluated++
        // S higher; then C lower; then the chosen model; then the smallest model_ID, all exactly
        const before = (a: string, b: string) => {
          const pa = known(a)!, pb = known(b)!
          const bySuccess = BigInt(pb.x * pa.n - pa.x * pb.n), byCost = pa.cost * BigInt(pb.n) - pb.cost * BigInt(pa.n)
          if (bySuccess !== 0n) return bySuccess < 0n ? -1 : 1
          if (byCost !== 0n) return byCost < 0n ? -1 : 1
          return a === d.model_ID ? -1 : b === d.model_ID ? 1 : a < b ? -1 : 1
        }
        const best = [...candidates].sort(before)[0]
        const adequate = candidates.filter(m => BigInt(known(m)!.x * chosen.n - chosen.x * known(m)!.n) >= 0n)
        const cheapest = adequate.sort((a, b) => { const pa = known(a)!, pb = known(b)!, c = pa.cost * BigInt(pb.n) - pb.cost * BigInt(pa.n); return c < 0n ? -1 : c > 0n ? 1 : 0 })[0]
        if (best !== d.model_ID) betterAvailable++
        regret += S(known(best)!) - S(chosen)
        saving += C(chosen) - C(known(cheapest)!)
      }
      return {
        strategy, decisions: mine.length, evaluated, betterAvailable, betterAvailableRate: rate(betterAvailable, evaluated),
        successRegret: rate(regret, evaluated), costSavingPerRequest: rate(saving, evaluated),
      }
    })
  }
}

/** Served rows equal brute force: counts exactly, rates and means to 1e-9, p95 within 1% of nearest rank, p-values to 1e-9 relative. */
export function expectRows(served: Row[], exact: Record<string, unknown>[]) {
  expect(served.map(r => r.strategy ?? r.bucket)).toEqual(exact.map(r => r.strategy ?? r.bucket))
  served.forEach((row, i) => {
    const wrong: Record<string, unknown> = {}
    for (const [field, want] of Object.entries(exact[i])) {
      const got = row[field], diff = Math.abs(Number(got) - Number(want))
      const ok = want === null || typeof want === 'string' ? got === want
        : got === null ? false
          : field === 'p95LatencyMs' ? diff <= 0.01 * Number(want)
            : field === 'pValueVsBest' ? diff <= 1e-9 * Number(want) + 1e-15
              : diff <= 1e-9 * Math.max(1, Math.abs(Number(want)))
      if (!ok) wrong[field] = { got, want }
    }
    expect({ row: row.strategy ?? row.bucket, wrong }).toEqual({ row: row.strategy ?? row.bucket, wrong: {} })
  })
}

type GET = (url: string, options: object) => Promise<{ status: number; data: any }> // eslint-disable-line @typescript-eslint/no-explicit-any

/** Reads of the routing-quality tests: the functions' rows, and the raw rows for the brute force. */
export function qualityReads(GET: GET) {
  /** All rows of a read, following @odata.nextLink. */
  const all = async <T>(path: string): Promise<T[]> => {
    const rows: T[] = []
    for (let url: string | undefined = `/odata/v4/analytics/${path}`; url;) {
      const { status, data }: { status: number; data: { value: T[]; '@odata.nextLink'?: string } } = await GET(url, analyst)
      expect([url, status]).toEqual([url, 200])
      rows.push(...data.value)
      url = data['@odata.nextLink'] && `/odata/v4/analytics/${data['@odata.nextLink']}`
    }
    return rows
  }
  return {
    /** The raw rows as stored, through OData. */
    rawRows: async () => new BruteForce(
      await all<DecisionRow>('RoutingDecisions?$select=ID,agent_ID,model_ID,strategy,score,fallback,decidedAt&$expand=candidates($select=model_ID)'),
      await all<MetricRow>('InferenceMetrics?$select=ID,decision_ID,agent_ID,model_ID,latencyMs,success,cost,recordedAt'),
    ),
    /** The rows of a function call, which must answer 200. */
    call: async (fn: string) => {
      const { status, data } = await GET(`/odata/v4/analytics/${fn}`, analyst)
      expect([fn, status, data.error?.message]).toEqual([fn, 200, undefined])
      return data.value as Row[]
    },
  }
}
