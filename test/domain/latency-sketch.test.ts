import { LatencySketch, RELATIVE_ACCURACY } from '../../srv/domain/latency-sketch'
import { random } from '../../tools/workload'

const nearestRank = (sorted: number[], q: number) => sorted[Math.max(1, Math.ceil(q * sorted.length)) - 1]

describe('LatencySketch', () => {
  test.each([
    ['log-normal', (r: () => number) => 300 * Math.exp(0.8 * Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r()))],
    ['uniform 0..10 s', (r: () => number) => r() * 10_000],
    ['heavy tail', (r: () => number) => 50 / Math.pow(1 - r(), 1.5)],
    ['sub-millisecond', (r: () => number) => r() * 0.9 + 0.001],
  ])('quantiles of a %s distribution are within the relative accuracy of nearest rank', (_, draw) => {
    const rnd = random(3), values = Array.from({ length: 20_000 }, () => draw(rnd))
    const sketch = new LatencySketch()
    values.forEach(v => sketch.add(v))
    const sorted = [...values].sort((a, b) => a - b)
    for (const q of [0, 0.01, 0.25, 0.5, 0.9, 0.95, 0.99, 0.999, 1]) {
      const exact = nearestRank(sorted, q)
      expect(Math.abs(sketch.quantile(q)! - exact) / exact).toBeLessThanOrEqual(RELATIVE_ACCURACY + 1e-12)
    }
  })

  test('merging sketches equals sketching the union, also through the stored form and the JSON of earlier versions', () => {
    const rnd = random(5), a = new LatencySketch(), b = new LatencySketch(), all = new LatencySketch()
    for (let i = 0; i < 5000; i++) { const v = rnd() * 2000; (i % 3 ? a : b).add(v); all.add(v) }
    const merged = LatencySketch.parse(a.toCompact()).merge(LatencySketch.parse(JSON.stringify(b.toJSON())))
    expect(merged.count).toBe(5000)
    expect(merged.toJSON()).toEqual(all.toJSON())
  })

  test('the stored form holds the same sketch: sub-millisecond buckets, zeros, large counts, more than its first buffer', () => {
    const rnd = random(7), sketch = new LatencySketch().add(0, 2).add(0.004).add(0.5, 40).add(120_000, 5_000_000)
    for (let i = 0; i < 3000; i++) sketch.add(rnd() * 5000)
    for (let i = 1; i <= 2000; i++) sketch.add(1.02 ** i, 37 * i)
    const compact = sketch.toCompact()
    expect(compact).toMatch(/^[A-Za-z0-9_-]+$/)
    expect(compact.length).toBeGreaterThan(4096)
    expect(compact.length).toBeLessThan(JSON.stringify(sketch.toJSON()).length)
    expect(new LatencySketch().mergeStored(compact).toJSON()).toEqual(sketch.toJSON())
    // taken out again, as windows take the rest of a period out of the whole
    expect(new LatencySketch().merge(sketch).mergeStored(compact, -1).quantile(0.5)).toBeNull()
  })

  test('sketches stored by earlier versions still read', () => {
    const earlier = LatencySketch.parse('{"z":1,"b":{"700":2,"5":1}}')
    expect(earlier.count).toBe(4)
    expect(earlier.toJSON()).toEqual([1, 5, 1, 695, 2])
  })

  test('zero latencies count, and rank among the smallest', () => {
    const sketch = new LatencySketch().add(0, 3).add(10)
    expect(sketch.count).toBe(4)
    expect(sketch.quantile(0.5)).toBe(0)
    expect(sketch.quantile(0.75)).toBe(0)
    expect(sketch.quantile(1)).toBeCloseTo(10, 1)
  })

  test('an empty sketch has no quantiles', () => {
    expect(new LatencySketch().quantile(0.5)).toBeNull()
    expect(LatencySketch.parse(null).count).toBe(0)
  })
})
