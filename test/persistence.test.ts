import { mkdtempSync, rmSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { startServer, basic } from '../tools/server-process'
import { metric } from './support'

/** The local run: a SQLite file that is created on first start and keeps its rows across restarts. */
describe('persistence on the SQLite file', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'router-odata-'))
  const file = path.join(dir, 'router.sqlite')
  const config = { requires: { db: { kind: 'sqlite', credentials: { url: file } } } }
  const start = () => startServer(config, { CDS_PLUGIN_UI5_ACTIVE: 'false' }) // OData only: no UI5 apps needed here
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  const json = (url: string, init: RequestInit = {}) =>
    fetch(url, { ...init, headers: { 'content-type': 'application/json', ...basic('router'), ...init.headers } })

  test('the first start creates the database with its master data, and data survives a restart', async () => {
    const m = metric()
    let server = await start()
    try {
      expect(existsSync(file)).toBe(true)
      expect(Number(await (await json(`${server.url}/odata/v4/router/Models/$count`)).text())).toBeGreaterThanOrEqual(12)
      const stored = await json(`${server.url}/odata/v4/router/ingest`, { method: 'POST', body: JSON.stringify({ metrics: [m] }) })
      expect(stored.status).toBe(200)
      const price = await json(`${server.url}/odata/v4/router/Models('gpt-4o')`, { method: 'PATCH', body: JSON.stringify({ inputPricePer1M: 2.75 }) })
      expect(price.status).toBe(200)
    } finally { await server.stop() }

    server = await start()
    try {
      const again = await json(`${server.url}/odata/v4/router/InferenceMetrics(${m.ID})`)
      expect(again.status).toBe(200)
      expect((await again.json()).latencyMs).toBe(m.latencyMs)
      // the master data is not loaded again over what was changed
      expect((await (await json(`${server.url}/odata/v4/router/Models('gpt-4o')`)).json()).inputPricePer1M).toBe('2.7500')
      const pairs = await fetch(`${server.url}/odata/v4/analytics/AgentModelPairs`, { headers: basic('analyst') })
      expect((await pairs.json()).value).toEqual([expect.objectContaining({ agent_ID: m.agent_ID, model_ID: m.model_ID, requests: '1' })])
    } finally { await server.stop() }
  })

  test('GET /health answers 200 while the database answers and 503 when it does not', async () => {
    const server = await start()
    try {
      const up = await fetch(`${server.url}/health`)
      expect(up.status).toBe(200)
      const delay = { p50: expect.any(Number), p99: expect.any(Number), max: expect.any(Number) } // ms, since the previous call
      expect(await up.json()).toEqual({ status: 'UP', eventLoopDelayMs: delay })
      const db = new DatabaseSync(file)
      db.exec('ALTER TABLE router_Agents RENAME TO router_Agents_away')
      const down = await fetch(`${server.url}/health`)
      expect(down.status).toBe(503)
      db.exec('ALTER TABLE router_Agents_away RENAME TO router_Agents')
      db.close()
      expect((await fetch(`${server.url}/health`)).status).toBe(200)
    } finally { await server.stop() }
  })
})
