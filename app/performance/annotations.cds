using { AnalyticsService as service } from '../../srv/analytics-service/service';

// Model and pair performance: charts over the $apply-enabled analytics in tabs of one List Report
// (Fiori elements' analytical multi-view), next to tables of the all-time figures.

// ModelPerformance holds one row per model, so the aggregate of a model's row is the row itself.
annotate service.ModelPerformance with @(
  Aggregation.ApplySupported              : {
    Transformations       : ['aggregate', 'groupby', 'filter', 'identity', 'orderby', 'top', 'skip'],
    Rollup                : #None,
    GroupableProperties   : [model_ID, modelName, provider],
    AggregatableProperties: [
      { Property: requests }, { Property: successes }, { Property: failures }, { Property: successRate },
      { Property: p95LatencyMs }, { Property: cost }
    ],
  },
  Aggregation.CustomAggregate #requests    : 'Edm.Int64',
  Aggregation.CustomAggregate #successes   : 'Edm.Int64',
  Aggregation.CustomAggregate #failures    : 'Edm.Int64',
  Aggregation.CustomAggregate #successRate : 'Edm.Double',
  Aggregation.CustomAggregate #p95LatencyMs: 'Edm.Double',
  Aggregation.CustomAggregate #cost        : 'Edm.Decimal',
) {
  model_ID     @Analytics.Dimension;
  modelName    @Analytics.Dimension;
  provider     @Analytics.Dimension;
  requests     @Analytics.Measure @Aggregation.default: #SUM;
  successes    @Analytics.Measure @Aggregation.default: #SUM;
  failures     @Analytics.Measure @Aggregation.default: #SUM;
  successRate  @Analytics.Measure @Aggregation.default: #AVG;
  p95LatencyMs @Analytics.Measure @Aggregation.default: #MAX;
  cost         @Analytics.Measure @Aggregation.default: #SUM;
};

