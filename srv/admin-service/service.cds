using { router as db } from '../../db/schema';

/** Operators manage agents, models with their prices, and assignments; they run retention. */
service AdminService {
  entity Agents      as projection on db.Agents;
  entity Models      as projection on db.Models;
  @odata.draft.enabled
  entity Assignments as projection on db.Assignments actions {
    /** Recomputes the assignment's figures from its agent-model pair's metrics. */
    action updateMetrics() returns Assignments;
  };

  type PurgeResult { decisions : Integer; metrics : Integer }

  /** Deletes decisions and metrics older than `before` (whole UTC hours) together with their hourly rollups. */
  action purge(before : Timestamp) returns PurgeResult;
}
