/**
 * A mergeable latency sketch in the manner of DDSketch: values fall into logarithmically
 * spaced buckets, so any quantile read back is within RELATIVE_ACCURACY of the exact
 * nearest-rank value, and sketches of any hours or pairs merge by adding bucket counts.
 */
export const RELATIVE_ACCURACY = 0.005
const GAMMA = (1 + RELATIVE_ACCURACY) / (1 - RELATIVE_ACCURACY)
const LOG_GAMMA = Math.log(GAMMA)

/**
 * The sketch as integers: the count of zero latencies, then for each occupied bucket in ascending
 * order its distance from the previous one (the first: its index) and its count. Rows of earlier
 * versions hold it as a JSON array, which still reads.
 */
type SketchJSON = number[]

/**
 * The stored form, in the rollup rows' `latencySketch` and inside the edge and quality rollups' JSON,
 * which every ingest call writes and windows read by the hundred: those integers, each zigzag-coded
 * (0, -1, 1, -2… as 0, 1, 2, 3…) and written as digits of 5 bits, lowest first, a digit with more to
 * follow offset by 32, in 64 characters that JSON needs no escapes for. Bucket distances and counts
 * are mostly below 16, so most take one character where JSON takes two or more (half the text to
 * write), and reading them is a loop over characters, not JSON's parse of numbers into an array.
 */
const DIGITS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
const DIGIT_VALUES = new Uint8Array(128)
for (let i = 0; i < DIGITS.length; i++) DIGIT_VALUES[DIGITS.charCodeAt(i)] = i
const DIGIT_CODES = Uint8Array.from(DIGITS, c => c.charCodeAt(0))
/** Where toCompact writes its characters before they become one string (grown as needed; one per thread). */
let written = Buffer.allocUnsafe(4096)
/** The form of earlier versions: `z` counts zero latencies, `b` maps bucket index to count (any order). */
interface EarlierSketchJSON { z?: number; b: Record<string, number> }

export class LatencySketch {
  private zeros = 0
  /**
   * `counts[i]` counts bucket `offset + i`. A dense array rather than a map: the buckets of real
   * latencies span a few hundred indexes, and merging, storing and reading quantiles then walk
   * them in order without hashing or sorting.
   */
  private counts: number[] = []
  private offset = 0
  count = 0

  /** Reads the stored form, or a form of earlier versions (JSON text, or parsed inside a larger JSON document). */
  static parse(json: string | SketchJSON | null | undefined): LatencySketch {
    return new LatencySketch().mergeText(json)
  }

  /** As `merge`, with a sketch in its stored form or a form of earlier versions; nothing for none. */
  mergeText(json: string | SketchJSON | null | undefined, sign: 1 | -1 = 1): this {
    if (!json) return this
    // no digit is a bracket or a brace: those open the JSON of earlier versions
    if (typeof json === 'string' && json[0] !== '[' && json[0] !== '{') return this.mergeCompact(json, sign)
    const stored = typeof json === 'string' ? JSON.parse(json) as SketchJSON | EarlierSketchJSON : json
    if (Array.isArray(stored)) return this.mergeStored(stored, sign)
    // written by an earlier version: still in databases made then
    this.zeros += sign * (stored.z ?? 0)
    this.count += sign * (stored.z ?? 0)
    for (const index in stored.b) this.addToBucket(Number(index), sign * stored.b[index])
    return this
  }

  /** As `merge`, with a sketch in its stored or compact form, without reading it into a sketch of its own first. */
  mergeStored(stored: SketchJSON | string, sign: 1 | -1 = 1): this {
    if (typeof stored === 'string') return this.mergeCompact(stored, sign)
    this.zeros += sign * stored[0]
    this.count += sign * stored[0]
    for (let i = 1, index = 0; i < stored.length; i += 2) this.addToBucket(index += stored[i], sign * stored[i + 1])
    return this
  }

