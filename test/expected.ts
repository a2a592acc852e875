import type { Metric } from '../srv/lib/workload'

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

