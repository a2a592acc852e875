import {
  WILSON_Z, wilsonInterval, normalUpperTail, normalCdf, twoProportionPValue, scoreBucket, bestStrategy,
  judgeDecision, planWindow, signAt, HOUR, type PairFigures, type Span,
} from '../../srv/domain/routing-quality'
import { random } from '../../tools/workload'

const relative = (got: number, want: number) => Math.abs(got - want) / want

describe('normal distribution', () => {
  // scipy.stats.norm.sf of each x (SciPy 1.17)
  test.each([
    [0, 0.5], [0.5, 0.3085375387259869], [1, 0.15865525393145707], [WILSON_Z, 0.024999999096442398],
    [2.5, 0.006209665325776132], [2.999, 0.0013543365337271057], [3, 0.0013498980316300933], [3.001, 0.0013454728250849653],
    [4, 3.167124183311986e-05], [5, 2.866515718791933e-07], [6, 9.865876450376946e-10], [8, 6.22096057427174e-16],
    [10, 7.61985302416047e-24], [20, 2.7536241186061556e-89], [37, 5.7255712225239266e-300],
  ])('upper tail at %p is within 1e-12 relative of SciPy', (x, want) => {
    expect(relative(normalUpperTail(x), want)).toBeLessThan(1e-12)
    expect(Math.abs(normalCdf(-x) - want)).toBeLessThan(1e-15)
    expect(Math.abs(normalCdf(x) - (1 - want))).toBeLessThan(1e-15)
  })

  test('is monotone across the switch from series to continued fraction', () => {
    let previous = 1
    for (let x = 0; x <= 12; x += 0.001) {
      const q = normalUpperTail(x)
      expect(q).toBeLessThan(previous)
      previous = q
    }
  })
})

describe('wilsonInterval', () => {
  test.each([
    [0, 10, 0, 0.2775328030260577], [10, 10, 0.7224671969739421, 1], [81, 263, 0.25528851948901576, 0.3662095774580194], [1, 1, 0.2065493117918027, 1],
  ])('%p of %p: the interval computed independently', (x, n, low, high) => {
    const interval = wilsonInterval(x, n)!
    expect(interval.low).toBeCloseTo(low, 14)
    expect(interval.high).toBeCloseTo(high, 14)
  })

  test('its bounds are where the score test statistic equals z', () => {
    const rnd = random(9)
    for (let i = 0; i < 200; i++) {
      const n = 1 + Math.floor(rnd() * 5000), x = Math.floor(rnd() * (n + 1)), rate = x / n
      const { low, high } = wilsonInterval(x, n)!
      expect(low).toBeLessThanOrEqual(rate)
      expect(high).toBeGreaterThanOrEqual(rate)
      for (const p of [low, high]) if (p > 1e-9 && p < 1 - 1e-9) expect(Math.abs(rate - p) / Math.sqrt(p * (1 - p) / n)).toBeCloseTo(WILSON_Z, 6)
    }
  })

  test('is null without requests', () => expect(wilsonInterval(0, 0)).toBeNull())
})

describe('twoProportionPValue', () => {
  // 2 · scipy.stats.norm.sf(|z|) of the pooled z statistic
  test.each([
    [480, 500, 450, 500, 0.00020066089381932887], [90, 100, 85, 100, 0.2850494074026124],
    [9990, 10000, 9000, 10000, 2.955962672232112e-224], [3, 7, 1, 9, 0.1457285332020404],
  ])('%p/%p against %p/%p', (x1, n1, x2, n2, want) => {
    expect(relative(twoProportionPValue(x1, n1, x2, n2)!, want)).toBeLessThan(1e-9)
    expect(twoProportionPValue(x2, n2, x1, n1)).toBe(twoProportionPValue(x1, n1, x2, n2))
  })

  test('equal rates give 1, also where both are 0 or 1; no requests on a side give null', () => {
    expect(twoProportionPValue(30, 60, 50, 100)).toBe(1)
    expect(twoProportionPValue(60, 60, 100, 100)).toBe(1)
    expect(twoProportionPValue(0, 60, 0, 100)).toBe(1)
    expect(twoProportionPValue(0, 0, 3, 10)).toBeNull()
    expect(twoProportionPValue(3, 10, 0, 0)).toBeNull()
  })
})

