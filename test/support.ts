import cds from '@sap/cds'
import path from 'node:path'
import { randomUUID } from 'node:crypto'

export const root = path.resolve(__dirname, '..')

/**
 * Starts the gateway in-process; statuses are asserted, never thrown. On SQLite (profile test) the
 * database is in memory; with the pg profile each test file gets a schema of its own in PostgreSQL.
 */
export function launch() {
  if (cds.env.requires.db.kind === 'postgres') ownPostgresSchema()
  const test = cds.test(root)
  test.axios.defaults.validateStatus = () => true
  return test
}

/** A fresh schema for this test file, deployed with the model and master data before the server starts. */
function ownPostgresSchema() {
  const schema = `test_${process.pid}_${Date.now().toString(36)}`
  const admin = async (sql: string) => {
    const { credentials } = cds.env.requires.db
    const pg = await cds.connect.to(`pg-admin-${schema}`, { kind: 'postgres', credentials: { ...credentials, schema: undefined } } as object) as cds.DatabaseService
    try { await pg.run(sql) } finally { await (pg as unknown as { disconnect(): Promise<void> }).disconnect() }
  }
  beforeAll(async () => {
    await admin(`CREATE SCHEMA "${schema}"`)
    cds.env.requires.db.credentials.schema = schema
    const { deploy } = cds as unknown as { deploy: (model: string) => { to: (db: object) => Promise<unknown> } }
    await deploy('*').to(await cds.connect.to('db'))
  })
  afterAll(() => admin(`DROP SCHEMA "${schema}" CASCADE`))
}

/** Runs `provoke`, whose server error a test causes on purpose, with the OData adapter's error log off meanwhile. */
export async function withoutErrorLog<T>(provoke: () => Promise<T>): Promise<T> {
  const { level } = cds.log('odata') as unknown as { level: number } // cds.log's own field, not in @cap-js/cds-types
  cds.log('odata', 'silent')
  try { return await provoke() } finally { cds.log('odata', level) }
}

export const as = (user: 'router' | 'analyst' | 'admin' | 'nobody') => ({ auth: { username: user, password: user } })

export const router = as('router'), analyst = as('analyst'), admin = as('admin')

export const uuid = () => randomUUID()

/** A valid inference metric; pass what a test cares about. */
export const metric = (o: Record<string, unknown> = {}) => ({
  ID: uuid(), agent_ID: 'support-bot', model_ID: 'gpt-4o', latencyMs: 420, inputTokens: 1000, outputTokens: 200,
  success: true, recordedAt: '2026-11-20T10:15:00.000Z', ...o,
})

/** A valid routing decision with two candidates; pass what a test cares about. */
export const decision = (o: Record<string, unknown> = {}) => ({
  ID: uuid(), requestId: 'req-1', agent_ID: 'support-bot', model_ID: 'gpt-4o', strategy: 'balanced', score: 0.8,
  fallback: false, decidedAt: '2026-11-20T10:14:59.000Z',
  candidates: [{ model_ID: 'gpt-4o', score: 0.8, rank: 1 }, { model_ID: 'gpt-4o-mini', score: 0.7, rank: 2 }], ...o,
})
