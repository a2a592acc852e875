import cds from '@sap/cds'

/**
 * Reads of the rollups and raw rows that both sides share, as plain SQL on SQLite. CAP's query layer
 * there wraps each row into JSON inside SQLite (large text columns escaped into it), parses that JSON
 * back and walks it once more for its metadata: for the rollups' sketch and group texts that is most
 * of a read. Plain SQL returns the stored values as they are (numbers, ISO timestamps, JSON text,
 * booleans as 1 and 0). Elsewhere the same query goes through CAP's query layer.
 */

type Row = Record<string, unknown>

/** A condition or column expression in the CQN subset the data access uses: refs, values, lists, nested expressions, keywords. */
export type Token = string | { ref: [string] } | { val: unknown } | { list: { val: unknown }[] } | { xpr: Token[] }
/** A column: a name, or an expression with its alias. */
export type Column = string | { xpr: Token[]; as: string }

/** Whether the data access may speak plain SQL to SQLite, past CAP's query layer. */
export const onSQLite = () => (cds.db as { kind?: string }).kind === 'sqlite'

/** The table of an entity, as CAP names it on SQLite. */
export const tableOf = (entity: cds.entity) => entity.name.replace(/\./g, '_')

/** The rows of `entity` where `where` holds, with the given columns. */
export async function select(entity: new () => object, columns: Column[], where: Token[]): Promise<Row[]> {
  const target = entity as unknown as cds.entity
  if (!onSQLite()) return await SELECT.from(target).columns(...columns as never[]).where(where as never) as Row[]
  const params: unknown[] = []
  const list = columns.map(c => typeof c === 'string' ? c : `(${sql(c.xpr, params)}) AS ${c.as}`)
  const text = `SELECT ${list.join(',')} FROM ${tableOf(target)} WHERE ${sql(where, params)}`
  return await cds.run(text, params as never) as Row[]
}

/** The rows of `entity` whose columns each hold one of the given values. */
export function readWhereIn(entity: new () => object, where: Record<string, unknown[]>): Promise<Row[]> {
  return select(entity, ['*'], Object.entries(where).flatMap(([column, values], i): Token[] =>
    [...i ? ['and'] : [], { ref: [column] }, 'in', { list: values.map(val => ({ val })) }]))
}

/** SQL of a token list; values become parameters. */
const sql = (tokens: Token[], params: unknown[]): string => tokens.map(t =>
  typeof t === 'string' ? t
    : 'ref' in t ? t.ref[0]
      : 'val' in t ? (params.push(t.val), '?')
        : 'list' in t ? `(${t.list.map(v => (params.push(v.val), '?')).join(',')})`
          : `(${sql(t.xpr, params)})`).join(' ')
