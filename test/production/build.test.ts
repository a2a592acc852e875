import cds from '@sap/cds'
import { execFileSync, spawn } from 'node:child_process'
import { createServer } from 'node:net'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { INDEXES } from '../../srv/data/indexes'

/**
 * `npm run build` as `mbt build` runs it, on a copy of the project (so that it neither races with
 * anyone's gen/ nor ships their local SQLite file): what lands in gen/db and gen/srv.
 */
const root = path.resolve(__dirname, '../..')
const project = fs.mkdtempSync(path.join(os.tmpdir(), 'router-odata-build-'))
const gen = (...segments: string[]) => path.join(project, 'gen', ...segments)
const hanaDir = gen('db/src/gen')

const NOT_COPIED = new Set(['node_modules', '.git', 'gen', 'coverage', 'mta_archives', '.bench', 'dist'])
// of test/ only its data, as a checkout has it beside db/data, to prove that the build leaves it out
const copied = (source: string) => {
  const relative = path.relative(root, source)
  if (relative.split(path.sep)[0] === 'test') return relative === 'test' || relative.startsWith(path.join('test', 'data'))
  return !NOT_COPIED.has(path.basename(source)) && !/\.sqlite(-\w+)?$/.test(source)
}
const files = (dir: string, suffix: string): string[] => fs.readdirSync(dir, { recursive: true, encoding: 'utf8' })
  .filter(f => f.endsWith(suffix)).sort()

let buildOutput = ''
beforeAll(() => {
  fs.cpSync(root, project, { recursive: true, filter: copied })
  fs.symlinkSync(path.join(root, 'node_modules'), path.join(project, 'node_modules'), 'dir')
  try {
    buildOutput = execFileSync('npm', ['run', 'build'], { cwd: project, encoding: 'utf8', stdio: 'pipe', timeout: 240_000 })
  } catch (e) {
    const { stdout, stderr } = e as { stdout?: string; stderr?: string }
    throw new Error(`npm run build failed:\n${stdout}\n${stderr}`)
  }
}, 300_000)
afterAll(() => fs.rmSync(project, { recursive: true, force: true }))

interface Definition { kind?: string; query?: object; projection?: object; '@cds.persistence.skip'?: boolean; '@odata.draft.enabled'?: boolean }

