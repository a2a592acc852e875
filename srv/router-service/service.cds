using { router as db } from '../../db/schema';

/** What the LLM router writes and reads on its hot path. */
service RouterService {
  entity Agents           as projection on db.Agents;
  entity Models           as projection on db.Models;
  entity Assignments      as projection on db.Assignments actions {
    /** Recomputes the assignment's figures from its agent-model pair's metrics. */
    action updateMetrics() returns Assignments;
  };
  entity RoutingDecisions as projection on db.RoutingDecisions;
  entity InferenceMetrics as projection on db.InferenceMetrics;

  // The records of `ingest`: the entities' fields, declared as plain structures because CAP
  // validates arrays of those three times faster than arrays of entity projections.
  // Ranges and enums come with the types of db/schema.cds; the IDs are required for idempotency.
  type CandidateInput {
    model_ID : db.ModelID @mandatory;
    score    : db.Score;
    rank     : db.CandidateRank @mandatory;
  }
  type RoutingDecisionInput {
    ID         : UUID @mandatory;
    requestId  : String(100);
    agent_ID   : db.AgentID @mandatory;
    model_ID   : db.ModelID @mandatory;
    strategy   : db.Strategy @mandatory;
    score      : db.Score;
    fallback   : Boolean;
    decidedAt  : Timestamp;
    candidates : many CandidateInput;
  }
  type InferenceMetricInput {
    ID           : UUID @mandatory;
    decision_ID  : UUID;
    agent_ID     : db.AgentID @mandatory;
    model_ID     : db.ModelID @mandatory;
    latencyMs    : db.Millis @mandatory;
    ttftMs       : db.Millis;
    inputTokens  : db.Tokens;
    outputTokens : db.Tokens;
    success      : Boolean;
    errorCode    : String(100);
    finishReason : String(50);
    cost         : db.USD;
    recordedAt   : Timestamp;
  }

  type IngestCounts { accepted : Integer; duplicates : Integer }
  type IngestResult { decisions : IngestCounts; metrics : IngestCounts }

  /**
   * Stores a batch of decisions and metrics in one transaction; re-sent IDs are reported, not stored again.
   * Its records are validated in one pass by srv/service-rules/input-types.ts, with CAP's checks of each element.
   */
  action ingest(@cds.validate: false decisions : many RoutingDecisionInput, @cds.validate: false metrics : many InferenceMetricInput) returns IngestResult;
}
