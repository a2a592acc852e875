using { cuid, managed } from '@sap/cds/common';

namespace router;

// '*' stands for all agents or all models in the hourly and minute rollups
type AgentID  : String(100) @assert.format: '^([^*].*|[*].+)$' @assert.format.message: 'An agent ID cannot be "*"';
type ModelID  : String(100) @assert.format: '^([^*].*|[*].+)$' @assert.format.message: 'A model ID cannot be "*"';
type Score    : Double @assert.range: [0, 1] @assert.range.message: 'A score lies between 0 and 1';
type Tokens   : Integer @assert.range: [0, _] @assert.range.message: 'A token count cannot be negative';
type Millis   : Double @assert.range: [0, _] @assert.range.message: 'A duration in milliseconds cannot be negative';
type USD      : Decimal(20, 10) @assert.range: [0, _] @assert.range.message: 'A cost cannot be negative';
type USDPer1M : Decimal(12, 4) @assert.range: [0, _] @assert.range.message: 'A price cannot be negative';

type CandidateRank : Integer @assert.range: [1, _] @assert.range.message: 'Candidate ranks start at 1';

type Strategy : String(20) @assert.range enum { greedy; optimal; balanced; fallback; manual }
type AssignmentStatus : String(10) @assert.range enum { ACTIVE; INACTIVE }

/** An AI agent whose requests the router sends to models. */
entity Agents : managed {
  key ID          : AgentID;
      name        : String(200);
      description : String(1000);
      autoRegistered : Boolean default false @readonly;
}

/** An LLM the router can send requests to, with its list price. */
entity Models : managed {
  key ID               : ModelID;
      name             : String(200);
      provider         : String(100);
      inputPricePer1M  : USDPer1M default 0;
      outputPricePer1M : USDPer1M default 0;
      contextWindow    : Integer @assert.range: [0, _];
      autoRegistered   : Boolean default false @readonly;
}

/** Which model serves which agent, with the pair's running figures. */
entity Assignments : cuid, managed {
  agent              : Association to Agents @mandatory;
  model              : Association to Models @mandatory;
  status             : AssignmentStatus not null default 'ACTIVE';
  strategy           : Strategy;
  matchScore         : Score;
  totalRequests      : Integer64 default 0 @readonly;
  successfulRequests : Integer64 default 0 @readonly;
  successRate        : Double @readonly;
  avgLatencyMs       : Double @readonly;
  p95LatencyMs       : Double @readonly;
  lastUsedAt         : Timestamp @readonly;
}
annotate Assignments with { modifiedAt @odata.etag };

/** One routing decision of the router: the chosen model and the candidates it weighed. */
entity RoutingDecisions {
  key ID         : UUID;
      requestId  : String(100);
      agent_ID   : AgentID @mandatory;
      agent      : Association to Agents on agent.ID = agent_ID;
      model_ID   : ModelID @mandatory;
      model      : Association to Models on model.ID = model_ID;
      strategy   : Strategy @mandatory;
      score      : Score;
      fallback   : Boolean default false;
      decidedAt  : Timestamp;
      candidates : Composition of many DecisionCandidates on candidates.decision = $self;
      metrics    : Association to many InferenceMetrics on metrics.decision_ID = ID;
}

entity DecisionCandidates {
  key decision : Association to RoutingDecisions;
  key rank     : CandidateRank @mandatory;
      model_ID : ModelID @mandatory;
      model    : Association to Models on model.ID = model_ID;
      score    : Score;
}

/** What one inference of a model cost and how it went. */
entity InferenceMetrics {
  key ID           : UUID;
      decision_ID  : UUID;
      decision     : Association to RoutingDecisions on decision.ID = decision_ID;
      agent_ID     : AgentID @mandatory;
      agent        : Association to Agents on agent.ID = agent_ID;
      model_ID     : ModelID @mandatory;
      model        : Association to Models on model.ID = model_ID;
      latencyMs    : Millis @mandatory;
      ttftMs       : Millis;
      inputTokens  : Tokens default 0;
      outputTokens : Tokens default 0;
      success      : Boolean default true;
      errorCode    : String(100);
      finishReason : String(50);
      cost         : USD;
      recordedAt   : Timestamp;
}