describe('npm run build: HANA artifacts in gen/db', () => {
  let definitions: [string, Definition][], persisted: [string, Definition][]
  beforeAll(async () => {
    const csn = await cds.load('*') as { definitions: Record<string, Definition> }
    definitions = Object.entries(csn.definitions).filter(([, d]) => d.kind === 'entity')
    // @cds.persistence.skip (also 'if-unused' of sap.common code lists) covers the entity's texts, too
    const skipped = (name: string): boolean => Boolean(csn.definitions[name]?.['@cds.persistence.skip'])
      || (name.endsWith('.texts') && skipped(name.slice(0, -'.texts'.length)))
    persisted = definitions.filter(([name]) => !skipped(name))
  })

  test('ran cds build; gen/db is an HDI deployer', () => {
    expect(buildOutput).toMatch(/build completed/)
    const deployer = JSON.parse(fs.readFileSync(gen('db/package.json'), 'utf8'))
    expect(Object.keys(deployer.dependencies)).toContain('@sap/hdi-deploy')
    expect(deployer.scripts.start).toMatch(/@sap\/hdi-deploy\/deploy\.js/)
  })

  test('an .hdbtable for every persisted entity, an .hdbview for every view', () => {
    const tables = persisted.filter(([, d]) => !d.query && !d.projection).map(([name]) => name)
    const views = persisted.filter(([, d]) => d.query || d.projection).map(([name]) => name)
    expect(tables).toEqual(expect.arrayContaining(['router.InferenceMetrics', 'router.RoutingDecisions', 'router.HourlyRollups']))
    expect(views).toEqual(expect.arrayContaining(['AnalyticsService.ModelPerformance', 'RouterService.Assignments']))
    const missing = [
      ...tables.filter(name => !fs.existsSync(path.join(hanaDir, `${name}.hdbtable`))).map(name => `${name}.hdbtable`),
      ...views.filter(name => !fs.existsSync(path.join(hanaDir, `${name}.hdbview`))).map(name => `${name}.hdbview`),
    ]
    expect(missing).toEqual([])
  })

  test('drafts get their tables; entities skipped by @cds.persistence.skip get nothing', () => {
    const drafts = definitions.filter(([, d]) => d['@odata.draft.enabled']).map(([name]) => name)
    expect(drafts).toContain('AdminService.Assignments')
    for (const name of drafts) expect(fs.existsSync(path.join(hanaDir, `${name}_drafts.hdbtable`))).toBe(true)
    expect(files(hanaDir, '.hdbtable').concat(files(hanaDir, '.hdbview')).filter(f => f.includes('Summary24h'))).toEqual([])
  })

  test('only configuration becomes HDI table data: the write-lock row; the demo agents, models and assignments (test/data) do not', () => {
    expect(fs.readdirSync(path.join(root, 'db/data'))).toEqual(['router-WriteLocks.csv'])
    expect(fs.readdirSync(path.join(project, 'test/data')).sort()).toEqual(['router-Agents.csv', 'router-Assignments.csv', 'router-Models.csv'])
    expect(files(gen(), '.csv').concat(files(gen(), '.hdbtabledata'))).toEqual(['db/src/gen/data/router-WriteLocks.csv', 'db/src/gen/data/router-WriteLocks.hdbtabledata'])
    const csv = path.join(hanaDir, 'data/router-WriteLocks.csv')
    expect(fs.readFileSync(csv, 'utf8')).toBe(fs.readFileSync(path.join(root, 'db/data/router-WriteLocks.csv'), 'utf8'))
    const tabledata = JSON.parse(fs.readFileSync(csv.replace(/\.csv$/, '.hdbtabledata'), 'utf8'))
    expect(tabledata.imports).toEqual([expect.objectContaining({ target_table: 'ROUTER_WRITELOCKS', source_data: expect.objectContaining({ file_name: 'router-WriteLocks.csv' }) })])
  })

  test('the indexes of srv/data/indexes.ts land in gen/db as .hdbindex files, on tables and columns that exist', () => {
    const indexes = files(gen('db/src'), '.hdbindex').filter(f => !f.startsWith('gen'))
    const parsed = indexes.map(file => {
      const [, name, table, columns] = fs.readFileSync(gen('db/src', file), 'utf8')
        .match(/^INDEX\s+(\w+)\s+ON\s+(\w+)\s*\(([^)]+)\)\s*$/) ?? []
      return { file, name, table, columns: columns?.split(',').map(c => c.trim()) }
    })
    // the list that SQLite and PostgreSQL get at start-up, as `name ON table (columns)`
    expect(parsed.map(({ name, table, columns }) => `${name} ON ${table} (${columns!.join(', ')})`).sort()).toEqual([...INDEXES].sort())
    for (const { table, columns } of parsed) {
      const ddl = fs.readFileSync(path.join(hanaDir, `${table!.replace('_', '.')}.hdbtable`), 'utf8')
      expect(ddl).toMatch(new RegExp(`^COLUMN TABLE ${table} \\(`))
      for (const column of columns!) expect(ddl).toMatch(new RegExp(`^\\s+${column} `, 'm'))
    }
    const hdiconfig = JSON.parse(fs.readFileSync(gen('db/src/.hdiconfig'), 'utf8'))
    expect(hdiconfig.file_suffixes.hdbindex.plugin_name).toBe('com.sap.hana.di.index')
  })
})

