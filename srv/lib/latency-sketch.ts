/**
 * A mergeable latency sketch in the manner of DDSketch: values fall into logarithmically
 * spaced buckets, so any quantile read back is within RELATIVE_ACCURACY of the exact
 * nearest-rank value, and sketches of any hours or pairs merge by adding bucket counts.
 */
export const RELATIVE_ACCURACY = 0.005
const GAMMA = (1 + RELATIVE_ACCURACY) / (1 - RELATIVE_ACCURACY)
const LOG_GAMMA = Math.log(GAMMA)

/** The JSON form stored in the rollup tables: `z` counts zero latencies, `b` maps bucket index to count. */
interface SketchJSON { z?: number; b: Record<string, number> }

export class LatencySketch {
  private zeros = 0
  private readonly buckets = new Map<number, number>()
  count = 0

  static parse(json: string | null | undefined): LatencySketch {
    const sketch = new LatencySketch()
    if (json) sketch.mergeJSON(JSON.parse(json) as SketchJSON)
    return sketch
  }

  add(latencyMs: number, times = 1): this {
    if (latencyMs <= 0) this.zeros += times
    else {
      const index = Math.ceil(Math.log(latencyMs) / LOG_GAMMA)
      this.buckets.set(index, (this.buckets.get(index) ?? 0) + times)
    }
    this.count += times
    return this
  }

  /** Adds the other sketch's counts; with sign -1 takes away a sketch merged in before. */
  merge(other: LatencySketch, sign: 1 | -1 = 1): this {
    this.zeros += sign * other.zeros
    for (const [index, n] of other.buckets) {
      const left = (this.buckets.get(index) ?? 0) + sign * n
      if (left) this.buckets.set(index, left); else this.buckets.delete(index)
    }
    this.count += sign * other.count
    return this
  }

  /** Merges a stored sketch without building an intermediate object. */
  mergeJSON(json: SketchJSON): this {
    const zeros = json.z ?? 0
    this.zeros += zeros
    this.count += zeros
    for (const key in json.b) {
      const index = Number(key), n = json.b[key]
      this.buckets.set(index, (this.buckets.get(index) ?? 0) + n)
      this.count += n
    }
    return this
  }

  /** The nearest-rank quantile (q in 0..1): the value at rank ceil(q·n), within the relative accuracy. */
  quantile(q: number): number | null {
    return this.quantiles([q])[0]
  }

  /** Several quantiles, in ascending order of q, in one pass over the sorted buckets. */
  quantiles(qs: number[]): (number | null)[] {
    if (this.count === 0) return qs.map(() => null)
    const ranks = qs.map(q => Math.max(1, Math.ceil(q * this.count)))
    const found: (number | null)[] = ranks.map(rank => rank <= this.zeros ? 0 : null)
    let seen = this.zeros, next = found.findIndex(v => v === null)
    if (next < 0) return found
    for (const index of [...this.buckets.keys()].sort((a, b) => a - b)) {
      seen += this.buckets.get(index)!
      while (next < ranks.length && seen >= ranks[next]) found[next++] = (2 * GAMMA ** index) / (GAMMA + 1)
      if (next === ranks.length) break
    }
    return found
  }

  toJSON(): SketchJSON {
    const b: Record<string, number> = {}
    for (const [index, n] of this.buckets) b[index] = n
    return this.zeros ? { z: this.zeros, b } : { b }
  }

  stringify(): string {
    return JSON.stringify(this.toJSON())
  }
}
