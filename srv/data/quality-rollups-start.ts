import { RoutingDecisions, QualityRollupsStart } from '#cds-models/router'
import { HOUR } from '../domain/metric-totals.ts'

/**
 * The UTC hour from which on the quality rollups (srv/data/quality-rollups.ts) hold every decision with
 * its metrics, in epoch ms. A database that held decisions before them gets the hour after the latest
 * of those or now, whichever is later, and windows read what lies before it from the raw rows; any
 * other gets 0. Set by the first write, under the write lock, before it stores anything; until then
 * windows take it as never.
 */
let qualityRollupsStart: Promise<number> | undefined

export async function qualityRollupsStartTime(): Promise<number> {
  if (qualityRollupsStart) return qualityRollupsStart
  const marked = await SELECT.one.from(QualityRollupsStart).columns('hour') as { hour: string } | null
  if (!marked) return Infinity
  return qualityRollupsStart = Promise.resolve(Date.parse(marked.hour))
}

export function markQualityRollupsStart() {
  return qualityRollupsStart ??= (async () => {
    const marked = await SELECT.one.from(QualityRollupsStart).columns('hour') as { hour: string } | null
    if (marked) return Date.parse(marked.hour)
    const { latest } = await SELECT.one.from(RoutingDecisions).columns('max(decidedAt) as latest') as { latest: string | null }
    const start = latest ? Math.floor(Math.max(Date.now(), Date.parse(latest)) / HOUR) * HOUR + HOUR : 0
    await INSERT.into(QualityRollupsStart).entries({ ID: 'quality', hour: new Date(start).toISOString() })
    return start
  })().catch(err => { qualityRollupsStart = undefined; throw err })
}
