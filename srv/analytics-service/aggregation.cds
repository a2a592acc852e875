using { AnalyticsService as my } from './service';

// OData data aggregation ($apply) for Fiori analytical pages and BI tools: which properties group,
// which aggregate and how by default.

annotate my.HourlyStats with @(
  Aggregation.ApplySupported: {
    Transformations          : ['aggregate', 'groupby', 'filter', 'topcount', 'bottomcount', 'identity', 'concat', 'orderby', 'top', 'skip'],
    Rollup                   : #None,
    GroupableProperties      : [hour, hourLabel, agent_ID, model_ID],
    AggregatableProperties   : [
      { Property: decisions }, { Property: requests }, { Property: successes }, { Property: failures },
      { Property: latencySumMs }, { Property: inputTokens }, { Property: outputTokens }, { Property: cost }
    ]
  },
  Aggregation.CustomAggregate #requests     : 'Edm.Int64',
  Aggregation.CustomAggregate #successes    : 'Edm.Int64',
  Aggregation.CustomAggregate #failures     : 'Edm.Int64',
  Aggregation.CustomAggregate #cost         : 'Edm.Decimal',
  Aggregation.CustomAggregate #latencySumMs : 'Edm.Double',
) {
  hour         @Analytics.Dimension;
  hourLabel    @Analytics.Dimension;
  agent_ID     @Analytics.Dimension;
  model_ID     @Analytics.Dimension;
  decisions    @Analytics.Measure @Aggregation.default: #SUM;
  requests     @Analytics.Measure @Aggregation.default: #SUM;
  successes    @Analytics.Measure @Aggregation.default: #SUM;
  failures     @Analytics.Measure @Aggregation.default: #SUM;
  latencySumMs @Analytics.Measure @Aggregation.default: #SUM;
  inputTokens  @Analytics.Measure @Aggregation.default: #SUM;
  outputTokens @Analytics.Measure @Aggregation.default: #SUM;
  cost         @Analytics.Measure @Aggregation.default: #SUM;
};

annotate my.InferenceMetrics with @(
  Aggregation.ApplySupported: {
    Transformations        : ['aggregate', 'groupby', 'filter', 'topcount', 'bottomcount', 'identity', 'concat', 'orderby', 'top', 'skip'],
    Rollup                 : #None,
    GroupableProperties    : [agent_ID, model_ID, decision_ID, success, errorCode, finishReason, recordedAt],
    AggregatableProperties : [{ Property: latencyMs }, { Property: ttftMs }, { Property: inputTokens }, { Property: outputTokens }, { Property: cost }]
  }
) {
  agent_ID     @Analytics.Dimension;
  model_ID     @Analytics.Dimension;
  success      @Analytics.Dimension;
  errorCode    @Analytics.Dimension;
  finishReason @Analytics.Dimension;
  latencyMs    @Analytics.Measure @Aggregation.default: #AVG;
  ttftMs       @Analytics.Measure @Aggregation.default: #AVG;
  inputTokens  @Analytics.Measure @Aggregation.default: #SUM;
  outputTokens @Analytics.Measure @Aggregation.default: #SUM;
  cost         @Analytics.Measure @Aggregation.default: #SUM;
};

annotate my.RoutingDecisions with @(
  Aggregation.ApplySupported: {
    Transformations        : ['aggregate', 'groupby', 'filter', 'topcount', 'bottomcount', 'identity', 'concat', 'orderby', 'top', 'skip'],
    Rollup                 : #None,
    GroupableProperties    : [agent_ID, model_ID, strategy, fallback, requestId, decidedAt],
    AggregatableProperties : [{ Property: score }]
  }
) {
  agent_ID @Analytics.Dimension;
  model_ID @Analytics.Dimension;
  strategy @Analytics.Dimension;
  fallback @Analytics.Dimension;
  score    @Analytics.Measure @Aggregation.default: #AVG;
};
