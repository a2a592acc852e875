import cds from '@sap/cds'

type Row = Record<string, unknown>
/** What the rows of the write path hold: strings, numbers, booleans, nulls. */
type Value = string | number | boolean | null

/** The stored columns of an entity: its elements except associations, whose foreign keys are elements of their own. */
const columnsOf = (entity: cds.entity): string[] =>
  Object.values(entity.elements).filter(e => !(e instanceof cds.Association) && !e.virtual).map(e => e.name)

/**
 * Writes all rows of a call in one statement. Rows go to CAP as arrays over the entity's columns
 * (`columns().rows()`), which costs CAP's SQL layer about half of what `entries()` costs for the
 * same rows (docs/performance.md): no per-row key filling or deep-insert analysis, less JSON.
 * Absent values are stored as null, so callers fill in the defaults they rely on.
 */
export async function writeAll(entity: new () => object, rows: Row[], { upsert = false } = {}) {
  if (!rows.length) return
  const target = entity as unknown as cds.entity, columns = columnsOf(target)
  const values = rows.map(row => columns.map(c => (row[c] ?? null) as Value))
  await (upsert ? UPSERT : INSERT).into(target).columns(...columns).rows(values)
}
