import type { Metric } from '../tools/workload'

/** Exact figures of a set of metrics, computed by brute force. */
export function expected(metrics: Metric[]) {
  const latencies = metrics.map(m => m.latencyMs).sort((a, b) => a - b)
  const rank = (q: number) => latencies[Math.max(1, Math.ceil(q * latencies.length)) - 1]
  const successes = metrics.filter(m => m.success).length
  return {
    requests: metrics.length, successes, failures: metrics.length - successes,
    successRate: successes / metrics.length,
    avgLatencyMs: latencies.reduce((a, b) => a + b, 0) / metrics.length,
    p50LatencyMs: rank(0.5), p95LatencyMs: rank(0.95), p99LatencyMs: rank(0.99),
    inputTokens: metrics.reduce((a, m) => a + m.inputTokens, 0),
    outputTokens: metrics.reduce((a, m) => a + m.outputTokens, 0),
  }
}

export const groupBy = <T>(rows: T[], key: (row: T) => string) => {
  const groups = new Map<string, T[]>()
  for (const row of rows) groups.set(key(row), [...(groups.get(key(row)) ?? []), row])
  return groups
}

/** Compares a served row to brute force: counts exact, means to 1e-9 relative, percentiles within 1%. */
export function expectFigures(served: Record<string, unknown>, exact: ReturnType<typeof expected>, fields = Object.keys(exact)) {
  for (const field of fields) {
    const want = exact[field as keyof typeof exact], got = Number(served[field])
    if (/^p\d\d/.test(field)) expect(Math.abs(got - want) / want).toBeLessThanOrEqual(0.01)
    else if (/Rate|avg/.test(field)) expect(Math.abs(got - want)).toBeLessThanOrEqual(1e-9 * Math.abs(want))
    else expect(got).toBe(want)
  }
}


/**
 * Compares the rows of a window (`performance()`) with brute force over the metrics in it: one row per
 * group of `key` (`agent_ID|model_ID`, empty where the grouping leaves one out), every figure and the cost.
 */
export function expectWindow(rows: Record<string, unknown>[], metrics: Metric[], from: string, to: string,
  key: (m: Metric) => string, costOf: (ms: Metric[]) => number) {
  const groups = groupBy(metrics.filter(m => m.recordedAt >= from && m.recordedAt < to), key)
  expect(rows).toHaveLength(groups.size)
  for (const row of rows) {
    const ms = groups.get(`${row.agent_ID ?? ''}|${row.model_ID ?? ''}`)!
    expectFigures(row, expected(ms))
    expect(Number(row.cost)).toBeCloseTo(costOf(ms), 6)
  }
}

/** The key of a metric's group in a window grouped by model, agent, pair or not at all, as `expectWindow` takes it. */
export const groupKeys = {
  model: (m: Metric) => `|${m.model_ID}`,
  agent: (m: Metric) => `${m.agent_ID}|`,
  pair: (m: Metric) => `${m.agent_ID}|${m.model_ID}`,
  none: () => '|',
}
