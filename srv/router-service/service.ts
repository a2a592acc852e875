import cds from '@sap/cds'
import { Agents, Models, Assignment, RoutingDecisions, InferenceMetrics, ingest } from '#cds-models/RouterService'
import { record, repeatedRanks } from '../data/recorder.ts'
import { MAX_RECORDS_PER_CALL } from '../domain/limits.ts'
import { writeInTurn } from '../data/write-lock.ts'
import { updateAssignmentMetrics } from '../data/assignment-metrics.ts'

export class RouterService extends cds.ApplicationService {
  init() {
    this.checkCandidateRanks()
    this.onIngest()
    this.onSingleWrites()
    this.registerInTurn()
    this.on(Assignment.actions.updateMetrics, updateAssignmentMetrics)
    return super.init()
  }

  /** Ranks key the candidates of a decision, so each may appear once. */
  private checkCandidateRanks() {
    const report = (req: cds.Request, candidates: { rank?: number | null }[] | null | undefined, prefix: string) => {
      for (const i of repeatedRanks(candidates ?? []))
        req.error(400, `Rank ${candidates![i].rank} appears more than once among the candidates`, `${prefix}candidates[${i}]/rank`)
    }
    this.before(ingest, req => req.data.decisions?.forEach((d, i) => report(req, d.candidates, `decisions[${i}]/`)))
    this.before('CREATE', RoutingDecisions, req => report(req, req.data.candidates, ''))
  }

  /** The router's bulk write: validated by CAP against the input types, stored in one transaction. */
  private onIngest() {
    this.on(ingest, async req => {
      const { decisions = [], metrics = [] } = req.data
      const records = (decisions?.length ?? 0) + (metrics?.length ?? 0)
      if (records > MAX_RECORDS_PER_CALL)
        return req.reject(413, `ingest takes at most ${MAX_RECORDS_PER_CALL} records a call, this one has ${records}; split it`)
      return record(decisions ?? [], metrics ?? [])
    })
  }

  /** Agents and models created here wait for `ingest`, which registers unknown ones, so neither fails on a race. */
  private registerInTurn() {
    this.on(['CREATE', 'UPDATE'], [Agents, Models], (_, next) => writeInTurn(async () => next()))
  }

  /** Single POSTs take the same path as `ingest`, so they register, price and roll up alike. */
  private onSingleWrites() {
    this.on('CREATE', RoutingDecisions, async req => {
      const { accepted } = (await record([req.data], [])).decisions!
      if (!accepted) return req.reject(409, `A routing decision with ID ${req.data.ID} is already stored`)
      // the 201 of a deep insert holds what was sent, candidates included (OData Part 1, 11.4.2.2)
      return SELECT.one.from(RoutingDecisions, d => { d('*'); d.candidates(c => c('*')) }).where({ ID: req.data.ID })
    })
    this.on('CREATE', InferenceMetrics, async req => {
      const { accepted } = (await record([], [req.data])).metrics!
      if (!accepted) return req.reject(409, `An inference metric with ID ${req.data.ID} is already stored`)
      return SELECT.one.from(InferenceMetrics).where({ ID: req.data.ID })
    })
  }
}
