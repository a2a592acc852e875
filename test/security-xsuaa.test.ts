import { execFileSync } from 'node:child_process'
import { generateKeyPairSync, randomUUID, sign, type KeyObject } from 'node:crypto'
import fs from 'node:fs'
import https from 'node:https'
import os from 'node:os'
import path from 'node:path'
import { startServer } from '../tools/server-process'
import { metric } from './support'

/**
 * Production authentication without BTP: the server runs with the [production] profile (auth xsuaa,
 * @sap/xssec 4) and an XSUAA binding whose `uaadomain` points at a local HTTPS endpoint serving our own
 * JWKS, just as xssec fetches it from the real UAA (`https://<uaadomain>/token_keys?zid=<zid>`).
 * The tokens are RS256 JWTs with XSUAA's claims, signed with a key pair made here.
 */
const { xsappname: appName } = JSON.parse(fs.readFileSync(path.join(__dirname, '../xs-security.json'), 'utf8'))
const xsappname = `${appName}!t4711` // XSUAA appends the tenant index to the xsappname of a binding
const clientid = `sb-${xsappname}`
const zid = '6f1e3a5c-8a2b-4f0e-9d7c-0123456789ab'
const kid = 'router-odata-test-key'

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'router-odata-xsuaa-'))
const signing = generateKeyPairSync('rsa', { modulusLength: 2048 })
const stranger = generateKeyPairSync('rsa', { modulusLength: 2048 })
const jwksRequests: string[] = []
let uaa: https.Server, uaadomain: string
let server: Awaited<ReturnType<typeof startServer>>

const base64url = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url')

/** A token as XSUAA issues it: scopes `<xsappname>.<role>`, audiences, client and zone. */
function token(claims: Record<string, unknown> = {}, key: KeyObject = signing.privateKey) {
  const now = Math.floor(Date.now() / 1000)
  const header = { alg: 'RS256', typ: 'JWT', kid, jku: `https://${uaadomain}/token_keys` }
  const payload = {
    jti: randomUUID(), sub: 'b0c1d2e3', user_id: 'b0c1d2e3', user_name: 'ada@example.com', email: 'ada@example.com',
    given_name: 'Ada', family_name: 'Lovelace', origin: 'sap.default', grant_type: 'authorization_code',
    client_id: clientid, cid: clientid, azp: clientid, aud: [clientid, xsappname], zid,
    iss: `https://router-test.${uaadomain}/oauth/token`, iat: now, exp: now + 600,
    ext_attr: { enhancer: 'XSUAA', subaccountid: zid, zdn: 'router-test' },
    scope: ['openid'],
    ...claims,
  }
  const unsigned = `${base64url(header)}.${base64url(payload)}`
  return `${unsigned}.${sign('sha256', Buffer.from(unsigned), key).toString('base64url')}`
}

const scopes = (...roles: string[]) => ['openid', ...roles.map(role => `${xsappname}.${role}`)]

/** The router's technical user: client credentials of a service key, scopes from xs-security.json's `authorities`. */
const clientCredentials = (...roles: string[]) => token({
  grant_type: 'client_credentials', sub: clientid, user_id: undefined, user_name: undefined, email: undefined,
  given_name: undefined, family_name: undefined, origin: undefined, scope: ['uaa.resource', ...roles.map(role => `${xsappname}.${role}`)],
})

const get = (url: string, jwt?: string) => fetch(`${server.url}${url}`, { headers: jwt ? { authorization: `Bearer ${jwt}` } : {} })

beforeAll(async () => {
  // a TLS certificate for localhost that the server process trusts (NODE_EXTRA_CA_CERTS): xssec fetches keys over https only
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-keyout', path.join(dir, 'tls.key'), '-out', path.join(dir, 'tls.crt')],
  { stdio: 'pipe' })
  const jwk = { ...signing.publicKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' }
  uaa = https.createServer({ key: fs.readFileSync(path.join(dir, 'tls.key')), cert: fs.readFileSync(path.join(dir, 'tls.crt')) }, (req, res) => {
    jwksRequests.push(req.url!)
    if (!req.url!.startsWith('/token_keys')) return res.writeHead(404).end()
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }))
  })
  await new Promise<void>(resolve => uaa.listen(0, '127.0.0.1', resolve))
  uaadomain = `localhost:${(uaa.address() as { port: number }).port}`

  const credentials = {
    xsappname, clientid, clientsecret: 'not-used-for-validation', uaadomain, url: `https://router-test.${uaadomain}`,
    identityzone: 'router-test', identityzoneid: zid, zoneid: zid, tenantid: zid, tenantmode: 'dedicated',
  }
  server = await startServer(
    { requires: { db: { kind: 'sqlite', credentials: { url: ':memory:' } }, auth: { credentials } } },
    { NODE_ENV: 'production', NODE_EXTRA_CA_CERTS: path.join(dir, 'tls.crt'), CDS_PLUGIN_UI5_ACTIVE: 'false' },
  )
}, 60_000)