annotate service.ModelPerformance with @(
  UI.HeaderInfo                            : { TypeName: '{i18n>Model}', TypeNamePlural: '{i18n>Models}', Title: { Value: model_ID } },
  UI.SelectionFields                       : [model_ID, provider],
  UI.Chart #requests                       : {
    Title              : '{i18n>RequestsPerModel}',
    ChartType          : #Column,
    Dimensions         : [model_ID],
    Measures           : [requests],
    DimensionAttributes: [{ Dimension: model_ID, Role: #Category }],
    MeasureAttributes  : [{ Measure: requests, Role: #Axis1 }],
  },
  UI.Chart #successRate                    : {
    Title              : '{i18n>SuccessRatePerModel}',
    ChartType          : #Bar,
    Dimensions         : [model_ID],
    Measures           : [successRate],
    DimensionAttributes: [{ Dimension: model_ID, Role: #Category }],
    MeasureAttributes  : [{ Measure: successRate, Role: #Axis1 }],
  },
  UI.Chart #latency                        : {
    Title              : '{i18n>P95LatencyPerModel}',
    ChartType          : #Bar,
    Dimensions         : [model_ID],
    Measures           : [p95LatencyMs],
    DimensionAttributes: [{ Dimension: model_ID, Role: #Category }],
    MeasureAttributes  : [{ Measure: p95LatencyMs, Role: #Axis1 }],
  },
  UI.LineItem                              : [
    { Value: model_ID, @UI.Importance: #High },
    { Value: provider, @UI.Importance: #High },
    { Value: requests, @UI.Importance: #High },
    { Value: successRate, @UI.Importance: #High },
    { Value: avgLatencyMs, @UI.Importance: #High },
    { Value: p50LatencyMs, @UI.Importance: #High },
    { Value: p95LatencyMs, @UI.Importance: #High },
    { Value: p99LatencyMs, @UI.Importance: #High },
    { Value: inputTokens, @UI.Importance: #High },
    { Value: outputTokens, @UI.Importance: #High },
    { Value: cost, @UI.Importance: #High },
  ],
  UI.SelectionPresentationVariant #requests: {
    Text               : '{i18n>RequestsPerModel}',
    SelectionVariant   : { SelectOptions: [] },
    PresentationVariant: { SortOrder: [{ Property: requests, Descending: true }], Visualizations: ['@UI.Chart#requests'] },
  },
  UI.SelectionPresentationVariant #successRate: {
    Text               : '{i18n>SuccessRatePerModel}',
    SelectionVariant   : { SelectOptions: [] },
    PresentationVariant: { Visualizations: ['@UI.Chart#successRate'] },
  },
  UI.SelectionPresentationVariant #latency : {
    Text               : '{i18n>P95LatencyPerModel}',
    SelectionVariant   : { SelectOptions: [] },
    PresentationVariant: { SortOrder: [{ Property: p95LatencyMs, Descending: true }], Visualizations: ['@UI.Chart#latency'] },
  },
  UI.SelectionPresentationVariant #models  : {
    Text               : '{i18n>Models}',
    SelectionVariant   : { SelectOptions: [] },
    PresentationVariant: { SortOrder: [{ Property: requests, Descending: true }], Visualizations: ['@UI.LineItem'] },
  },
);

annotate service.HourlyStats with @(
  UI.Chart #hourly                        : {
    Title              : '{i18n>RequestsPerHour}',
    ChartType          : #Line,
    Dimensions         : [hourLabel],
    Measures           : [requests, failures],
    DimensionAttributes: [{ Dimension: hourLabel, Role: #Category }],
    MeasureAttributes  : [{ Measure: requests, Role: #Axis1 }, { Measure: failures, Role: #Axis1 }],
  },
  UI.SelectionPresentationVariant #hourly: {
    Text               : '{i18n>RequestsPerHour}',
    SelectionVariant   : { SelectOptions: [] },
    PresentationVariant: { SortOrder: [{ Property: hourLabel }], Visualizations: ['@UI.Chart#hourly'] },
  },
);

annotate service.AgentModelPairs with @(
  UI.HeaderInfo                        : { TypeName: '{i18n>Pair}', TypeNamePlural: '{i18n>Pairs}', Title: { Value: agent_ID } },
  UI.LineItem                          : [
    { Value: agent_ID, @UI.Importance: #High, @HTML5.CssDefaults: { width: '11rem' } },
    { Value: model_ID, @UI.Importance: #High, @HTML5.CssDefaults: { width: '11rem' } },
    { Value: requests, @UI.Importance: #High, @HTML5.CssDefaults: { width: '7rem' } },
    { Value: successRate, @UI.Importance: #High, @HTML5.CssDefaults: { width: '8rem' } },
    { Value: avgLatencyMs, @UI.Importance: #High, @HTML5.CssDefaults: { width: '9rem' } },
    { Value: p95LatencyMs, @UI.Importance: #High, @HTML5.CssDefaults: { width: '9rem' } },
    { Value: cost, @UI.Importance: #High, @HTML5.CssDefaults: { width: '8rem' } },
    { Value: lastUsedAt, @UI.Importance: #High, @HTML5.CssDefaults: { width: '13rem' } },
  ],
  UI.SelectionPresentationVariant #pairs: {
    Text               : '{i18n>Pairs}',
    SelectionVariant   : { SelectOptions: [] },
    PresentationVariant: { SortOrder: [{ Property: requests, Descending: true }], Visualizations: ['@UI.LineItem'] },
  },
);

annotate service.ModelPerformance with {
  model_ID @Common.ValueList: {
    CollectionPath: 'Models',
    Parameters    : [
      { $Type: 'Common.ValueListParameterInOut', LocalDataProperty: model_ID, ValueListProperty: 'ID' },
      { $Type: 'Common.ValueListParameterDisplayOnly', ValueListProperty: 'name' },
      { $Type: 'Common.ValueListParameterDisplayOnly', ValueListProperty: 'provider' },
    ],
  };
};
