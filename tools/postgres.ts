import cds from '@sap/cds'

/** PostgreSQL as the pg profile of .cdsrc.json and CI have it: 127.0.0.1:5432, user postgres (password postgres, or trust). */
export const postgres = { host: '127.0.0.1', port: 5432, user: 'postgres', password: 'postgres', database: 'postgres' }

/** `work` on a connection of its own to a PostgreSQL database, closed afterwards. */
export async function onPostgres(work: (db: cds.DatabaseService) => Promise<unknown>, credentials: object = postgres) {
  const db = await cds.connect.to(`pg-${Math.random()}`, { kind: 'postgres', credentials } as object) as cds.DatabaseService
  try { await work(db) } finally { await (db as unknown as { disconnect(): Promise<void> }).disconnect() }
}

/**
 * `cds.deploy(model).to(db, options)`, with `db` as the primary database (cds.db) meanwhile: cds.deploy takes
 * its SQL placeholders from cds.db, not from `db`, and fails on PostgreSQL where cds.db is SQLite.
 */
export async function deployModel(model: string | object, db: cds.DatabaseService, options = {}) {
  const { deploy } = cds as unknown as { deploy: (model: string | object) => { to: (db: object, options: object) => Promise<unknown> } }
  const primary = cds as { db?: unknown }, before = primary.db
  primary.db = db
  try { await deploy(model).to(db, options) } finally { primary.db = before }
}

/** The model and master data into a database (into `credentials.schema`, if given), as `cds deploy` does: for gateways started as processes. */
export const deployTo = (credentials: object) => onPostgres(db => deployModel('*', db), credentials)