// ---------------------------------------------------------------------------
// Rollups: maintained in the transaction that stores the raw rows, so the analytics
// read a few thousand rows whatever the volume. See docs/analytics.md.
// ---------------------------------------------------------------------------

/** Additive figures of a set of inference metrics; the sketch merges bucket-wise. */
aspect MetricTotals {
  requests      : Integer64 default 0;
  successes     : Integer64 default 0;
  failures      : Integer64 default 0;
  latencySumMs  : Double default 0;
  inputTokens   : Integer64 default 0;
  outputTokens  : Integer64 default 0;
  cost          : USD default 0;
  /** Log-bucketed latency counts in their stored text form (srv/domain/latency-sketch.ts); JSON in rows of earlier versions. */
  latencySketch : LargeString;
}

/** Latency percentiles read off the merged sketch at write time, so views can sort by them. */
aspect LatencyPercentiles {
  p50LatencyMs : Double;
  p95LatencyMs : Double;
  p99LatencyMs : Double;
}

/** Per UTC hour and agent-model pair; decisions count by `decidedAt`, metrics by `recordedAt`. */
entity HourlyRollups : MetricTotals {
  key hour      : Timestamp;
  key agent_ID  : AgentID;
  key model_ID  : ModelID;
      decisions : Integer64 default 0;
      agent     : Association to Agents on agent.ID = agent_ID;
      model     : Association to Models on model.ID = model_ID;
}

/**
 * The 10 minutes, minutes and 10 seconds at the edges of windows (srv/data/window-stats.ts), one row per
 * period and grouping with all its groups as JSON: of 10 minutes and of a minute per pair, model, agent or
 * everything the decisions and MetricTotals with the sketch (groupBy pair, model, agent, none), of 10 seconds per pair
 * the decisions, counts and sums and the latencies themselves (groupBy pair). A call writes a few
 * rows, whatever the number of pairs, and a window reads a few rows per edge.
 */
entity EdgeRollups {
  key periodSeconds : Integer;
  key groupBy       : String(5);
  key startsAt      : Timestamp;
      groups        : LargeString;
}

/** One row: the UTC hour from which on EdgeRollups hold every record (srv/data/edge-rollups-start.ts). */
entity EdgeRollupsStart {
  key ID   : String(10);
      hour : Timestamp;
}

/** All time, per agent-model pair. */
entity PairRollups : MetricTotals, LatencyPercentiles {
  key agent_ID   : AgentID;
  key model_ID   : ModelID;
      lastUsedAt : Timestamp;
      agent      : Association to Agents on agent.ID = agent_ID;
      model      : Association to Models on model.ID = model_ID;
}

/** All time, per model: percentiles over all agents need their own merged sketch. */
entity ModelRollups : MetricTotals, LatencyPercentiles {
  key model_ID : ModelID;
      model    : Association to Models on model.ID = model_ID;
}

/** All time, per strategy and chosen model, for the routing statistics. */
entity StrategyRollups {
  key strategy       : Strategy;
  key model_ID       : ModelID;
      decisions      : Integer64 default 0;
      scoredDecisions : Integer64 default 0;
      scoreSum       : Double default 0;
      fallbacks      : Integer64 default 0;
}

/** One row that writers lock, so concurrent writers on PostgreSQL and HANA update rollups one at a time. */
entity WriteLocks {
  key ID       : String(20);
      lockedAt : Timestamp;
}

/**
 * Routing quality (srv/data/quality-rollups.ts), per UTC hour of `decidedAt` and kind, groups as JSON.
 * `outcomes`: per strategy and score bucket the decisions and the MetricTotals of their metrics, whenever
 * those were recorded; `choices`: per strategy, agent, chosen model and set of the other candidates the
 * number of decisions. An hour's groups are the sum over its rows: a call adds a row (`part`) with what it
 * adds, and every few calls the rows of an hour are merged into one (part 0), so that a call writes what
 * it touches, not all an hour holds, and a read finds a few rows an hour.
 */
entity QualityRollups {
  key hour   : Timestamp;
  key kind   : String(10);
  key part   : Integer default 0; // rows from before parts existed are part 0
      groups : LargeString;
}

/** One row: the UTC hour from which on QualityRollups hold every decision with its metrics; before it windows read raw rows. */
entity QualityRollupsStart {
  key ID   : String(10);
      hour : Timestamp;
}
