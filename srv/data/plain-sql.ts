import cds from '@sap/cds'

/**
 * Reads of the rollups and raw rows that both sides share, as plain SQL on SQLite and PostgreSQL.
 * CAP's query layer infers and rewrites every query and wraps each row into JSON inside the
 * database (large text columns escaped into it), parses that JSON back and walks it once more for
 * its metadata: for the rollups' sketch and group texts that is most of a read. Plain SQL returns
 * the stored values as they are (numbers, JSON text, booleans as 1 and 0 on SQLite; Decimal and
 * Int64 as strings on PostgreSQL, as CAP returns them), timestamps as the ISO strings CAP returns.
 * Elsewhere (SAP HANA) the same query goes through CAP's query layer.
 */

type Row = Record<string, unknown>

/** A condition or column expression in the CQN subset the data access uses: refs, values, lists, nested expressions, keywords. */
export type Token = string | { ref: [string] } | { val: unknown } | { list: { val: unknown }[] } | { xpr: Token[] }
/** A column: a name, or an expression with its alias. */
export type Column = string | { xpr: Token[]; as: string }

const kind = () => (cds.db as { kind?: string }).kind

/** Whether the data access may speak plain SQL to SQLite, past CAP's query layer. */
export const onSQLite = () => kind() === 'sqlite'

/** Whether the data access may speak plain SQL to PostgreSQL. */
export const onPostgres = () => kind() === 'postgres'

/**
 * The table of an entity as CAP creates it on SQLite and PostgreSQL: unquoted, so PostgreSQL folds
 * it, and every column name, to lower case, as it does in the statements here.
 */
export const tableOf = (entity: cds.entity) => entity.name.replace(/\./g, '_')

/** The stored columns of an entity: its elements except associations, whose foreign keys are elements of their own. */
export const columnsOf = (entity: cds.entity): string[] =>
  Object.values(entity.elements).filter(e => !(e instanceof cds.Association) && !e.virtual).map(e => e.name)

/**
 * The rows of `entity` where `where` holds, with the given columns ('*': all stored ones); with `first`,
 * only the first `first.rows` in ascending order of `first.by`, nulls last (as its index holds them).
 */
