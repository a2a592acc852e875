/**
 * A mergeable latency sketch in the manner of DDSketch: values fall into logarithmically
 * spaced buckets, so any quantile read back is within RELATIVE_ACCURACY of the exact
 * nearest-rank value, and sketches of any hours or pairs merge by adding bucket counts.
 */
export const RELATIVE_ACCURACY = 0.005
const GAMMA = (1 + RELATIVE_ACCURACY) / (1 - RELATIVE_ACCURACY)
const LOG_GAMMA = Math.log(GAMMA)

/**
 * The stored form, a JSON array of integers: the count of zero latencies, then for each occupied
 * bucket in ascending order its distance from the previous one (the first: its index) and its count.
 * Rollups are written on every ingest call; small-integer arrays are what JSON.parse reads fastest,
 * and the distances keep the text short.
 */
type SketchJSON = number[]

export class LatencySketch {
  private zeros = 0
  private readonly buckets = new Map<number, number>()
  count = 0

  static parse(json: string | null | undefined): LatencySketch {
    const sketch = new LatencySketch()
    if (!json) return sketch
    const stored = JSON.parse(json) as SketchJSON
    sketch.zeros = sketch.count = stored[0]
    for (let i = 1, index = 0; i < stored.length; i += 2) {
      index += stored[i]
      sketch.buckets.set(index, stored[i + 1])
      sketch.count += stored[i + 1]
    }
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
    const stored = [this.zeros]
    let previous = 0
    for (const index of [...this.buckets.keys()].sort((x, y) => x - y)) {
      stored.push(index - previous, this.buckets.get(index)!)
      previous = index
    }
    return stored
  }

  stringify(): string {
    return JSON.stringify(this.toJSON())
  }
}
