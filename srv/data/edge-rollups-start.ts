import { HourlyRollups, EdgeRollupsStart } from '#cds-models/router'
import { HOUR } from '../domain/metric-totals.ts'

/**
 * Per level of EDGE_SECONDS, the UTC hour from which on its edge rollups hold every record, in epoch
 * ms. A database that held records before a level came (it has hourly rollups at the first write
 * that marks the level) gets the next hour for it, and windows read the partial hours before it from
 * the next shorter level that holds them, or from the raw rows; any other database gets 0. The
 * minutes and the 10 seconds came together (row `edges`), the 10 minutes later (row `tenMinutes`,
 * which holds nothing before `edges` either). Set by the first write under the write lock; until
 * then windows take a level as never there.
 */
let edgeRollupsStart: Promise<number[]> | undefined

/** The rows of EdgeRollupsStart, by the levels of EDGE_SECONDS they mark. */
const MARKS = ['tenMinutes', 'edges'] as const

const startsOf = (marked: Map<string, number>) => {
  const edges = marked.get('edges') ?? Infinity
  return [Math.max(marked.get('tenMinutes') ?? Infinity, edges), edges, edges]
}

async function readMarks() {
  const rows = await SELECT.from(EdgeRollupsStart).columns('ID', 'hour') as { ID: string; hour: string }[]
  return new Map(rows.map(row => [row.ID, new Date(row.hour).getTime()]))
}

export async function edgeRollupsStartTimes(): Promise<number[]> {
  if (edgeRollupsStart) return edgeRollupsStart
  const marked = await readMarks()
  // kept for good only once every level is marked
  if (MARKS.every(ID => marked.has(ID))) edgeRollupsStart = Promise.resolve(startsOf(marked))
  return startsOf(marked)
}

export function markEdgeRollupsStart() {
  // a mark lost with its transaction costs only speed: windows then read as without the level
  return edgeRollupsStart ??= (async () => {
    const marked = await readMarks()
    const unmarked = MARKS.filter(ID => !marked.has(ID))
    if (unmarked.length) {
      const start = await SELECT.one.from(HourlyRollups).columns('hour') ? Math.ceil(Date.now() / HOUR) * HOUR : 0
      await INSERT.into(EdgeRollupsStart).entries(unmarked.map(ID => ({ ID, hour: new Date(start).toISOString() })))
      for (const ID of unmarked) marked.set(ID, start)
    }
    return startsOf(marked)
  })().catch(err => { edgeRollupsStart = undefined; throw err })
}
