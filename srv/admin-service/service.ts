import cds from '@sap/cds'
import { Agents, Models, Assignment, purge } from '#cds-models/AdminService'
import { writeInTurn } from '../data/write-lock.ts'
import { updateAssignmentMetrics } from '../data/assignment-metrics.ts'
import * as retention from '../data/retention.ts'

export class AdminService extends cds.ApplicationService {
  init() {
    // as in RouterService: an operator's new agent or model waits for `ingest`, which registers unknown ones
    this.on(['CREATE', 'UPDATE'], [Agents, Models], (_, next) => writeInTurn(async () => next()))
    this.on(Assignment.actions.updateMetrics, updateAssignmentMetrics)
    this.on(purge, req => retention.purge(new Date(req.data.before!)))
    return super.init()
  }
}
