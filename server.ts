import cds from '@sap/cds'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import type { Application, Request, Response } from 'express'
import { Agents } from '#cds-models/router'
import { installRequestGuards } from './srv/http/request-guards.ts'
import { createIndexes } from './srv/data/indexes.ts'
import { spaceOutCheckpoints } from './srv/data/checkpoints.ts'
import { installSecurityHeaders } from './srv/http/security-headers.ts'
import { surviveDatabaseOutages } from './srv/data/database-outage.ts'
import { beginTransactionsInOneRoundTrip } from './srv/data/postgres-session.ts'
import { applyServiceRules } from './srv/service-rules/service-rules.ts'
import { recomputeWithoutETag } from './srv/data/assignment-metrics.ts'
import { installOtlpReceiver } from './srv/otlp/receiver.ts'
import { offloadIngest, startWriteWorkers } from './srv/workers/pool.ts'

// after authentication: a direct ingest call runs in a write worker, off the event loop (srv/workers)
cds.middlewares.add(offloadIngest)

cds.on('bootstrap', (app: Application) => {
  installSecurityHeaders(app)
  surviveDatabaseOutages()
  beginTransactionsInOneRoundTrip()
  installRequestGuards(app)
  app.post(/[./]updateMetrics$/, recomputeWithoutETag) // srv/data/assignment-metrics.ts
  installOtlpReceiver(app) // POST /otlp/v1/traces: OpenTelemetry spans in (srv/otlp)
  // CAP's own /health answers UP without the database; ours asks it, and tells how long requests waited for the event loop
  const loopDelay = eventLoopDelay()
  app.get('/health', async (_req: Request, res: Response) => {
    const eventLoopDelayMs = loopDelay()
    try {
      await SELECT.one.from(Agents).columns('ID')
      res.json({ status: 'UP', eventLoopDelayMs })
    } catch {
      res.status(503).json({ status: 'DOWN', reason: 'database does not answer' })
    }
  })
})

cds.on('served', prepareDatabase)
// protocol rules of every service, which CAP 10 leaves open
cds.on('serving', applyServiceRules)

/**
 * The event loop's delay since the previous call in ms, `{ p50, p99, max }`: how long work that was
 * due (a request, a database answer) waited for the server's one thread.
 */
function eventLoopDelay(resolution = 10) {
  const histogram = monitorEventLoopDelay({ resolution })
  histogram.enable()
  // the histogram holds the intervals of a timer due every `resolution` ms: the delay is what exceeds that
  const ms = (ns: number) => Math.max(0, Math.round((ns / 1e6 - resolution) * 100) / 100)
  return () => {
    const figures = { p50: ms(histogram.percentile(50)), p99: ms(histogram.percentile(99)), max: ms(histogram.max) }
    histogram.reset()
    return figures
  }
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
  await spaceOutCheckpoints(db)
  await startWriteWorkers()
}
