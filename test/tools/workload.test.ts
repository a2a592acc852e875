import { traffic, batch, random, uuidv7, DEFAULT_AGENTS, DEFAULT_MODELS } from '../../tools/workload'

describe('workload', () => {
  const options = { agents: DEFAULT_AGENTS, models: DEFAULT_MODELS, from: new Date('2026-01-01T00:00:00Z'), to: new Date('2026-01-02T00:00:00Z'), seed: 9 }

  test('the same seed gives the same traffic', () => {
    const strip = (b: ReturnType<typeof batch>) => b.metrics.map(({ latencyMs, agent_ID, model_ID, recordedAt }) => [latencyMs, agent_ID, model_ID, recordedAt])
    expect(strip(batch(traffic(options), 200))).toEqual(strip(batch(traffic(options), 200)))
  })

  test('records are valid and fall in the window', () => {
    const { decisions, metrics } = batch(traffic(options), 2000)
    for (const d of decisions) {
      expect(d.decidedAt >= '2026-01-01' && d.decidedAt < '2026-01-02').toBe(true)
      expect(d.score).toBeGreaterThanOrEqual(0); expect(d.score).toBeLessThanOrEqual(1)
      expect(d.candidates.map(c => c.rank)).toEqual([1, 2, 3])
    }
    for (const m of metrics) expect(m.latencyMs).toBeGreaterThan(0)
    expect(new Set(metrics.map(m => m.ID)).size).toBe(2000)
  })

  test('with a count, time advances through the window in order', () => {
    const { decisions } = batch(traffic({ ...options, count: 1000 }), 1000)
    const times = decisions.map(d => d.decidedAt)
    expect(times).toEqual([...times].sort())
    expect(times[0] < '2026-01-01T00:10').toBe(true)
    expect(times[999] > '2026-01-01T23:50').toBe(true)
  })

  test('IDs are UUIDv7 that carry the record\'s time, so they sort as the records were made', () => {
    const { decisions, metrics } = batch(traffic({ ...options, count: 500 }), 500)
    for (const { ID, decidedAt } of decisions) {
      expect(ID).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
      expect(parseInt(ID.replace('-', '').slice(0, 12), 16)).toBe(Date.parse(decidedAt))
    }
    const ids = decisions.map(d => d.ID)
    expect(ids).toEqual([...ids].sort())
    expect(parseInt(metrics[0].ID.replace('-', '').slice(0, 12), 16)).toBe(Date.parse(metrics[0].recordedAt))
    // the same millisecond twice still gives two IDs
    const at = new Date('2026-01-01T00:00:00Z')
    expect(uuidv7(at)).not.toBe(uuidv7(at))
  })

  test('random v4 IDs on request', () => {
    const { decisions } = batch(traffic({ ...options, ids: 'v4' }), 100)
    for (const { ID } of decisions) expect(ID).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
  })

  test('agents and models are skewed towards the first ones', () => {
    const { metrics } = batch(traffic(options), 5000)
    const share = (id: string) => metrics.filter(m => m.model_ID === id).length / metrics.length
    expect(share(DEFAULT_MODELS[0].ID)).toBeGreaterThan(3 * share(DEFAULT_MODELS.at(-1)!.ID))
  })

  test('random() is uniform enough', () => {
    const r = random(1), n = 10_000
    const mean = Array.from({ length: n }, r).reduce((a, b) => a + b) / n
    expect(mean).toBeGreaterThan(0.48); expect(mean).toBeLessThan(0.52)
  })
})
