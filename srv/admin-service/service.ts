import cds from '@sap/cds'
import { Assignments } from '#cds-models/AdminService'
import { updateAssignmentMetrics } from '../lib/assignment-metrics.ts'

export class AdminService extends cds.ApplicationService {
  init() {
    this.on(Assignments.actions.updateMetrics, updateAssignmentMetrics)
    return super.init()
  }
}
