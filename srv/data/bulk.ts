import cds from '@sap/cds'
import { onSQLite, onPostgres, tableOf, columnsOf, runOnce, preparedOnSQLite } from './plain-sql.ts'

type Row = Record<string, unknown>
/** What the rows of the write path hold: strings, numbers, booleans, nulls. */
type Value = string | number | boolean | null

/**
 * Writes all rows of a call in one go, as arrays over the entity's columns: on SQLite and PostgreSQL
 * as plain SQL (below), elsewhere (SAP HANA) through CAP's `columns().rows()`, which costs its SQL
 * layer about half of what `entries()` costs for the same rows (docs/performance.md): no per-row key
 * filling or deep-insert analysis, less JSON. Absent values are stored as null, so callers fill in
 * the defaults they rely on.
 */
export async function writeAll(entity: new () => object, rows: object[], { upsert = false } = {}) {
  if (!rows.length) return
  const target = entity as unknown as cds.entity, columns = columnsOf(target)
  const values = rows.map(row => columns.map(c => ((row as Row)[c] ?? null) as Value))
  if (onSQLite()) return insertPrepared(target, columns, values, upsert)
  if (onPostgres()) return insertArrays(target, columns, values, upsert)
  await (upsert ? UPSERT : INSERT).into(target).columns(...columns).rows(values)
}

/**
 * On SQLite, rows go through one prepared INSERT run once per row, in the caller's transaction.
 * CAP's bulk INSERT sends the rows as one JSON text that SQLite parses back and whose timestamps it
 * canonicalizes by calling into JavaScript value by value, and its UPSERT first turns the rows back
 * into objects to fill in keys; the write path's rows are whole and in stored form already (canonical
 * ISO timestamps, no managed fields), so none of it is needed, and an upsert replaces the row of its
 * key. Booleans are SQLite's 1 and 0. The statement is prepared once per connection (see
 * preparedOnSQLite), and runs row by row without a promise for each.
 */
function insertPrepared(entity: cds.entity, columns: string[], values: Value[][], replace: boolean) {
  for (const row of values) for (let i = 0; i < row.length; i++) if (typeof row[i] === 'boolean') row[i] = Number(row[i])
  const sql = `INSERT ${replace ? 'OR REPLACE ' : ''}INTO ${tableOf(entity)} (${columns}) VALUES (${columns.map(() => '?')})`
  const insert = preparedOnSQLite(sql)
  if (!insert) return cds.run(sql, values as never)
  for (const row of values) insert.run(row)
}

/**
 * On PostgreSQL, rows go as one array per column, unnested into rows by the database: one statement
 * whose text is the same for any number of rows (prepared once per connection). CAP's bulk INSERT and
 * UPSERT send the rows as a JSON stream, which costs a temporary table, a COPY into it and a JSON
 * parse per column value, two thirds of the database's time for an ingest call (docs/performance.md).
 * An upsert updates the row of its key with the given values, as CAP's UPSERT does.
 */
function insertArrays(entity: cds.entity, columns: string[], values: Value[][], upsert: boolean) {
  const arrays = columns.map((_, i) => values.map(row => row[i]))
  const keys = columns.filter(c => entity.elements[c].key), others = columns.filter(c => !entity.elements[c].key)
  const conflict = upsert ? ` ON CONFLICT (${keys}) DO UPDATE SET ${others.map(c => `${c} = excluded.${c}`)}` : ''
  const unnest = columns.map((c, i) => `$${i + 1}::${arrayTypeOf(entity.elements[c])}[]`)
  return runOnce(`INSERT INTO ${tableOf(entity)} (${columns}) SELECT * FROM unnest(${unnest})${conflict}`, arrays)
}

/** PostgreSQL's type of a column's values as the arrays carry them; the column's own type takes them on insert. */
const ARRAY_TYPES: Record<string, string> = {
  'cds.UUID': 'text', 'cds.String': 'text', 'cds.LargeString': 'text', 'cds.Boolean': 'boolean', 'cds.Timestamp': 'timestamp',
  'cds.Integer': 'integer', 'cds.Int64': 'bigint', 'cds.Double': 'float8', 'cds.Decimal': 'numeric',
}
function arrayTypeOf(element: { name: string; _type?: string }) {
  const type = ARRAY_TYPES[element._type!]
  if (!type) throw new Error(`The write path has no PostgreSQL array type for ${element.name} (${element._type})`)
  return type
}