describe('npm run build: the service in gen/srv', () => {
  const srv = (...segments: string[]) => gen('srv', ...segments)
  const sources = ['server.ts', ...files(path.join(root, 'srv'), '.ts').map(f => `srv/${f}`)]

  test('JavaScript for server.ts and every srv/**/*.ts', () => {
    expect(sources).toEqual(expect.arrayContaining(['server.ts', 'srv/router-service/service.ts', 'srv/http/request-guards.ts']))
    expect(sources.filter(ts => !fs.existsSync(srv(ts.replace(/\.ts$/, '.js'))))).toEqual([])
  })

  test('relative .ts imports are rewritten to .js; #cds-models imports resolve inside gen/srv', () => {
    const modules = sources.map(ts => srv(ts.replace(/\.ts$/, '.js')))
    const models = new Set<string>()
    for (const js of modules) {
      const code = fs.readFileSync(js, 'utf8')
      expect(code).not.toMatch(/require\("\.{1,2}\/[^"]*\.ts"\)/)
      for (const [, relative] of code.matchAll(/require\("(\.{1,2}\/[^"]+)"\)/g))
        expect(fs.existsSync(path.resolve(path.dirname(js), relative))).toBe(true)
      for (const [, model] of code.matchAll(/require\("(#cds-models\/[^"]+)"\)/g)) models.add(model)
    }
    expect([...models]).toEqual(expect.arrayContaining(['#cds-models/router', '#cds-models/RouterService']))
    // resolved by node itself from gen/srv (jest's own require would apply its moduleNameMapper)
    const resolved = JSON.parse(execFileSync(process.execPath, ['-e',
      `console.log(JSON.stringify(${JSON.stringify([...models])}.map(m => require.resolve(m))))`], { cwd: srv(), encoding: 'utf8' }))
    expect(resolved).toEqual([...models].map(m => srv('@cds-models', m.slice('#cds-models/'.length), 'index.js')))
  })

  test('gen/srv/package.json: runtime dependencies, #cds-models imports, and only `npm start` (no typer, no TypeScript)', () => {
    const pkg = JSON.parse(fs.readFileSync(srv('package.json'), 'utf8'))
    expect(pkg.scripts).toEqual({ start: 'cds-serve' })
    expect(Object.keys(pkg.dependencies)).toEqual(expect.arrayContaining(['@sap/cds', '@cap-js/hana', '@sap/xssec', 'express']))
    expect(pkg.imports['#cds-models/*']).toBe('./@cds-models/*/index.js')
    expect(fs.existsSync(srv('package-lock.json'))).toBe(true)
  })

  test('nothing that production does not run: no TypeScript sources or declarations, no test configuration, no demo data', () => {
    const all = fs.readdirSync(srv(), { recursive: true, encoding: 'utf8' })
    expect(all.filter(f => /\.(ts|mts|cts)$/.test(f))).toEqual([])
    expect(fs.readdirSync(srv()).filter(f => /\.[cm]?js$/.test(f))).toEqual(['server.js'])
    expect(all.filter(f => f.endsWith('.csv') || f.split(path.sep).includes('test'))).toEqual([])
    // the model's JavaScript for the #cds-models imports, one module per namespace and service
    const models = all.filter(f => f.startsWith('@cds-models')).filter(f => fs.statSync(srv(f)).isFile()).sort()
    expect(models).toEqual(files(path.join(root, '@cds-models'), 'index.js').map(f => path.join('@cds-models', f)))
  })

  test('gen/srv starts as Cloud Foundry starts it (npm start, NODE_ENV=production): no models until the router registers them, an operator prices them, the analytics read', async () => {
    fs.symlinkSync(path.join(root, 'node_modules'), srv('node_modules'), 'dir')
    const port = await new Promise<number>(resolve => {
      const probe = createServer().listen(0, () => { const { port } = probe.address() as { port: number }; probe.close(() => resolve(port)) })
    })
    const env: NodeJS.ProcessEnv = {
      ...process.env, NODE_ENV: 'production', PORT: String(port),
      CDS_CONFIG: JSON.stringify({ requires: { db: { kind: 'sqlite', credentials: { url: ':memory:' } }, auth: { kind: 'mocked' } } }),
    }
    delete env.CDS_TYPESCRIPT // production loads .js only
    const child = spawn('npm', ['start'], { cwd: srv(), env, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
    let output = ''
    child.stdout.on('data', d => { output += d }); child.stderr.on('data', d => { output += d })
    const url = `http://localhost:${port}`
    const as = (user: string) => ({ authorization: 'Basic ' + Buffer.from(`${user}:${user}`).toString('base64'), 'content-type': 'application/json' })
    try {
      for (let i = 0; !(await fetch(`${url}/health`).then(r => r.ok, () => false)); i++) {
        if (child.exitCode !== null || i > 300) throw new Error(`gen/srv did not start:\n${output}`)
        await new Promise(r => setTimeout(r, 100))
      }
      expect(output).toMatch(/bootstrapping from \{ file: 'server\.js' \}/)
      expect(output).toMatch(/impl: 'srv\/router-service\/service\.js'/)

      // a first production start has no demo rows: the router's first write registers its agents and models
      const models = await fetch(`${url}/odata/v4/router/Models`, { headers: as('router') })
      expect(models.status).toBe(200)
      expect((await models.json()).value).toEqual([])

      const ingest = await fetch(`${url}/odata/v4/router/ingest`, {
        method: 'POST', headers: as('router'),
        body: JSON.stringify({ metrics: [{ ID: crypto.randomUUID(), agent_ID: 'built-agent', model_ID: 'built-model', latencyMs: 250, inputTokens: 10, outputTokens: 5, success: true, recordedAt: '2026-11-20T10:00:00Z' }] }),
      })
      expect(ingest.status).toBe(200)
      expect(await ingest.json()).toMatchObject({ metrics: { accepted: 1, duplicates: 0 } })

      const registered = await fetch(`${url}/odata/v4/router/Models`, { headers: as('router') })
      const prices = (m: Record<string, unknown>) => [m.ID, m.autoRegistered, Number(m.inputPricePer1M), Number(m.outputPricePer1M)]
      expect((await registered.json()).value.map(prices)).toEqual([['built-model', true, 0, 0]])

      // the operator prices it (README), and the router's next metrics cost accordingly: (10 * 2.5 + 5 * 10) / 1M USD
      const priced = await fetch(`${url}/odata/v4/admin/Models('built-model')`, {
        method: 'PATCH', headers: as('admin'), body: JSON.stringify({ inputPricePer1M: 2.5, outputPricePer1M: 10 }),
      })
      expect(priced.status).toBe(200)
      const second = { ID: crypto.randomUUID(), agent_ID: 'built-agent', model_ID: 'built-model', latencyMs: 250, inputTokens: 10, outputTokens: 5, success: true, recordedAt: '2026-11-20T10:00:01Z' }
      expect((await fetch(`${url}/odata/v4/router/ingest`, { method: 'POST', headers: as('router'), body: JSON.stringify({ metrics: [second] }) })).status).toBe(200)
      const cost = await fetch(`${url}/odata/v4/analytics/InferenceMetrics(${second.ID})?$select=cost`, { headers: as('analyst') })
      expect(Number((await cost.json()).cost)).toBeCloseTo(0.000075, 12)

      const performance = await fetch(`${url}/odata/v4/analytics/ModelPerformance('built-model')`, { headers: as('analyst') })
      expect(performance.status).toBe(200)
      const row = await performance.json()
      expect(row).toMatchObject({ model_ID: 'built-model', avgLatencyMs: 250 })
      expect(Number(row.requests)).toBe(2) // Edm.Int64 arrives as a JSON string here

      // the request guards of server.ts are installed
      expect((await fetch(`${url}/odata/v4/router/Agents/%ff`)).status).toBe(400)
    } finally {
      // npm runs the server as its child: end the whole process group
      await new Promise<void>(resolve => { if (child.exitCode !== null) return resolve(); child.once('exit', () => resolve()); process.kill(-child.pid!, 'SIGTERM') })
    }
  }, 60_000)
})
