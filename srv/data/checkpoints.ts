import cds from '@sap/cds'

/**
 * Pages SQLite's write-ahead log holds before a commit copies them back into the database file (a
 * checkpoint, run by the committing connection); SQLite's default is 1,000. An ingest call of 1,000
 * records writes about 330 pages to the log, most of them the same rollup and index pages as the calls
 * before, and a checkpoint copies each page once however often it was written since the last one: every
 * 4,000 pages instead of every 1,000, a call of 1,000 records took about 3 ms less over 300 calls
 * (docs/performance.md). The log file then stays at about 16 MB.
 */
export const CHECKPOINT_PAGES = 4000

/**
 * Sets the checkpoint interval on the connection of `db` (a database service with one pooled
 * connection, as CAP has for SQLite): the server's and each write worker's. The server's commits (single
 * POSTs, `$batch`) then do not find the log above SQLite's default and checkpoint on the event loop.
 */
export async function spaceOutCheckpoints(db: cds.DatabaseService | undefined) {
  const sqlite = db as cds.DatabaseService & { kind?: string; url4?: () => string } | undefined
  if (sqlite?.kind === 'sqlite' && sqlite.url4?.() !== ':memory:') await sqlite.run(`PRAGMA wal_autocheckpoint = ${CHECKPOINT_PAGES}`)
}