export async function select(entity: new () => object, columns: Column[], where: Token[], first?: { by: string; rows: number }): Promise<Row[]> {
  const target = entity as unknown as cds.entity, postgres = onPostgres()
  if (!postgres && !onSQLite()) {
    const query = SELECT.from(target).columns(...columns as never[]).where(where as never)
    if (first) query.orderBy({ ref: [first.by], sort: 'asc', nulls: 'last' } as never).limit(first.rows)
    return await query as Row[]
  }
  const params: unknown[] = []
  // PostgreSQL numbers its parameters, and answers with lower-case keys unless a column is given its name quoted
  const param = postgres ? () => `$${params.length}` : () => '?'
  const named = (name: string) => {
    if (!postgres) return name
    const timestamp = target.elements[name]?.type === 'cds.Timestamp'
    return `${timestamp ? `to_char(${name}, 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')` : name} AS "${name}"`
  }
  const sql = (tokens: Token[]): string => tokens.map(t =>
    typeof t === 'string' ? t
      : 'ref' in t ? t.ref[0]
        : 'val' in t ? (params.push(t.val), param())
          // on PostgreSQL a parameter per value: the plan it caches for the statement then expects as many rows
          // (with one array parameter, `= ANY($1)`, a plan made while a table was small scans the whole table
          // ever after, docs/performance.md); on SQLite one JSON parameter, the same text for any number of values
          : 'list' in t ? postgres ? `(${t.list.map(v => (params.push(v.val), param())).join(',')})`
            : (params.push(JSON.stringify(t.list.map(v => v.val))), '(SELECT value FROM json_each(?))')
            : `(${sql(t.xpr)})`).join(' ')
  const list = columns.flatMap(c => c === '*' ? postgres ? columnsOf(target).map(named) : [c]
    : typeof c === 'string' ? [named(c)] : [`(${sql(c.xpr)}) AS "${c.as}"`])
  const text = `SELECT ${list.join(',')} FROM ${tableOf(target)} WHERE ${sql(where)}${first ? ` ORDER BY ${first.by} ASC NULLS LAST LIMIT ${Number(first.rows)}` : ''}`
  return rowsOf(text, params)
}

/** The rows of a plain SELECT: on SQLite from its statement prepared on the transaction's connection, else through CAP. */
async function rowsOf(sql: string, params: unknown[]): Promise<Row[]> {
  const statement = onPostgres() ? undefined : preparedOnSQLite(sql)
  return (statement ? statement.all(params) : await runOnce(sql, params)) as Row[]
}

/**
 * Whether a row of any of the entities has its column (an indexed time) at or after `t`: on SQLite and PostgreSQL in
 * one statement, one round trip for all. Each looks for its first row ordered by that column, ascending with nulls
 * last as its B-tree index holds it: PostgreSQL then reads the index even where its statistics are older than the
 * rows (right after a bulk load, before autovacuum analyzes), instead of scanning every row to find none; with CAP's
 * default order on PostgreSQL, nulls first, it needs a sort and scans.
 */
export async function storedFrom(of: [entity: new () => object, column: string][], t: Date): Promise<boolean> {
  if (!onSQLite() && !onPostgres()) {
    for (const [entity, column] of of)
      if ((await select(entity, ['ID'], [{ ref: [column] }, '>=', { val: t.toISOString() }], { by: column, rows: 1 })).length) return true
    return false
  }
  const postgres = onPostgres(), first = (entity: cds.entity, column: string, i: number) =>
    `(SELECT 1 FROM ${tableOf(entity)} WHERE ${column} >= ${postgres ? '$1' : '?'} ORDER BY ${column} ASC NULLS LAST LIMIT 1) AS "${i}"`
  const text = `SELECT ${of.map(([entity, column], i) => first(entity as unknown as cds.entity, column, i)).join(',')}`
  const params = postgres ? [t.toISOString()] : of.map(() => t.toISOString())
  const [found] = await rowsOf(text, params)
  return Object.values(found).some(value => value !== null)
}

/** What the data access uses of a statement of @cap-js/sqlite's connection (node:sqlite's, given its parameters as a list). */
interface Statement { run(params: unknown[]): unknown; all(params: unknown[]): unknown[] }

/** The statements prepared on each SQLite connection, by their text; they go with it. */
const prepared = new WeakMap<object, Map<string, Statement>>()

/**
 * On SQLite, `sql` prepared on the connection of the current transaction, once per connection; none
 * where the transaction holds no connection yet (it takes one with its first statement through CAP).
 * As plain SQL through CAP, a statement is prepared anew each time, its text scanned for the kind
 * of event, and each row of parameters is a promise of its own: for an ingest call of 1,000 records, with
 * its dozen statements and 2,500 rows, 7 % of its time (docs/performance.md). Runs synchronously, as
 * node:sqlite does anyway.
 */
export function preparedOnSQLite(sql: string): Statement | undefined {
  const context = cds.context as cds.EventContext & { tx?: object } | undefined
  const connection = context?.tx && (cds.db.tx(context) as unknown as { dbc?: { prepare(sql: string): Statement } }).dbc
  if (!connection) return undefined
  let statements = prepared.get(connection)
  if (!statements) prepared.set(connection, statements = new Map())
  let statement = statements.get(sql)
  if (!statement) statements.set(sql, statement = connection.prepare(sql))
  return statement
}

/**
 * Runs plain SQL once with the given parameters. Given to cds.run as they are, a list whose first
 * parameter is an array (on PostgreSQL, the values of a column, bulk.ts) would run once per entry.
 */
export async function runOnce(sql: string, params: unknown[]): Promise<unknown> {
  const [result] = await cds.run(sql, [params] as never) as unknown[]
  return result
}

/** The rows of `entity` whose columns each hold one of the given values, with the given columns (all stored ones by default). */
export function readWhereIn(entity: new () => object, where: Record<string, unknown[]>, columns: Column[] = ['*']): Promise<Row[]> {
  return select(entity, columns, Object.entries(where).flatMap(([column, values], i): Token[] =>
    [...i ? ['and'] : [], { ref: [column] }, 'in', { list: values.map(val => ({ val })) }]))
}