test('scoreBucket: min(9, floor(10 × score))', () => {
  expect([0, 0.05, 0.0999, 0.1, 0.29, 0.3, 0.7, 0.95, 0.9999, 1].map(scoreBucket)).toEqual([0, 0, 0, 1, 2, 3, 7, 9, 9, 9])
})

describe('bestStrategy', () => {
  const row = (strategy: string, successes: number, requests: number) => ({ strategy, successes, requests })
  test('highest success rate, exactly as fractions', () => {
    expect(bestStrategy([row('a', 2, 3), row('b', 666_666_667, 1_000_000_000), row('c', 1, 2)])!.strategy).toBe('b')
  })
  test('ties go to more requests, then to the first by name; strategies without requests take no part', () => {
    expect(bestStrategy([row('a', 1, 2), row('b', 5, 10), row('c', 0, 0)])!.strategy).toBe('b')
    expect(bestStrategy([row('d', 5, 10), row('b', 5, 10), row('c', 5, 10)])!.strategy).toBe('b')
    expect(bestStrategy([row('a', 0, 0)])).toBeUndefined()
  })
})

describe('judgeDecision', () => {
  const pairs = (figures: Record<string, [number, number, number]>) =>
    (model: string): PairFigures | undefined => figures[model] && { successes: figures[model][0], requests: figures[model][1], cost: figures[model][2] }

  test('not evaluated unless the chosen model and another candidate are known', () => {
    const f = pairs({ a: [19, 20, 1], b: [5, 19, 1], c: [20, 20, 1] })
    expect(judgeDecision('a', ['a', 'b'], f, 20)).toBeNull() // b has 19
    expect(judgeDecision('b', ['b', 'a'], f, 20)).toBeNull() // the chosen has 19
    expect(judgeDecision('a', ['a', 'x'], f, 20)).toBeNull() // x has none
    expect(judgeDecision('a', ['a', 'a'], f, 20)).toBeNull() // only the chosen
    expect(judgeDecision('a', ['b', 'c'], f, 20)).toMatchObject({ betterAvailable: true }) // the chosen need not be listed
    expect(judgeDecision('a', ['a', 'b'], f, 19)).toMatchObject({ betterAvailable: false })
  })

  test('the best has the highest S; regret and saving against the chosen', () => {
    // S: a 0.9, b 0.95, c 0.9; C: a 0.02, b 0.05, c 0.01
    const f = pairs({ a: [18, 20, 0.4], b: [19, 20, 1], c: [27, 30, 0.3] })
    const j = judgeDecision('a', ['a', 'b', 'c'], f, 20)!
    expect(j.betterAvailable).toBe(true)
    expect(j.successRegret).toBeCloseTo(0.05, 15)
    expect(j.costSaving).toBeCloseTo(0.01, 15) // c is as good as a and cheaper
    expect(judgeDecision('b', ['a', 'b', 'c'], f, 20)).toEqual({ betterAvailable: false, successRegret: 0, costSaving: 0 })
  })

  test('ties of S go to the lower C, then to the chosen model, then to the smallest model_ID', () => {
    // equal S; equal mean costs 0.1 written as sums that floating point would not divide equally (0.3/3 < 0.1)
    const f = pairs({ m: [10, 20, 2], k: [15, 30, 3], z: [10, 20, 2], y: [3, 6, 0.3 * 2] })
    expect(judgeDecision('z', ['m', 'k', 'z'], f, 6)).toMatchObject({ betterAvailable: false, successRegret: 0 })
    expect(judgeDecision('m', ['z', 'k', 'm'], f, 6)).toMatchObject({ betterAvailable: false })
    // y's mean cost 0.6/6 equals z's 2/20, though floating point divides it to 0.09999999999999999: a tie, so the chosen stays
    expect(judgeDecision('y', ['y', 'z'], f, 6)).toMatchObject({ betterAvailable: false, costSaving: 0 })
    // a cheaper one with equal S is better
    const g = pairs({ m: [10, 20, 2], n: [10, 20, 1.999_999_999_9], o: [10, 20, 1.999_999_999_9] })
    expect(judgeDecision('m', ['o', 'n', 'm'], g, 20)).toMatchObject({ betterAvailable: true })
    expect(judgeDecision('m', ['o', 'n', 'm'], g, 20)!.costSaving).toBeCloseTo(5e-12, 15)
  })

  test('the cheapest adequate candidate may be worse than the best, never worse than the chosen', () => {
    // S: chosen c 0.8 at 0.05; b 0.9 at 0.10 (best); d 0.8 at 0.02; e 0.7 at 0.001
    const f = pairs({ c: [16, 20, 1], b: [18, 20, 2], d: [16, 20, 0.4], e: [14, 20, 0.02] })
    const j = judgeDecision('c', ['b', 'c', 'd', 'e'], f, 20)!
    expect(j).toMatchObject({ betterAvailable: true })
    expect(j.successRegret).toBeCloseTo(0.1, 15)
    expect(j.costSaving).toBeCloseTo(0.03, 15)
  })
})

