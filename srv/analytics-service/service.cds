using { router as db } from '../../db/schema';

/** Raw rows and analytics for analysts, dashboards, BI tools and the Fiori apps. Read-only. */
service AnalyticsService {
  entity RoutingDecisions   as projection on db.RoutingDecisions;
  entity DecisionCandidates as projection on db.DecisionCandidates;
  entity InferenceMetrics   as projection on db.InferenceMetrics;
  entity Agents             as projection on db.Agents;
  entity Models             as projection on db.Models;

  /** All-time performance per model. */
  entity ModelPerformance   as projection on db.ModelRollups {
    key model_ID,
        model.name     as modelName,
        model.provider as provider,
        requests,
        successes,
        failures,
        case when requests > 0 then cast(successes as Double) / requests end as successRate  : Double,
        case when requests > 0 then latencySumMs / requests end              as avgLatencyMs : Double,
        p50LatencyMs,
        p95LatencyMs,
        p99LatencyMs,
        inputTokens,
        outputTokens,
        cost
  } where requests > 0;

  /** All-time performance per agent-model pair. */
  entity AgentModelPairs    as projection on db.PairRollups {
    key agent_ID,
    key model_ID,
        requests,
        successes,
        failures,
        case when requests > 0 then cast(successes as Double) / requests end as successRate  : Double,
        case when requests > 0 then latencySumMs / requests end              as avgLatencyMs : Double,
        p50LatencyMs,
        p95LatencyMs,
        p99LatencyMs,
        inputTokens,
        outputTokens,
        cost,
        lastUsedAt
  } where requests > 0;

  /** All-time routing statistics per strategy. */
  entity RoutingStats       as select from db.StrategyRollups {
    key strategy,
        sum(decisions)                                                              as decisions      : Integer64,
        case when sum(scoredDecisions) > 0 then sum(scoreSum) / sum(scoredDecisions) end as avgScore  : Double,
        cast(sum(fallbacks) as Double) / sum(decisions)                             as fallbackRate   : Double,
        count(model_ID)                                                             as distinctModels : Integer
  } where decisions > 0 group by strategy;

  /** Exactly one row: the last 24 hours up to the time of the request. */
  @cds.persistence.skip
  entity Summary24h {
    key windowStart   : Timestamp;
        windowEnd     : Timestamp;
        decisions     : Integer64;
        requests      : Integer64;
        successRate   : Double;
        avgLatencyMs  : Double;
        p95LatencyMs  : Double;
        inputTokens   : Integer64;
        outputTokens  : Integer64;
        cost          : Decimal(20, 10);
        activeAgents  : Integer;
        activeModels  : Integer;
  }

  /** Time series per UTC hour and agent-model pair. */
  entity HourlyStats        as projection on db.HourlyRollups {
    key hour,
        // the hour as text, e.g. 2026-11-25T08: a chart axis (Fiori elements charts cannot draw an Edm.DateTimeOffset dimension)
        substring(cast(hour as String(30)), 0, 13) as hourLabel : String(13),
    key agent_ID,
    key model_ID,
        decisions,
        requests,
        successes,
        failures,
        latencySumMs,
        case when requests > 0 then latencySumMs / requests end as avgLatencyMs : Double,
        inputTokens,
        outputTokens,
        cost
  } where agent_ID != '*' and model_ID != '*'; // '*' rows sum over all agents or models (srv/data/rollups.ts)

  type PerformanceRow {
    agent_ID      : db.AgentID;
    model_ID      : db.ModelID;
    requests      : Integer64;
    successes     : Integer64;
    failures      : Integer64;
    successRate   : Double;
    avgLatencyMs  : Double;
    p50LatencyMs  : Double;
    p95LatencyMs  : Double;
    p99LatencyMs  : Double;
    inputTokens   : Integer64;
    outputTokens  : Integer64;
    cost          : Decimal(20, 10);
  }

  /** Performance in the window `from <= recordedAt < to`, grouped by `model`, `agent`, `pair` or `none`. */
  function performance(from : Timestamp @mandatory, to : Timestamp @mandatory, groupBy : String default 'none') returns many PerformanceRow;
}
