import { launch, as } from './support'

/** Who may read what: anonymous 401, a valid user without the role 403, the right role 2xx. */
describe('access control', () => {
  const { GET, POST } = launch()

  const reads: [string, string[]][] = [
    ['/odata/v4/router/Assignments', ['router', 'admin']],
    ['/odata/v4/router/RoutingDecisions', ['router', 'admin']],
    ['/odata/v4/router/InferenceMetrics', ['router', 'admin']],
    ['/odata/v4/router/Agents', ['router', 'admin']],
    ['/odata/v4/router/Models', ['router', 'admin']],
    ['/odata/v4/analytics/RoutingDecisions', ['analyst', 'admin']],
    ['/odata/v4/analytics/InferenceMetrics', ['analyst', 'admin']],
    ['/odata/v4/analytics/ModelPerformance', ['analyst', 'admin']],
    ['/odata/v4/analytics/AgentModelPairs', ['analyst', 'admin']],
    ['/odata/v4/analytics/RoutingStats', ['analyst', 'admin']],
    ['/odata/v4/analytics/Summary24h', ['analyst', 'admin']],
    ['/odata/v4/analytics/HourlyStats', ['analyst', 'admin']],
    ["/odata/v4/analytics/performance(from=2026-01-01T00:00:00Z,to=2027-01-01T00:00:00Z,groupBy='model')", ['analyst', 'admin']],
    ['/odata/v4/admin/Agents', ['admin']],
    ['/odata/v4/admin/Models', ['admin']],
    ['/odata/v4/admin/Assignments', ['admin']],
  ]
  const users = ['router', 'analyst', 'admin'] as const

  describe.each(reads)('GET %s', (url, allowed) => {
    test('anonymous gets 401', async () => expect((await GET(url)).status).toBe(401))
    test('a wrong password gets 401', async () => expect((await GET(url, { auth: { username: 'admin', password: 'nope' } })).status).toBe(401))
    test('an unknown user gets 401', async () => expect((await GET(url, as('nobody'))).status).toBe(401))
    test.each(users)('%s', async user => {
      const { status } = await GET(url, as(user))
      expect(status).toBe(allowed.includes(user) ? 200 : 403)
    })
  })

  test.each([['router', 403], ['analyst', 403], ['admin', 201]] as const)('only admin writes through AdminService (%s)', async (user, status) => {
    expect((await POST('/odata/v4/admin/Agents', { ID: `by-${user}`, name: user }, as(user))).status).toBe(status)
  })

  test.each([['router', 200], ['analyst', 403], ['admin', 200]] as const)('only the router and admin ingest (%s)', async (user, status) => {
    expect((await POST('/odata/v4/router/ingest', { decisions: [], metrics: [] }, as(user))).status).toBe(status)
  })

  test('AnalyticsService is read-only, also for admin', async () => {
    expect((await POST('/odata/v4/analytics/Agents', { ID: 'x' }, as('admin'))).status).toBe(405)
  })

  test('$metadata of each service is served to its role', async () => {
    for (const [service, user] of [['router', 'router'], ['analytics', 'analyst'], ['admin', 'admin']] as const) {
      const { status, data } = await GET(`/odata/v4/${service}/$metadata`, as(user))
      expect(status).toBe(200)
      expect(data).toContain('<edmx:Edmx')
    }
  })
})
