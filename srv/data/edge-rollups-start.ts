import { HourlyRollups, EdgeRollupsStart } from '#cds-models/router'
import { HOUR } from '../domain/metric-totals.ts'

/**
 * The UTC hour from which on the edge rollups hold every record, in epoch ms. A database that held
 * records before them (it has hourly rollups at the first write) gets the next hour, and windows read
 * the partial hours before it from the raw rows, as before the edge rollups; any other gets 0. Set
 * by the first write under the write lock; until then windows take it as never.
 */
let edgeRollupsStart: Promise<number> | undefined

export async function edgeRollupsStartTime() {
  if (edgeRollupsStart) return edgeRollupsStart
  const marked = await SELECT.one.from(EdgeRollupsStart).columns('hour') as { hour: string } | null
  if (!marked) return Infinity
  return edgeRollupsStart = Promise.resolve(new Date(marked.hour).getTime())
}

export function markEdgeRollupsStart() {
  // a mark lost with its transaction costs only speed: windows then read raw rows as without one
  return edgeRollupsStart ??= (async () => {
    const marked = await SELECT.one.from(EdgeRollupsStart).columns('hour') as { hour: string } | null
    if (marked) return new Date(marked.hour).getTime()
    const start = await SELECT.one.from(HourlyRollups).columns('hour') ? Math.ceil(Date.now() / HOUR) * HOUR : 0
    await INSERT.into(EdgeRollupsStart).entries({ ID: 'edges', hour: new Date(start).toISOString() })
    return start
  })().catch(err => { edgeRollupsStart = undefined; throw err })
}
