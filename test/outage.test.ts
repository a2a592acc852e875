import { execFile, execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { startServer, basic, freePort } from '../tools/server-process'
import { traffic, batch, DEFAULT_AGENTS, DEFAULT_MODELS, type Decision, type Metric } from '../tools/workload'
import { expected, groupBy, expectFigures } from './expected'
import { isDatabaseOutage, RETRY_AFTER_SECONDS } from '../srv/data/database-outage'
import { metric } from './support'
import { deployTo } from '../tools/postgres'

/**
 * A database outage under load: the gateway runs as its own process on a PostgreSQL cluster of this
 * test's own, two routers ingest, and the cluster is stopped (`pg_ctl stop -m fast`, as a restart or
 * failover does) and started again. Meanwhile every request answers 503 fast and the process lives;
 * afterwards it serves by itself, and every acknowledged record is stored exactly once.
 */

/** Debian's layout, /usr/lib/postgresql/<major>/bin: the newest major there is. */
const bin = fs.globSync('/usr/lib/postgresql/*/bin/initdb')
  .sort((a, b) => Number(a.split('/')[4]) - Number(b.split('/')[4])).at(-1)?.replace(/\/initdb$/, '')
if (!bin) console.warn('initdb of PostgreSQL is not installed (/usr/lib/postgresql/*/bin): skipping the database outage test')

const run = promisify(execFile)

/** A cluster in a temporary folder on a free port, trust auth; as the postgres user when we are root, since initdb refuses root. */
class OwnCluster {
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'router-outage-'))
  readonly data = path.join(this.dir, 'data')
  port = 0
  private readonly root = process.getuid?.() === 0

  private tool(name: string, ...args: string[]) {
    const command = path.join(bin!, name)
    const [file, argv] = this.root ? ['runuser', ['-u', 'postgres', '--', command, ...args]] : [command, args]
    return run(file, argv, { timeout: 60_000 })
  }

  async init() {
    if (this.root) {
      const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }))
      fs.chownSync(this.dir, id('-u'), id('-g'))
    }
    await this.tool('initdb', '-D', this.data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--locale=C', '--no-sync')
    this.port = await freePort()
    await this.start()
  }

  start() {
    return this.tool('pg_ctl', '-D', this.data, '-l', path.join(this.dir, 'server.log'), '-w', '-t', '30',
      '-o', `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1`, 'start')
  }

  stop(mode: 'fast' | 'immediate' = 'fast') {
    return this.tool('pg_ctl', '-D', this.data, '-w', '-t', '30', '-m', mode, 'stop')
  }

  async remove() {
    if (fs.existsSync(path.join(this.data, 'postmaster.pid'))) await this.stop('immediate').catch(() => undefined)
    fs.rmSync(this.dir, { recursive: true, force: true })
  }

  get credentials() { return { host: '127.0.0.1', port: this.port, user: 'postgres', database: 'postgres' } }
}

interface Call { at: number; ms: number; status: number; retryAfter: string | null }
type Payload = { decisions: Decision[]; metrics: Metric[] }

const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms))
const PAIRS_A_CALL = 20, MAX_CALLS_A_CLIENT = 1500, CLIENTS = 2

