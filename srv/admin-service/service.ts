import cds from '@sap/cds'
import { Assignment } from '#cds-models/AdminService'
import { updateAssignmentMetrics } from '../lib/assignment-metrics.ts'

export class AdminService extends cds.ApplicationService {
  init() {
    this.on(Assignment.actions.updateMetrics, updateAssignmentMetrics)
    return super.init()
  }
}
