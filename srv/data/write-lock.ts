import cds from '@sap/cds'
import { WriteLocks } from '#cds-models/router'
import { onSQLite, tableOf } from './plain-sql.ts'

/**
 * Serializes writers of rollups and registrations across transactions and instances: an UPDATE
 * takes the row lock on PostgreSQL and HANA until commit, and the write lock on SQLite.
 */
export async function lockWriters() {
  const lockedAt = new Date().toISOString()
  // the first statement of every write transaction: on SQLite past CAP's query layer, as the rest of the write path
  if (onSQLite()) await cds.run(`UPDATE ${tableOf(WriteLocks as unknown as cds.entity)} SET lockedAt = ? WHERE ID = 'rollups'`, [lockedAt])
  else await UPDATE(WriteLocks, 'rollups').with({ lockedAt })
}

/** The last write queued in each open transaction. */
const lastWriteOf = new WeakMap<object, Promise<unknown>>()

/**
 * Runs `write` as the only writer of rollups: after every write queued before it in the same
 * transaction (the requests of a $batch change set run concurrently in one transaction, and each
 * reads rollup rows that the others write back), and holding the write lock against other
 * transactions and instances until commit.
 */
export function writeInTurn<T>(write: () => Promise<T>): Promise<T> {
  const locked = () => lockWriters().then(write)
  const tx = (cds.context as { tx?: object } | undefined)?.tx
  if (!tx) return locked()
  const turn = (lastWriteOf.get(tx) ?? Promise.resolve()).then(locked, locked)
  lastWriteOf.set(tx, turn.catch(() => undefined))
  return turn
}