const describeWithPostgres = bin ? describe : describe.skip
describeWithPostgres('database outage', () => {
  const cluster = bin ? new OwnCluster() : undefined!
  let server: Awaited<ReturnType<typeof startServer>>
  beforeAll(async () => {
    await cluster.init()
    await deployTo(cluster.credentials)
    server = await startServer({ requires: { db: { kind: 'postgres', credentials: cluster.credentials } } }, { CDS_PLUGIN_UI5_ACTIVE: 'false' })
  }, 180_000)
  afterAll(async () => {
    await server?.stop()
    await cluster.remove()
  }, 60_000)

  const post = (url: string, body: object) => fetch(`${server.url}${url}`, {
    method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json', ...basic('router') },
    signal: AbortSignal.timeout(15_000), // a hang shows as status 0 after 15 s
  }).then(async res => ({ status: res.status, retryAfter: res.headers.get('retry-after'), body: await res.text() }),
    () => ({ status: 0, retryAfter: null, body: '' }))
  const get = (url: string, user = 'analyst') => fetch(`${server.url}${url}`, { headers: basic(user), signal: AbortSignal.timeout(15_000) })

  /** The gateway must live through all of it; if it died, its last words say why. */
  const expectAlive = () => { if (!server.alive) throw new Error(`the gateway exited:\n${server.output.slice(-4000)}`) }

  test('503 while PostgreSQL is down, serving again by itself when it is back, every acknowledged record stored once', async () => {
    const calls: Call[] = [], acknowledged: Payload[] = [], unacknowledged: Payload[] = []
    let stopping = false, failed = false
    const now = Date.now()

    /** A router: batches of new records, each retried until acknowledged (ingest is idempotent), as a real router does. */
    const router = async (seed: number) => {
      const source = traffic({ agents: DEFAULT_AGENTS, models: DEFAULT_MODELS, from: new Date(now - 3 * 3600_000), to: new Date(now), seed })
      for (let n = 0; n < MAX_CALLS_A_CLIENT && !stopping; n++) {
        const payload = batch(source, PAIRS_A_CALL)
        for (const giveUpAt = Date.now() + 60_000; ;) {
          const at = Date.now()
          const { status, retryAfter } = await post('/odata/v4/router/ingest', payload)
          calls.push({ at, ms: Date.now() - at, status, retryAfter })
          if (status === 200) { acknowledged.push(payload); break }
          if (Date.now() > giveUpAt || failed) { unacknowledged.push(payload); break }
          await sleep(200) // shorter than Retry-After, to keep the gateway busy through the outage
        }
      }
    }
    const routers = Promise.all(Array.from({ length: CLIENTS }, (_, i) => router(100 + i)))
    const until = async (condition: () => boolean | Promise<boolean>, ms: number, every = 100) => {
      for (const end = Date.now() + ms; Date.now() < end; await sleep(every)) if (await condition()) return Date.now()
      return undefined
    }

    try {
      // both routers write before the outage
      expect(await until(() => acknowledged.length >= 10, 30_000)).toBeDefined()

      const stopIssued = Date.now()
      await cluster.stop('fast')
      const down = Date.now()
      // every call that started once the database was down answers 503, well within 10 s
      await sleep(4000)
      expectAlive()
      const health = await get('/health')
      expect([health.status, await health.json()]).toEqual([503, expect.objectContaining({ status: 'DOWN' })])
      const read = await get('/odata/v4/router/Models', 'router')
      expect(read.status).toBe(503)
      expect(read.headers.get('retry-after')).toBe(String(RETRY_AFTER_SECONDS))
      expect((await read.json()).error).toMatchObject({ code: '503', message: expect.stringMatching(/database is not available.*retry/) })
      expect((await post('/odata/v4/router/InferenceMetrics', metric())).status).toBe(503)
      const batched = await post('/odata/v4/router/$batch', { requests: [{ id: '1', method: 'GET', url: 'Models' }] })
      expect(JSON.parse(batched.body).responses).toEqual([expect.objectContaining({ id: '1', status: 503 })])
      const duringOutage = calls.filter(c => c.at >= down)
      expect(duringOutage.length).toBeGreaterThan(5)
      expect(duringOutage.filter(c => c.status !== 503)).toEqual([])
      expect(duringOutage.filter(c => c.retryAfter !== String(RETRY_AFTER_SECONDS))).toEqual([])
      const slowest = Math.max(...duringOutage.map(c => c.ms))
      expect(slowest).toBeLessThan(10_000)
      const first503 = Math.min(...calls.filter(c => c.status === 503).map(c => c.at + c.ms)) - stopIssued

      await cluster.start()
      const up = Date.now()
      const serving = await until(async () => (await get('/health')).status === 200, 10_000)
      expect(serving).toBeDefined()
      const writing = await until(() => calls.some(c => c.at >= up && c.status === 200), 10_000)
      expect(writing).toBeDefined()
      await sleep(2000)
      expectAlive()
      console.log(`database outage: first 503 ${first503} ms after pg_ctl stop was issued (which took ${down - stopIssued} ms), ` +
        `slowest answer while down ${slowest} ms, ${duringOutage.length} calls answered 503 while down; /health 200 again ` +
        `${serving! - up} ms and the first ingest 200 ${writing! - up} ms after pg_ctl start returned`)
    } catch (e) {
      failed = true // no retrying for a minute against a database that stays down
      throw e
    } finally {
      stopping = true
      await routers
    }

    // nothing answered 500 or hung at any time, and every batch was acknowledged in the end
    expect(calls.filter(c => c.status !== 200 && c.status !== 503)).toEqual([])
    expect(unacknowledged).toHaveLength(0)
    const metrics = acknowledged.flatMap(p => p.metrics), decisions = acknowledged.flatMap(p => p.decisions)
    const count = async (set: string) => Number(await (await get(`/odata/v4/analytics/${set}/$count`)).text())
    expect(await count('InferenceMetrics')).toBe(metrics.length)
    expect(await count('RoutingDecisions')).toBe(decisions.length)
    const rows = (await (await get('/odata/v4/analytics/ModelPerformance')).json()).value as Record<string, unknown>[]
    const byModel = groupBy(metrics, m => m.model_ID)
    expect(rows).toHaveLength(byModel.size)
    for (const row of rows) expectFigures(row, expected(byModel.get(row.model_ID as string)!))
    expectAlive()
  }, 240_000)
})

/** What counts as an outage (503) and what stays the error it is: SQLite's and statement errors are untouched. */
describe('which errors mean the database is not available', () => {
  const coded = (code: string, message = code) => Object.assign(new Error(message), { code })
  test.each([
    ['PostgreSQL shutting down (57P01)', coded('57P01', 'terminating connection due to administrator command'), true],
    ['PostgreSQL starting up (57P03)', coded('57P03', 'the database system is starting up'), true],
    ['too many connections (53300)', coded('53300'), true],
    ['connection refused', coded('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5432'), true],
    ['every address of a host name refused', new AggregateError([coded('ECONNREFUSED'), coded('ECONNREFUSED')]), true],
    ['a connection that dropped', new Error('Connection terminated unexpectedly'), true],
    ['no pooled connection in time', new Error('ResourceRequest timed out'), true],
    ['a connection failure as the cause', new Error('BEGIN failed', { cause: coded('08006') }), true],
    ['PostgreSQL unique violation', coded('23505', 'duplicate key value violates unique constraint'), false],
    ['PostgreSQL syntax error', coded('42601'), false],
    ['SQLite constraint', coded('SQLITE_CONSTRAINT_PRIMARYKEY', 'UNIQUE constraint failed: router_Agents.ID'), false],
    ['SQLite busy', coded('SQLITE_BUSY', 'database is locked'), false],
    ['a 400 of CAP', Object.assign(coded('400', 'Value is required'), { status: 400 }), false],
    ['a remote service refusing (axios)', Object.assign(coded('ECONNREFUSED'), { isAxiosError: true }), false],
  ])('%s', (_, err, outage) => expect(isDatabaseOutage(err)).toBe(outage))
})
