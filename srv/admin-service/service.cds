using { router as db } from '../../db/schema';

/** Operators manage agents, models with their prices, and assignments; they run retention. */
service AdminService {
  @odata.draft.enabled
  entity Agents      as projection on db.Agents;
  @odata.draft.enabled
  entity Models      as projection on db.Models;
  @odata.draft.enabled
  entity Assignments as projection on db.Assignments actions {
    /** Recomputes the assignment's figures from its agent-model pair's metrics. */
    action updateMetrics() returns Assignments;
  };

  type PurgeResult { cutoff : Timestamp; decisions : Integer; metrics : Integer }

  /** Retention: deletes decisions and metrics before `before`, rounded down to a whole UTC hour, and takes them out of every statistic. */
  action purge(before : Timestamp @mandatory) returns PurgeResult;
}
