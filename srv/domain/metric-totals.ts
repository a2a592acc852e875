import { LatencySketch } from './latency-sketch.ts'

/** The fields of a stored metric that the rollups add up. */
export interface MetricFacts {
  agent_ID: string; model_ID: string; latencyMs: number; success: boolean
  inputTokens: number; outputTokens: number; cost: number; recordedAt: string
}
/** The fields of a stored decision that the rollups count. */
export interface DecisionFacts {
  agent_ID: string; model_ID: string; strategy: string; score?: number | null; fallback: boolean; decidedAt: string
}

/**
 * Stands for all agents or all models in hourly and minute rollups: besides its pair's row, every
 * record counts in its model's, its agent's and the everything row of its hour and minute, so that
 * windows grouped by model, by agent or not at all read a few rows a period instead of one per pair.
 */
export const ALL = '*'

export const GROUPINGS = ['model', 'agent', 'pair', 'none'] as const
export type Grouping = typeof GROUPINGS[number]

/** The grouping whose rows have this agent and model, '*' where it leaves one out. */
export const groupingOf = (agent_ID: string, model_ID: string): Grouping =>
  agent_ID === ALL ? model_ID === ALL ? 'none' : 'model' : model_ID === ALL ? 'agent' : 'pair'

export const HOUR = 3600_000

/**
 * The periods at the edges of windows (EdgeRollups), longest first: of each 10 minutes and each minute
 * the totals of every group, of each 10 seconds per pair the latencies themselves, which cost a write
 * less than totals and sketches of a few records each, and a read of a few seconds hardly more. The
 * 10 minutes keep an edge of up to half an hour from reading a minute row for each of its minutes:
 * at 60,000 records an hour a minute's row of pairs is about 9 kB of JSON, a 10 minutes' row 27 kB.
 */
export const EDGE_SECONDS = [600, 60, 10]

/** The UTC hour a timestamp falls in, as the ISO string CAP stores. */
export const hourOf = (timestamp: string | Date): string =>
  new Date(Math.floor(new Date(timestamp).getTime() / HOUR) * HOUR).toISOString()

/** Additive figures of a set of metrics, as stored in the rollup tables (aspect MetricTotals). */
export class MetricTotals {
  requests = 0; successes = 0; failures = 0; latencySumMs = 0
  inputTokens = 0; outputTokens = 0; cost = 0
  sketch = new LatencySketch()

  /** Reads a rollup row; Integer64 and Decimal columns may come back as strings. */
  static of(row: Record<string, unknown>): MetricTotals {
    return new MetricTotals().mergeRow(row)
  }

  /** As `merge`, with a rollup row, without reading it into totals of its own first. */
  mergeRow(row: Record<string, unknown>, sign: 1 | -1 = 1): this {
    this.requests += sign * Number(row.requests ?? 0); this.successes += sign * Number(row.successes ?? 0); this.failures += sign * Number(row.failures ?? 0)
    this.latencySumMs += sign * Number(row.latencySumMs ?? 0)
    this.inputTokens += sign * Number(row.inputTokens ?? 0); this.outputTokens += sign * Number(row.outputTokens ?? 0)
    this.cost += sign * Number(row.cost ?? 0)
    this.sketch.mergeText(row.latencySketch as string | null, sign)
    return this
  }

  /** Adds a metric; with sign -1 takes away one added before. */
  add(m: Pick<MetricFacts, 'success' | 'latencyMs' | 'inputTokens' | 'outputTokens' | 'cost'>, sign: 1 | -1 = 1): this {
    this.requests += sign
    if (m.success) this.successes += sign; else this.failures += sign
    this.latencySumMs += sign * m.latencyMs
    this.inputTokens += sign * m.inputTokens; this.outputTokens += sign * m.outputTokens
    this.cost += sign * m.cost
    this.sketch.add(m.latencyMs, sign)
    return this
  }

  /** Adds the other totals; with sign -1 takes away totals merged in before (retention). */
  merge(t: MetricTotals, sign: 1 | -1 = 1): this {
    this.requests += sign * t.requests; this.successes += sign * t.successes; this.failures += sign * t.failures
    this.latencySumMs += sign * t.latencySumMs
    this.inputTokens += sign * t.inputTokens; this.outputTokens += sign * t.outputTokens
    this.cost += sign * t.cost
    this.sketch.merge(t.sketch, sign)
    return this
  }

  /** The form of totals in EdgeRollups' groups: the counts and sums, then the sketch in its compact form. */
  toJSON(): TotalsJSON {
    const { requests, successes, failures, latencySumMs, inputTokens, outputTokens } = this
    return [requests, successes, failures, latencySumMs, inputTokens, outputTokens, roundUSD(this.cost), this.sketch.toCompact()]
  }

  /** As `merge`, with a pair of 10 seconds in its EdgeRollups form. */
  mergeSeconds([, , , successes, failures, inputTokens, outputTokens, cost, latencies]: SecondsPairJSON, sign: 1 | -1 = 1): this {
    this.requests += sign * (successes + failures); this.successes += sign * successes; this.failures += sign * failures
    this.inputTokens += sign * inputTokens; this.outputTokens += sign * outputTokens
    this.cost += sign * cost
    for (const latencyMs of latencies) {
      this.latencySumMs += sign * latencyMs
      this.sketch.add(latencyMs, sign)
    }
    return this
  }

  /** As `merge`, with totals in their EdgeRollups form, without reading them into totals of their own first. */
  mergeJSON([requests, successes, failures, latencySumMs, inputTokens, outputTokens, cost, sketch]: TotalsJSON, sign: 1 | -1 = 1): this {
    this.requests += sign * requests; this.successes += sign * successes; this.failures += sign * failures
    this.latencySumMs += sign * latencySumMs
    this.inputTokens += sign * inputTokens; this.outputTokens += sign * outputTokens
    this.cost += sign * cost
    this.sketch.mergeStored(sketch, sign)
    return this
  }

  get successRate() { return this.requests ? this.successes / this.requests : null }
  get avgLatencyMs() { return this.requests ? this.latencySumMs / this.requests : null }

  toRow() {
    const { requests, successes, failures, latencySumMs, inputTokens, outputTokens } = this
    return { requests, successes, failures, latencySumMs, inputTokens, outputTokens, cost: roundUSD(this.cost), latencySketch: this.sketch.toCompact() }
  }

  percentiles() {
    const [p50LatencyMs, p95LatencyMs, p99LatencyMs] = this.sketch.quantiles([0.5, 0.95, 0.99])
    return { p50LatencyMs, p95LatencyMs, p99LatencyMs }
  }
}

/** The sketch is in its compact form; rows written by earlier versions hold it as an array of integers. */
export type TotalsJSON = [number, number, number, number, number, number, number, string | number[]]

/** A group of a 10 minutes' or a minute's EdgeRollups row: agent and model ('*' where the grouping leaves one out), decisions, totals. */
export type MinuteGroupJSON = [string, string, number, TotalsJSON]
/** A pair of a 10-second EdgeRollups row: agent, model, decisions, successes, failures, inputTokens, outputTokens, cost, and the latencies themselves. */
export type SecondsPairJSON = [string, string, number, number, number, number, number, number, number[]]

export const roundUSD = (usd: number) => Math.round(usd * 1e10) / 1e10
