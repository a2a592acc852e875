import cds from '@sap/cds'
import type { Application, Request, Response, NextFunction } from 'express'
import { Agents } from '#cds-models/router'
import { installRequestGuards } from './srv/lib/request-guards.ts'
import { createIndexes } from './srv/lib/indexes.ts'
import { installSecurityHeaders } from './srv/lib/security-headers.ts'
import { surviveDatabaseOutages } from './srv/lib/database-outage.ts'
import { answerWriteConflicts } from './srv/lib/write-conflicts.ts'
import { checkInputTypes } from './srv/lib/input-types.ts'
import { installOtlpReceiver } from './srv/otlp/receiver.ts'

cds.on('bootstrap', (app: Application) => {
  installSecurityHeaders(app)
  surviveDatabaseOutages()
  installRequestGuards(app)
  app.post(/[./]updateMetrics$/, recomputeWithoutETag) // qualified or not (OData 4.01 Part 1 §13.2.1 item 9.5)
  installOtlpReceiver(app) // POST /otlp/v1/traces: OpenTelemetry spans in (srv/otlp)
  // CAP's own /health answers UP without the database; ours asks it.
  app.get('/health', async (_req: Request, res: Response) => {
    try {
      await SELECT.one.from(Agents).columns('ID')
      res.json({ status: 'UP' })
    } catch {
      res.status(503).json({ status: 'DOWN', reason: 'database does not answer' })
    }
  })
})

cds.on('served', prepareDatabase)
// protocol rules of every service, which CAP 10 leaves open
cds.on('serving', (srv: cds.Service) => {
  checkInputTypes(srv)
  answerWriteConflicts(srv)
})

/**
 * `updateMetrics` only derives an assignment's figures from stored metrics and overwrites no one's
 * edit, so unlike other writes of an ETag entity it needs no If-Match: a call without one counts as `*`.
 */
function recomputeWithoutETag(req: Request, _res: Response, next: NextFunction) {
  req.headers['if-match'] ??= '*'
  next()
}

/** cds.deploy, which @cap-js/cds-types does not declare. */
interface Deploy {
  (model: object): { to(db: cds.DatabaseService, options: object): Promise<unknown> }
  schema(db: cds.DatabaseService, model: object, options: object): Promise<unknown>
}

/**
 * A file-based SQLite database is created with its master data on first start and keeps its rows
 * across restarts; later starts only add what the model gained (CAP's schema evolution).
 */
async function prepareDatabase() {
  const db = cds.db as cds.DatabaseService & { kind?: string; url4?: (tenant?: string) => string }
  if (db?.kind === 'sqlite' && db.url4?.() !== ':memory:') {
    const [exists] = await db.run(`SELECT 1 FROM sqlite_schema WHERE name = 'cds_model'`) as unknown[]
    const model = await cds.load('*').then(cds.minify)
    const { deploy } = cds as unknown as { deploy: Deploy }
    if (exists) await deploy.schema(db, model, { schema_evolution: 'auto' })
    else await deploy(model).to(db, { schema_evolution: 'auto' })
  }
  if (db?.kind === 'sqlite' || db?.kind === 'postgres') await createIndexes(db)
}
