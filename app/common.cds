using { router as db } from '../db/schema';
using { AnalyticsService as analytics } from '../srv/analytics-service/service';

// Labels, units and currencies of the domain's fields, once for every app (xtravels: app/common/labels.cds);
// each app's annotations.cds adds its pages. Units are annotations, not label text: Fiori shows them beside the values.

// The domain's types carry their unit, so every element of them does, in every service (ingest's inputs, too).
annotate db.Millis   with @Measures.Unit: 'ms';
annotate db.USD      with @Measures.ISOCurrency: 'USD';
annotate db.USDPer1M with @Measures.ISOCurrency: 'USD';

annotate db.Agents with @title: '{i18n>Agent}' {
  ID             @title: '{i18n>Agent}';
  name           @title: '{i18n>Name}';
  description    @title: '{i18n>Description}';
  autoRegistered @title: '{i18n>AutoRegistered}';
};

annotate db.Models with @title: '{i18n>Model}' {
  ID               @title: '{i18n>Model}';
  name             @title: '{i18n>Name}';
  provider         @title: '{i18n>Provider}';
  inputPricePer1M  @title: '{i18n>InputPricePer1M}';
  outputPricePer1M @title: '{i18n>OutputPricePer1M}';
  contextWindow    @title: '{i18n>ContextWindow}' @Measures.Unit: '{i18n>TokensUnit}';
  autoRegistered   @title: '{i18n>AutoRegistered}';
};

annotate db.Assignments with {
  agent              @title: '{i18n>Agent}';
  model              @title: '{i18n>Model}';
  status             @title: '{i18n>Status}';
  strategy           @title: '{i18n>Strategy}';
  matchScore         @title: '{i18n>MatchScore}';
  totalRequests      @title: '{i18n>Requests}';
  successfulRequests @title: '{i18n>Successes}';
  successRate        @title: '{i18n>SuccessRate}';
  avgLatencyMs       @title: '{i18n>AvgLatencyMs}' @Measures.Unit: 'ms';
  p95LatencyMs       @title: '{i18n>P95LatencyMs}' @Measures.Unit: 'ms';
  lastUsedAt         @title: '{i18n>LastUsedAt}';
};

annotate db.RoutingDecisions with {
  ID         @title: '{i18n>DecisionID}';
  requestId  @title: '{i18n>RequestID}';
  agent_ID   @title: '{i18n>Agent}';
  model_ID   @title: '{i18n>Model}';
  strategy   @title: '{i18n>Strategy}';
  score      @title: '{i18n>Score}';
  fallback   @title: '{i18n>Fallback}';
  decidedAt  @title: '{i18n>DecidedAt}';
};

annotate db.DecisionCandidates with {
  rank     @title: '{i18n>Rank}';
  model_ID @title: '{i18n>Model}';
  score    @title: '{i18n>Score}';
};

annotate db.InferenceMetrics with {
  ID           @title: '{i18n>MetricID}';
  decision_ID  @title: '{i18n>DecisionID}';
  agent_ID     @title: '{i18n>Agent}';
  model_ID     @title: '{i18n>Model}';
  latencyMs    @title: '{i18n>LatencyMs}';
  ttftMs       @title: '{i18n>TtftMs}';
  inputTokens  @title: '{i18n>InputTokens}';
  outputTokens @title: '{i18n>OutputTokens}';
  success      @title: '{i18n>Success}';
  errorCode    @title: '{i18n>ErrorCode}';
  finishReason @title: '{i18n>FinishReason}';
  cost         @title: '{i18n>Cost}';
  recordedAt   @title: '{i18n>RecordedAt}';
};

// The rollups' figures (plain Double and Decimal, summed or estimated): their projections in AnalyticsService (HourlyStats, AgentModelPairs, ModelPerformance) inherit these.
annotate db.MetricTotals with {
  requests     @title: '{i18n>Requests}';
  successes    @title: '{i18n>Successes}';
  failures     @title: '{i18n>Failures}';
  latencySumMs @title: '{i18n>LatencySumMs}' @Measures.Unit: 'ms';
  inputTokens  @title: '{i18n>InputTokens}';
  outputTokens @title: '{i18n>OutputTokens}';
  cost         @title: '{i18n>Cost}' @Measures.ISOCurrency: 'USD';
};

annotate db.LatencyPercentiles with {
  p50LatencyMs @title: '{i18n>P50LatencyMs}' @Measures.Unit: 'ms';
  p95LatencyMs @title: '{i18n>P95LatencyMs}' @Measures.Unit: 'ms';
  p99LatencyMs @title: '{i18n>P99LatencyMs}' @Measures.Unit: 'ms';
};

// What AnalyticsService computes or names anew.
annotate analytics.ModelPerformance with {
  model_ID     @title: '{i18n>Model}';
  modelName    @title: '{i18n>ModelName}';
  provider     @title: '{i18n>Provider}';
  successRate  @title: '{i18n>SuccessRate}';
  avgLatencyMs @title: '{i18n>AvgLatencyMs}' @Measures.Unit: 'ms';
};

annotate analytics.AgentModelPairs with {
  agent_ID     @title: '{i18n>Agent}';
  model_ID     @title: '{i18n>Model}';
  successRate  @title: '{i18n>SuccessRate}';
  avgLatencyMs @title: '{i18n>AvgLatencyMs}' @Measures.Unit: 'ms';
  lastUsedAt   @title: '{i18n>LastUsedAt}';
};

annotate analytics.HourlyStats with {
  hour         @title: '{i18n>Hour}';
  hourLabel    @title: '{i18n>Hour}';
  agent_ID     @title: '{i18n>Agent}';
  model_ID     @title: '{i18n>Model}';
  decisions    @title: '{i18n>Decisions}';
  avgLatencyMs @title: '{i18n>AvgLatencyMs}' @Measures.Unit: 'ms';
};

annotate analytics.Summary24h with {
  avgLatencyMs @Measures.Unit: 'ms';
  p95LatencyMs @Measures.Unit: 'ms';
  cost         @Measures.ISOCurrency: 'USD';
};

annotate analytics.PerformanceRow with {
  avgLatencyMs @Measures.Unit: 'ms';
  p50LatencyMs @Measures.Unit: 'ms';
  p95LatencyMs @Measures.Unit: 'ms';
  p99LatencyMs @Measures.Unit: 'ms';
  cost         @Measures.ISOCurrency: 'USD';
};
