/**
 * Range reads by time at the edges of the hourly rollups (srv/data/window-stats.ts) and reads per
 * pair: SQLite and PostgreSQL get them at start-up, SAP HANA as .hdbindex files that `npm run build`
 * writes into gen/db/src (tools/hana-indexes.mts).
 */
export const INDEXES = [
  'router_InferenceMetrics_recordedAt ON router_InferenceMetrics (recordedAt)',
  'router_RoutingDecisions_decidedAt ON router_RoutingDecisions (decidedAt)',
  'router_InferenceMetrics_pair ON router_InferenceMetrics (agent_ID, model_ID)',
  // the metrics of a decision: routing quality joins them (srv/data/quality-rollups.ts)
  'router_InferenceMetrics_decision ON router_InferenceMetrics (decision_ID)',
]

export async function createIndexes(db: { run(sql: string): Promise<unknown> }) {
  for (const index of INDEXES) {
    const create = () => db.run(`CREATE INDEX IF NOT EXISTS ${index}`)
    // instances starting together on one PostgreSQL race on the catalog: the loser finds it made once retried
    await create().catch(() => new Promise(resolve => setTimeout(resolve, 500)).then(create))
  }
}
