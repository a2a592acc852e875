import { launch, as } from './support'

/**
 * Units and currencies travel as annotations in each service's $metadata (Measures.Unit, Measures.ISOCurrency),
 * which Fiori elements shows beside the values, instead of text in the labels: every property of every entity
 * and structured type, found by its name, carries exactly the unit its name promises, and no label names a unit.
 */
const { GET } = launch()

const services = [['router', 'RouterService'], ['analytics', 'AnalyticsService'], ['admin', 'AdminService']] as const
const users = { router: 'router', analytics: 'analyst', admin: 'admin' } as const

interface Property { target: string; name: string; terms: Record<string, string> }

/** The properties of a $metadata document's entity and complex types, each with the simple annotations that target it. */
function properties(edmx: string): Property[] {
  const annotations = new Map<string, Record<string, string>>()
  for (const [, target, body] of edmx.matchAll(/<Annotations Target="([^"]+)">([\s\S]*?)<\/Annotations>/g))
    for (const [, term, value] of body.matchAll(/<Annotation Term="([^"]+)" (?:String|Bool|Int|EnumMember)="([^"]*)"\/>/g))
      annotations.set(target, { ...annotations.get(target), [term]: value })
  const namespace = /<Schema Namespace="([^"]+)"/.exec(edmx)![1]
  const found: Property[] = []
  for (const [, , type, body] of edmx.matchAll(/<(EntityType|ComplexType) Name="([^"]+)"[^>]*>([\s\S]*?)<\/\1>/g))
    for (const [, name] of body.matchAll(/<Property Name="([^"]+)"/g)) {
      const target = `${namespace}.${type}/${name}`
      found.push({ target, name, terms: annotations.get(target) ?? {} })
    }
  return found
}

/** What a property's name promises: durations in milliseconds, costs (`cost`, `costPerRequest`, …) and prices in US dollars, a context window in tokens. */
const expectedUnit = (name: string) =>
  /Ms$/.test(name) ? { 'Measures.Unit': 'ms' }
    : /^cost([A-Z]|$)/.test(name) || /PricePer1M$/.test(name) ? { 'Measures.ISOCurrency': 'USD' }
      : name === 'contextWindow' ? { 'Measures.Unit': 'tokens' }
        : {}

const unitsOf = (p: Property) => Object.fromEntries(Object.entries(p.terms).filter(([term]) => term.startsWith('Measures.')))

describe.each(services)('/odata/v4/%s/$metadata', (path, service) => {
  let all: Property[]
  beforeAll(async () => {
    const { status, data } = await GET(`/odata/v4/${path}/$metadata`, as(users[path]))
    expect(status).toBe(200)
    all = properties(data)
  })

  test('every latency, cost, price and context window carries its unit or currency, nothing else does', () => {
    expect(all.length).toBeGreaterThan(20)
    const wrong = all.filter(p => JSON.stringify(unitsOf(p)) !== JSON.stringify(expectedUnit(p.name)))
      .map(p => `${p.target}: ${JSON.stringify(unitsOf(p))}`)
    expect(wrong).toEqual([])
    const withUnit = all.filter(p => Object.keys(expectedUnit(p.name)).length).map(p => p.target)
    expect(withUnit).toEqual(expect.arrayContaining({
      router: ['RouterService.InferenceMetrics/latencyMs', 'RouterService.InferenceMetricInput/cost', 'RouterService.Models/inputPricePer1M'],
      analytics: ['AnalyticsService.ModelPerformance/p95LatencyMs', 'AnalyticsService.HourlyStats/cost', 'AnalyticsService.PerformanceRow/avgLatencyMs'],
      admin: ['AdminService.Models/outputPricePer1M', 'AdminService.Models/contextWindow', 'AdminService.Assignments/p95LatencyMs'],
    }[path]))
    expect(withUnit.every(target => target.startsWith(`${service}.`))).toBe(true)
  })

  test('labels are texts without units', () => {
    const labels = all.map(p => p.terms['Common.Label']).filter(Boolean)
    expect(labels.length).toBeGreaterThan(10)
    expect(labels.filter(label => /\((ms|usd|tokens)\)|\busd\b/i.test(label))).toEqual([])
    expect(labels).toEqual(expect.arrayContaining(path === 'analytics' ? ['p95 Latency', 'Cost'] : ['Input Price per 1M Tokens']))
  })
})
