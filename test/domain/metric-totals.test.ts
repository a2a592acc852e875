import { MetricTotals, groupingOf, hourOf, roundUSD, ALL, type MetricFacts } from '../../srv/domain/metric-totals'
import { costOf } from '../../srv/domain/pricing'
import { random } from '../../tools/workload'

const metric = (latencyMs: number, success: boolean, cost = 0.001): MetricFacts =>
  ({ agent_ID: 'a', model_ID: 'm', latencyMs, success, inputTokens: 100, outputTokens: 50, cost, recordedAt: '2026-01-01T00:30:00.000Z' })

describe('MetricTotals', () => {
  const rnd = random(3)
  const metrics = Array.from({ length: 500 }, () => metric(Math.round(rnd() * 5000), rnd() < 0.8, Math.round(rnd() * 1e4) / 1e6))

  test('adds up counts, sums and rates as brute force does', () => {
    const t = new MetricTotals()
    for (const m of metrics) t.add(m)
    const successes = metrics.filter(m => m.success).length
    expect(t.requests).toBe(500)
    expect(t.successes).toBe(successes)
    expect(t.failures).toBe(500 - successes)
    expect(t.successRate).toBeCloseTo(successes / 500, 12)
    expect(t.avgLatencyMs).toBeCloseTo(metrics.reduce((s, m) => s + m.latencyMs, 0) / 500, 9)
    expect(t.inputTokens).toBe(50_000)
    expect(t.cost).toBeCloseTo(metrics.reduce((s, m) => s + m.cost, 0), 9)
  })

  test('merging parts equals adding all; taking a part away leaves the rest, in every stored form', () => {
    const [a, b] = [new MetricTotals(), new MetricTotals()]
    metrics.forEach((m, i) => (i % 3 ? a : b).add(m))
    const all = new MetricTotals()
    for (const m of metrics) all.add(m)
    expect(MetricTotals.of(a.toRow()).merge(b).toRow()).toEqual(all.toRow())
    expect(new MetricTotals().mergeJSON(all.toJSON()).merge(b, -1).toRow()).toEqual(a.toRow())
    // edge rollups written by earlier versions hold the sketch as an array of integers
    const earlier = all.toJSON()
    earlier[7] = all.sketch.toJSON()
    expect(new MetricTotals().mergeJSON(earlier).toRow()).toEqual(all.toRow())
    expect(all.merge(a, -1).merge(b, -1).requests).toBe(0)
  })

  test('an empty total has no rates, where a zero would be a lie', () => {
    expect(new MetricTotals().successRate).toBeNull()
    expect(new MetricTotals().avgLatencyMs).toBeNull()
  })
})

test('hours, groupings and USD as the rollups store them', () => {
  expect(hourOf('2026-01-01T10:59:59.999Z')).toBe('2026-01-01T10:00:00.000Z')
  expect([groupingOf('a', 'm'), groupingOf(ALL, 'm'), groupingOf('a', ALL), groupingOf(ALL, ALL)]).toEqual(['pair', 'model', 'agent', 'none'])
  expect(roundUSD(0.1 + 0.2)).toBe(0.3)
  // 1,000 input tokens at 3 USD and 500 output tokens at 15 USD per million
  expect(costOf(1000, 500, 3, 15)).toBe(0.0105)
})