describe('planWindow', () => {
  const t = (h: number, m = 0) => Date.UTC(2026, 10, 20, h, m)
  const sum = (spans: Span[], from: number, to: number) => spans.reduce((a, s) => a + s.sign * Math.max(0, Math.min(to, s.end) - Math.max(from, s.start)), 0)

  test('every instant of the window counts once, every other not at all, and edges read at most half an hour', () => {
    const rnd = random(4)
    for (let i = 0; i < 500; i++) {
      const start = t(0) + Math.floor(rnd() * 10 * HOUR), end = start + Math.floor(rnd() * rnd() * 8 * HOUR)
      const rollupsFrom = [0, t(3), t(6), Infinity][i % 4]
      const { hours, raw } = planWindow(start, end, rollupsFrom)
      for (const span of hours) {
        expect(span.start % HOUR).toBe(0); expect(span.end % HOUR).toBe(0)
        expect(span.start).toBeGreaterThanOrEqual(rollupsFrom)
      }
      // a sample of instants: in the window they count 1, outside 0
      for (let k = 0; k < 50; k++) {
        const at = t(0) - HOUR + Math.floor(rnd() * 12 * HOUR)
        const count = signAt(hours, at) + raw.filter(s => s.start <= at && at < s.end).reduce((a, s) => a + s.sign, 0)
        expect(count).toBe(at >= start && at < end ? 1 : 0)
      }
      const rollupPart = Math.max(0, end - Math.max(start, rollupsFrom))
      if (rollupsFrom !== Infinity && rollupPart > 0) expect(raw.filter(s => s.end > rollupsFrom).reduce((a, s) => a + s.end - s.start, 0)).toBeLessThanOrEqual(HOUR)
      expect(sum([...hours, ...raw], start, end)).toBe(end - start)
    }
  })

  test('whole hours only from the rollups; an edge of 40 minutes as its hour less 20 minutes', () => {
    expect(planWindow(t(2), t(5), 0)).toEqual({ hours: [{ start: t(2), end: t(5), sign: 1 }], raw: [] })
    expect(planWindow(t(2, 20), t(4, 10), 0)).toEqual({
      hours: [{ start: t(3), end: t(4), sign: 1 }, { start: t(2), end: t(3), sign: 1 }],
      raw: [{ start: t(2), end: t(2, 20), sign: -1 }, { start: t(4), end: t(4, 10), sign: 1 }],
    })
    expect(planWindow(t(2), t(5), Infinity)).toEqual({ hours: [], raw: [{ start: t(2), end: t(5), sign: 1 }] })
    expect(planWindow(t(2), t(5), t(4))).toEqual({ hours: [{ start: t(4), end: t(5), sign: 1 }], raw: [{ start: t(2), end: t(4), sign: 1 }] })
  })
})
