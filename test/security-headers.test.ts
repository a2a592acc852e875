import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { SECURITY_HEADERS, STRICT_TRANSPORT_SECURITY } from '../srv/http/security-headers'
import { startServer, basic } from '../tools/server-process'

/** Response hardening, against the gateway as its own process in the production and development profiles. */
const expectSecurityHeaders = (res: Response, production: boolean, overrides: Record<string, string> = {}) => {
  for (const [name, value] of Object.entries({ ...SECURITY_HEADERS, ...overrides }))
    expect([res.url, name, res.headers.get(name)]).toEqual([res.url, name, value])
  expect(res.headers.get('strict-transport-security')).toBe(production ? STRICT_TRANSPORT_SECURITY : null)
  expect(res.headers.get('x-powered-by')).toBeNull()
}

describe('production profile (NODE_ENV=production)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'router-odata-prod-'))
  const file = path.join(dir, 'router.sqlite')
  let server: Awaited<ReturnType<typeof startServer>>
  beforeAll(async () => {
    // mocked users stand in for XSUAA here (test/security-xsuaa.test.ts covers the tokens); a file database we can break
    server = await startServer(
      { requires: { db: { kind: 'sqlite', credentials: { url: file } }, auth: { kind: 'mocked' } } },
      { NODE_ENV: 'production', CDS_PLUGIN_UI5_ACTIVE: 'false' },
    )
  }, 60_000)
  afterAll(async () => { await server?.stop(); fs.rmSync(dir, { recursive: true, force: true }) })

  test.each([
    ['/health', {}, 200],
    ['/odata/v4/router/Assignments?$top=1', basic('router'), 200],
    ['/odata/v4/router/$metadata', basic('router'), 200],
    ['/odata/v4/router/Assignments', {}, 401],
    ['/odata/v4/admin/Agents', basic('analyst'), 403],
    ['/odata/v4/router/Agents/%ff', {}, 400],
  ])('%s: security headers with HSTS', async (url, headers, status) => {
    const res = await fetch(`${server.url}${url}`, { headers })
    expect(res.status).toBe(status)
    expectSecurityHeaders(res, true)
  })

  test('an unknown path: 404 with the headers; express\'s fallback page tightens the policy to default-src \'none\'', async () => {
    const res = await fetch(`${server.url}/no/such/path`)
    expect(res.status).toBe(404)
    expectSecurityHeaders(res, true, { 'Content-Security-Policy': "default-src 'none'" })
  })

  test('bad JSON gets 400 without a stack trace', async () => {
    const res = await fetch(`${server.url}/odata/v4/router/ingest`, {
      method: 'POST', headers: { ...basic('router'), 'content-type': 'application/json' }, body: '{"metrics": [',
    })
    expect(res.status).toBe(400)
    const text = await res.text()
    expect(text).not.toMatch(/\n\s+at |\.js:\d+|\.ts:\d+/)
  })

  // last: it breaks the database
  test('a 500 says "Internal Server Error" and nothing else: no SQL, no table names, no stack', async () => {
    const db = new DatabaseSync(file)
    db.exec('DROP TABLE router_InferenceMetrics')
    db.close()
    const res = await fetch(`${server.url}/odata/v4/analytics/InferenceMetrics?$top=1`, { headers: basic('analyst') })
    expect(res.status).toBe(500)
    expectSecurityHeaders(res, true)
    expect(await res.json()).toEqual({ error: { code: '500', message: 'Internal Server Error' } })
    expect(server.output).toMatch(/no such table/) // the cause is logged, for operators only
    expect(server.alive).toBe(true)
  })
})

describe('development profile', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'router-odata-dev-'))
  const file = path.join(dir, 'router.sqlite')
  let server: Awaited<ReturnType<typeof startServer>>
  // with the UI5 plugin, which serves the Fiori apps and SAPUI5 from npm on this origin
  beforeAll(async () => { server = await startServer({ requires: { db: { kind: 'sqlite', credentials: { url: file } } } }) }, 120_000)
  afterAll(async () => { await server?.stop(); fs.rmSync(dir, { recursive: true, force: true }) })

  test('OData responses carry the headers, without HSTS on plain http', async () => {
    const res = await fetch(`${server.url}/odata/v4/analytics/Models?$top=1`, { headers: basic('analyst') })
    expect(res.status).toBe(200)
    expectSecurityHeaders(res, false)
  })

  test.each(['decisions', 'assignments', 'performance', 'quality'])('the Fiori app %s still loads: its page and SAPUI5 from this origin, framing only by ourselves', async app => {
    const page = await fetch(`${server.url}/${app}/index.html`)
    expect(page.status).toBe(200)
    expectSecurityHeaders(page, false)
    const html = await page.text()
    const [, bootstrap] = html.match(/id="sap-ui-bootstrap"\s+src="([^"]+)"/) ?? []
    expect(bootstrap).toBe('resources/sap-ui-core.js')
    const core = await fetch(`${server.url}/${app}/${bootstrap}`)
    expect(core.status).toBe(200)
    expect(core.headers.get('content-type')).toMatch(/javascript/) // nosniff needs the right type
    expect(page.headers.get('content-security-policy')).not.toMatch(/script-src|default-src|style-src/)
  })

  test('in development a 500 shows its cause; production (above) hides it', async () => {
    const db = new DatabaseSync(file)
    db.exec('DROP TABLE router_InferenceMetrics')
    db.close()
    const res = await fetch(`${server.url}/odata/v4/analytics/InferenceMetrics?$top=1`, { headers: basic('analyst') })
    expect(res.status).toBe(500)
    expect((await res.json()).error.message).toMatch(/no such table/)
  })
})
