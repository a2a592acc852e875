import { startServer, basic } from '../tools/server-process'

/** Against the gateway as its own process: no input may take it down or get a 5xx. */
describe('robustness against bad requests', () => {
  let server: Awaited<ReturnType<typeof startServer>>
  beforeAll(async () => { server = await startServer({ requires: { db: { kind: 'sqlite', credentials: { url: ':memory:' } } } }, { CDS_PLUGIN_UI5_ACTIVE: 'false' }) })
  afterAll(() => server.stop())

  const get = (path: string, user = 'analyst') => fetch(`${server.url}${path}`, { headers: basic(user) })

  test.each([
    '/odata/v4/router/Agents/%ff',
    '/odata/v4/router/Agents/%',
    '/odata/v4/analytics/ModelPerformance?$filter=model_ID%20eq%20%27%e0%a4%a%27',
    '/odata/v4/router/Agents%00',
    '/odata/v4/analytics/Models?$filter=name%20eq%20%27a%0Ab%27',
  ])('malformed URL %s gets 400, also without login', async path => {
    const anonymous = await fetch(`${server.url}${path}`)
    expect(anonymous.status).toBe(400)
    expect((await get(path)).status).toBe(400)
  })

  test.each([
    ['an unknown aggregation method', '/odata/v4/analytics/InferenceMetrics?$apply=aggregate(latencyMs with nonsense as x)', /nonsense/],
    ['a negative $top', '/odata/v4/analytics/InferenceMetrics?$top=-1', /\$top/],
    ['a $skip that is no number', '/odata/v4/analytics/InferenceMetrics?$skip=abc', /\$skip/],
    ['$expand nested too deep', '/odata/v4/analytics/RoutingDecisions?$expand=candidates($expand=model($expand=x($expand=y)))', /at most 3 levels/],
    ['an unknown property in $filter', '/odata/v4/analytics/InferenceMetrics?$filter=colour eq 1', /colour/],
    ['a $filter that does not parse', '/odata/v4/analytics/InferenceMetrics?$filter=latencyMs eq eq', /./],
    ['an unknown $orderby', '/odata/v4/analytics/ModelPerformance?$orderby=beauty', /beauty/],
    ['a date function on a string property', '/odata/v4/analytics/InferenceMetrics?$filter=year(model_ID) eq 2024', /year.*model_ID/],
  ])('%s gets 400 with a message and no SQL', async (_, path, message) => {
    const res = await get(path)
    expect(res.status).toBe(400)
    const { error } = await res.json()
    expect(error.message).toMatch(message)
    expect(error.message).not.toMatch(/SELECT|FROM /)
  })

  test('the standard aggregation methods still work', async () => {
    const res = await get('/odata/v4/analytics/InferenceMetrics?$apply=aggregate(latencyMs with average as avg, latencyMs with max as worst)')
    expect(res.status).toBe(200)
  })

  test('server-driven paging: at most 1,000 rows a page with a next link', async () => {
    const res = await get('/odata/v4/analytics/Models?$top=5000')
    expect(res.status).toBe(200)
    expect((await res.json()).value.length).toBeLessThanOrEqual(1000)
  })

  const batch = (body: string, type: string) => fetch(`${server.url}/odata/v4/analytics/$batch`, {
    method: 'POST', body, headers: { ...basic('analyst'), 'content-type': type },
  })
  const jsonBatch = (n: number) => JSON.stringify({ requests: Array.from({ length: n }, (_, i) => ({ id: `r${i}`, method: 'GET', url: 'Models?$top=1' })) })
  const multipartBatch = (n: number) => Array.from({ length: n }, () =>
    '--b\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\nGET Models?$top=1 HTTP/1.1\r\n\r\n').join('') + '--b--\r\n'

  test('a JSON $batch of 100 requests is served, one of 101 gets 429', async () => {
    const ok = await batch(jsonBatch(100), 'application/json')
    expect(ok.status).toBe(200)
    expect((await ok.json()).responses).toHaveLength(100)
    expect((await batch(jsonBatch(101), 'application/json')).status).toBe(429)
  })

  test('a multipart $batch of 100 requests is served, one of 101 gets 429', async () => {
    const ok = await batch(multipartBatch(100), 'multipart/mixed;boundary=b')
    expect(ok.status).toBe(200)
    expect((await ok.text()).match(/HTTP\/1.1 200/g)).toHaveLength(100)
    expect((await batch(multipartBatch(101), 'multipart/mixed;boundary=b')).status).toBe(429)
  })

  test('a multipart $batch whose boundary is not the Content-Type\'s gets 400, not executed', async () => {
    const res = await batch(multipartBatch(2).replaceAll('--b', '--other'), 'multipart/mixed;boundary=b')
    expect(res.status).toBe(400)
    expect((await res.json()).error.message).toMatch(/boundary/)
  })

  test('malformed JSON gets 400', async () => {
    const res = await fetch(`${server.url}/odata/v4/router/ingest`, { method: 'POST', body: '{"metrics": [', headers: { ...basic('router'), 'content-type': 'application/json' } })
    expect(res.status).toBe(400)
  })

  test('the server is still up after all of it', async () => {
    expect(server.alive).toBe(true)
    expect((await fetch(`${server.url}/health`)).status).toBe(200)
  })
})
