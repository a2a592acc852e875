import cds from '@sap/cds'
import { createRequire } from 'node:module'
import path from 'node:path'

/**
 * On PostgreSQL a transaction begins in one round trip instead of three. @cap-js/postgres begins each
 * with CAP's session variables (`$user.id`, `$now`, … through set_config), then a look-up of the
 * collations, which it means to do once but marks done on the transaction instead of the service, so
 * every transaction repeats it, then BEGIN, each waiting for the answer to the one before. A read of
 * the router's assignments so took five round trips, a Summary24h ten; on a loaded machine each one is
 * a wait for a core on both sides (docs/performance.md). Here the collations are looked up by the first
 * transaction, as CAP does, and kept; every later one sends its session variables with its BEGIN.
 */

/** What @cap-js/postgres' service does when a transaction begins; `_initalCollateCheck` is its flag (and spelling) for the collations' look-up. */
interface PostgresService {
  begin(min?: boolean): Promise<unknown>
  set(variables: Record<string, unknown>): Promise<unknown>
  exec(sql: string): Promise<unknown>
  options: { credentials?: { schema?: string } }
  _initalCollateCheck?: boolean
}

/** The transaction's session variables, from its begin until its BEGIN takes them along. */
const pending = new WeakMap<object, string>()
const beginning = new WeakSet<object>()

/** Installs it on the PostgreSQL service as it connects: in the server and in each write worker. */
export function beginTransactionsInOneRoundTrip() {
  cds.on('connect', beginInOneRoundTrip)
  // connected before the server boots, as the tests connect it to deploy into a schema of their own
  if (cds.services.db) beginInOneRoundTrip(cds.services.db)
}

const installed = new WeakSet<object>()

function beginInOneRoundTrip(srv: cds.Service) {
  if ((srv as { kind?: string }).kind !== 'postgres' || installed.has(srv)) return
  installed.add(srv)
  const db = srv as unknown as PostgresService
  // CAP's names of the session variables: `$user.id` -> cap.applicationuser, …
  const names = createRequire(path.join(cds.root, 'package.json'))('@cap-js/postgres/lib/session.json') as Record<string, string>
  const { begin, set, exec } = db
  db.begin = async function (this: PostgresService, min?: boolean) {
    beginning.add(this)
    try { return await begin.call(this, min) } finally { beginning.delete(this) }
  }
  db.set = async function (this: PostgresService, variables: Record<string, unknown>) {
    // a set() of the application's within a transaction, and the first begin with its collation look-up, go as CAP sends them
    if (!beginning.has(this) || !db._initalCollateCheck) {
      await set.call(this, variables)
      db._initalCollateCheck = true
      return
    }
    // as @cap-js/postgres names them: the enumerable ones, and the standard ones, which are getters
    const env: Record<string, unknown> = {}
    for (const name in variables) env[names[name] ?? name] = variables[name]
    for (const name in names) if (variables[name]) env[names[name]] = variables[name]
    pending.set(this, JSON.stringify(env))
  }
  db.exec = function (this: PostgresService, sql: string) {
    const env = pending.get(this)
    if (sql !== 'BEGIN' || env === undefined) return exec.call(this, sql)
    pending.delete(this)
    const schema = this.options.credentials?.schema
    // one simple query, so no parameters: the JSON as an E'' literal, whose quotes and backslashes are escaped whatever
    // standard_conforming_strings says. Before BEGIN, so that a failure leaves no transaction open on the connection
    // (the statements before a BEGIN in one query join its transaction)
    const literal = `E'${env.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`
    return exec.call(this, [
      `SELECT set_config(key::text, ${literal}::jsonb->>key, false) FROM jsonb_each(${literal}::jsonb)`,
      ...schema ? [`SET search_path TO "${schema}"`] : [],
      'BEGIN',
    ].join(';'))
  }
}