  private mergeCompact(text: string, sign: 1 | -1) {
    // the integers in turn: zeros, then the distance to each occupied bucket and its count
    let value = 0, scale = 1, position = 0, index = 0
    for (let i = 0; i < text.length; i++) {
      const digit = DIGIT_VALUES[text.charCodeAt(i)]
      value += (digit & 31) * scale
      if (digit & 32) { scale *= 32; continue }
      const n = value % 2 ? -(value + 1) / 2 : value / 2
      if (!position) { this.zeros += sign * n; this.count += sign * n }
      else if (position % 2) index += n
      else this.addToBucket(index, sign * n)
      position++
      value = 0; scale = 1
    }
    return this
  }

  add(latencyMs: number, times = 1): this {
    if (latencyMs <= 0) { this.zeros += times; this.count += times }
    else this.addToBucket(Math.ceil(Math.log(latencyMs) / LOG_GAMMA), times)
    return this
  }

  /** Adds the other sketch's counts; with sign -1 takes away a sketch merged in before. */
  merge(other: LatencySketch, sign: 1 | -1 = 1): this {
    this.zeros += sign * other.zeros
    this.count += sign * other.zeros
    other.counts.forEach((n, i) => { if (n) this.addToBucket(other.offset + i, sign * n) })
    return this
  }

  private addToBucket(index: number, n: number) {
    if (!this.counts.length) this.offset = index
    else if (index < this.offset) {
      this.counts = new Array<number>(this.offset - index).fill(0).concat(this.counts)
      this.offset = index
    }
    for (let i = this.counts.length; i <= index - this.offset; i++) this.counts.push(0)
    this.counts[index - this.offset] += n
    this.count += n
  }

  /** The nearest-rank quantile (q in 0..1): the value at rank ceil(q·n), within the relative accuracy. */
  quantile(q: number): number | null {
    return this.quantiles([q])[0]
  }

  /** Several quantiles, in ascending order of q, in one pass over the buckets. */
  quantiles(qs: number[]): (number | null)[] {
    if (this.count === 0) return qs.map(() => null)
    const ranks = qs.map(q => Math.max(1, Math.ceil(q * this.count)))
    const found: (number | null)[] = ranks.map(rank => rank <= this.zeros ? 0 : null)
    let seen = this.zeros, next = found.findIndex(v => v === null)
    if (next < 0) return found
    for (let i = 0; i < this.counts.length && next < ranks.length; i++) {
      seen += this.counts[i]
      while (next < ranks.length && seen >= ranks[next]) found[next++] = (2 * GAMMA ** (this.offset + i)) / (GAMMA + 1)
    }
    return found
  }

  toJSON(): SketchJSON {
    const stored = [this.zeros], { counts, offset } = this
    for (let i = 0, previous = 0; i < counts.length; i++) {
      if (!counts[i]) continue
      stored.push(offset + i - previous, counts[i])
      previous = offset + i
    }
    return stored
  }

  /**
   * The stored form (see DIGITS). It walks the buckets itself rather than encoding `toJSON()`: that
   * array for every sketch of every rollup row a call writes took twice the time (4-7 against 7-11 µs a sketch).
   */
  toCompact(): string {
    let length = 0
    const put = (n: number) => {
      // 11 digits of 5 bits hold any safe integer
      if (length + 11 > written.length) {
        const grown = Buffer.allocUnsafe(2 * written.length)
        written.copy(grown)
        written = grown
      }
      let value = n < 0 ? -2 * n - 1 : 2 * n
      do {
        const low = value % 32
        value = Math.floor(value / 32)
        written[length++] = DIGIT_CODES[value ? low + 32 : low]
      } while (value)
    }
    put(this.zeros)
    const { counts, offset } = this
    for (let i = 0, previous = 0; i < counts.length; i++) {
      if (!counts[i]) continue
      put(offset + i - previous)
      put(counts[i])
      previous = offset + i
    }
    return written.toString('ascii', 0, length)
  }
}
