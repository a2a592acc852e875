import cds from '@sap/cds'
import { Assignment, purge } from '#cds-models/AdminService'
import { updateAssignmentMetrics } from '../lib/assignment-metrics.ts'
import * as retention from '../lib/retention.ts'

export class AdminService extends cds.ApplicationService {
  init() {
    this.on(Assignment.actions.updateMetrics, updateAssignmentMetrics)
    this.on(purge, req => retention.purge(new Date(req.data.before!)))
    return super.init()
  }
}
