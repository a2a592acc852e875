using { router as db } from '../../db/schema';

/** What the LLM router writes and reads on its hot path. */
@cds.server.body_parser.limit: '10mb' // a full ingest call of 5,000 records with candidates (BODY_LIMIT)
service RouterService {
  entity Agents           as projection on db.Agents;
  entity Models           as projection on db.Models;
  entity Assignments      as projection on db.Assignments actions {
    /** Recomputes the assignment's figures from its agent-model pair's metrics. */
    action updateMetrics() returns Assignments;
  };
  entity RoutingDecisions as projection on db.RoutingDecisions;
  entity InferenceMetrics as projection on db.InferenceMetrics;

  type CandidateInput       : projection on db.DecisionCandidates excluding { decision, model };
  type RoutingDecisionInput : projection on db.RoutingDecisions excluding { agent, model, candidates, metrics };
  extend RoutingDecisionInput with columns { null as candidates : many CandidateInput };
  type InferenceMetricInput : projection on db.InferenceMetrics excluding { decision, agent, model };

  type IngestCounts { accepted : Integer; duplicates : Integer }
  type IngestResult { decisions : IngestCounts; metrics : IngestCounts }

  /** Stores a batch of decisions and metrics in one transaction; re-sent IDs are reported, not stored again. */
  action ingest(decisions : many RoutingDecisionInput, metrics : many InferenceMetricInput) returns IngestResult;
}

// The router sends the IDs: they are what makes a retried call idempotent.
annotate RouterService.RoutingDecisionInput with { ID @mandatory };
annotate RouterService.InferenceMetricInput with { ID @mandatory };