afterAll(async () => {
  await server?.stop()
  await new Promise(resolve => uaa?.close(resolve))
  fs.rmSync(dir, { recursive: true, force: true })
})

describe('XSUAA JWTs against a local key (production profile)', () => {
  test('the development users do not work in production: basic auth gets 401', async () => {
    const basic = 'Basic ' + Buffer.from('admin:admin').toString('base64')
    expect((await fetch(`${server.url}/odata/v4/admin/Agents`, { headers: { authorization: basic } })).status).toBe(401)
  })

  test('no token: 401', async () => {
    expect((await get('/odata/v4/router/Assignments')).status).toBe(401)
  })

  test('the right scope gets 200, and xssec fetched the key from the UAA of the binding, for the token\'s zone', async () => {
    const res = await get('/odata/v4/router/Assignments', token({ scope: scopes('RouterWriter') }))
    expect(res.status).toBe(200)
    expect((await res.json()).value).toEqual(expect.any(Array))
    expect(jwksRequests).toContain(`/token_keys?zid=${zid}`)
  })

  test('an expired token: 401', async () => {
    const now = Math.floor(Date.now() / 1000)
    expect((await get('/odata/v4/router/Assignments', token({ scope: scopes('RouterWriter'), iat: now - 7200, exp: now - 3600 }))).status).toBe(401)
  })

  test('a token for another application (audience, client): 401', async () => {
    const other = 'sb-other-app!t9'
    const jwt = token({ scope: ['openid', 'other-app!t9.RouterWriter'], aud: [other, 'other-app!t9'], client_id: other, cid: other, azp: other })
    expect((await get('/odata/v4/router/Assignments', jwt)).status).toBe(401)
  })

  test('a tampered payload (scope raised to Admin after signing): 401', async () => {
    const [header, , signature] = token({ scope: scopes('Analyst') }).split('.')
    const [, forged] = token({ scope: scopes('Admin') }).split('.')
    expect((await get('/odata/v4/admin/Agents', `${header}.${forged}.${signature}`)).status).toBe(401)
    expect((await get('/odata/v4/analytics/Models', `${header}.${forged}.${signature}`)).status).toBe(401)
  })

  test('a token signed with another key under our key id: 401', async () => {
    expect((await get('/odata/v4/router/Assignments', token({ scope: scopes('RouterWriter') }, stranger.privateKey))).status).toBe(401)
  })

  test('a valid token without any of our scopes: 403', async () => {
    const jwt = token({ scope: ['openid'] })
    for (const url of ['/odata/v4/router/Assignments', '/odata/v4/analytics/Models', '/odata/v4/admin/Agents'])
      expect([url, (await get(url, jwt)).status]).toEqual([url, 403])
  })

  test.each([
    ['RouterWriter', { router: 200, analytics: 403, admin: 403 }],
    ['Analyst', { router: 403, analytics: 200, admin: 403 }],
    ['Admin', { router: 200, analytics: 200, admin: 200 }],
  ])('scope %s: each service answers as its @requires says', async (role, expected) => {
    const jwt = token({ scope: scopes(role) })
    const statuses = {
      router: (await get('/odata/v4/router/Assignments?$top=1', jwt)).status,
      analytics: (await get('/odata/v4/analytics/ModelPerformance', jwt)).status,
      admin: (await get('/odata/v4/admin/Models?$top=1', jwt)).status,
    }
    expect(statuses).toEqual(expected)
  })

  test('the router\'s client-credentials token (RouterWriter from `authorities`) ingests; without it 403', async () => {
    const body = JSON.stringify({ metrics: [metric({ agent_ID: 'cc-agent', model_ID: 'cc-model' })] })
    const ingest = (jwt: string) => fetch(`${server.url}/odata/v4/router/ingest`, {
      method: 'POST', headers: { authorization: `Bearer ${jwt}`, 'content-type': 'application/json' }, body,
    })
    expect((await ingest(clientCredentials())).status).toBe(403)
    const res = await ingest(clientCredentials('RouterWriter'))
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({ metrics: { accepted: 1, duplicates: 0 } })
    const agent = await get(`/odata/v4/router/Agents('cc-agent')`, clientCredentials('RouterWriter'))
    expect(await agent.json()).toMatchObject({ ID: 'cc-agent', autoRegistered: true, createdBy: 'system' })
  })
})
