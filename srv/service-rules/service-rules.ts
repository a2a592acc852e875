import type cds from '@sap/cds'
import { checkInputTypes } from './input-types.ts'
import { answerWriteConflicts } from './write-conflicts.ts'

/** The protocol rules that CAP 10 leaves open, for every service: in the server and in the write workers alike. */
export function applyServiceRules(srv: cds.Service) {
  checkInputTypes(srv)
  answerWriteConflicts(srv)
}
