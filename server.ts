import cds from '@sap/cds'
import type { Application, Request, Response, NextFunction } from 'express'
import { Agents } from '#cds-models/router'

cds.on('bootstrap', (app: Application) => {
  app.use(rejectMalformedURLs)
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

cds.on('served', deployLocalDatabase)

/**
 * Malformed percent-encoding makes `decodeURI` throw inside CAP's request logging and takes the
 * whole server down; control characters have no business in a URL either. Both get a 400 here.
 */
function rejectMalformedURLs(req: Request, res: Response, next: NextFunction) {
  try {
    decodeURIComponent(req.url.replace(/\+/g, ' '))
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u001f\u007f]/.test(decodeURIComponent(req.url))) throw new URIError('control character')
  } catch {
    return res.status(400).json({ error: { code: '400', message: 'Malformed URL: invalid percent-encoding or control characters' } })
  }
  next()
}

/**
 * A file-based SQLite database is created with its master data on first start and keeps its rows
 * across restarts; later starts only add what the model gained (CAP's schema evolution).
 */
async function deployLocalDatabase() {
  const db = cds.db as cds.DatabaseService & { kind?: string; url4?: (tenant?: string) => string }
  if (db?.kind !== 'sqlite' || db.url4?.() === ':memory:') return
  const [exists] = await db.run(`SELECT 1 FROM sqlite_schema WHERE name = 'cds_model'`) as unknown[]
  const model = await cds.load('*').then(cds.minify)
  if (exists) await cds.deploy.schema(db, model, { schema_evolution: 'auto' })
  else await cds.deploy(model).to(db, { schema_evolution: 'auto' })
}
