using { router as db } from '../db/schema';

// Labels every app shows for the domain's fields; each app's annotations.cds adds its pages.

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
  contextWindow    @title: '{i18n>ContextWindow}';
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
  avgLatencyMs       @title: '{i18n>AvgLatencyMs}';
  p95LatencyMs       @title: '{i18n>P95LatencyMs}';
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
  cost         @title: '{i18n>CostUSD}';
  recordedAt   @title: '{i18n>RecordedAt}';
};
