using { AnalyticsService as service } from '../../srv/analytics-service/service';

// List Report and Object Page over routing decisions (read-only).

annotate service.RoutingDecisions with @(
  UI.HeaderInfo         : {
    TypeName      : '{i18n>RoutingDecision}',
    TypeNamePlural: '{i18n>RoutingDecisions}',
    Title         : { Value: requestId },
    Description   : { Value: model_ID },
  },
  UI.SelectionFields    : [agent_ID, model_ID, strategy, fallback, decidedAt],
  UI.LineItem           : [
    { Value: decidedAt, @UI.Importance: #High, @HTML5.CssDefaults: { width: '13rem' } },
    { Value: requestId, @UI.Importance: #High, @HTML5.CssDefaults: { width: '9rem' } },
    { Value: agent_ID, @UI.Importance: #High, @HTML5.CssDefaults: { width: '11rem' } },
    { Value: model_ID, @UI.Importance: #High, @HTML5.CssDefaults: { width: '11rem' } },
    { Value: strategy, @UI.Importance: #High, @HTML5.CssDefaults: { width: '7rem' } },
    { Value: score, @UI.Importance: #High, @HTML5.CssDefaults: { width: '6rem' } },
    { Value: fallback, @UI.Importance: #High, @HTML5.CssDefaults: { width: '6rem' } },
  ],
  UI.PresentationVariant: {
    SortOrder     : [{ Property: decidedAt, Descending: true }],
    Visualizations: ['@UI.LineItem'],
  },
  UI.DataPoint #score   : { Value: score, Title: '{i18n>Score}' },
  UI.HeaderFacets       : [
    { $Type: 'UI.ReferenceFacet', Target: '@UI.DataPoint#score' },
    { $Type: 'UI.ReferenceFacet', Target: '@UI.FieldGroup#Header' },
  ],
  UI.FieldGroup #Header : { Data: [{ Value: strategy, @UI.Importance: #High }, { Value: fallback, @UI.Importance: #High }] },
  UI.FieldGroup #Decision: { Data: [
    { Value: requestId, @UI.Importance: #High },
    { Value: agent_ID, @UI.Importance: #High },
    { Value: model_ID, @UI.Importance: #High },
    { Value: strategy, @UI.Importance: #High },
    { Value: score, @UI.Importance: #High },
    { Value: fallback, @UI.Importance: #High },
    { Value: decidedAt, @UI.Importance: #High },
    { Value: ID, @UI.Importance: #High },
  ] },
  UI.Facets             : [
    { $Type: 'UI.ReferenceFacet', ID: 'Decision', Label: '{i18n>Decision}', Target: '@UI.FieldGroup#Decision' },
    { $Type: 'UI.ReferenceFacet', ID: 'Candidates', Label: '{i18n>Candidates}', Target: 'candidates/@UI.LineItem' },
    { $Type: 'UI.ReferenceFacet', ID: 'Metrics', Label: '{i18n>InferenceMetrics}', Target: 'metrics/@UI.LineItem' },
  ],
) {
  agent_ID @Common.ValueList: {
    CollectionPath: 'Agents',
    Parameters    : [
      { $Type: 'Common.ValueListParameterInOut', LocalDataProperty: agent_ID, ValueListProperty: 'ID' },
      { $Type: 'Common.ValueListParameterDisplayOnly', ValueListProperty: 'name' },
    ],
  };
  model_ID @Common.ValueList: {
    CollectionPath: 'Models',
    Parameters    : [
      { $Type: 'Common.ValueListParameterInOut', LocalDataProperty: model_ID, ValueListProperty: 'ID' },
      { $Type: 'Common.ValueListParameterDisplayOnly', ValueListProperty: 'name' },
      { $Type: 'Common.ValueListParameterDisplayOnly', ValueListProperty: 'provider' },
    ],
  };
  // the strategies that have decisions, as a drop-down
  strategy @Common.ValueListWithFixedValues @Common.ValueList: {
    CollectionPath: 'RoutingStats',
    Parameters    : [{ $Type: 'Common.ValueListParameterInOut', LocalDataProperty: strategy, ValueListProperty: 'strategy' }],
  };
};

annotate service.DecisionCandidates with @(
  UI.LineItem           : [{ Value: rank, @UI.Importance: #High }, { Value: model_ID, @UI.Importance: #High }, { Value: score, @UI.Importance: #High }],
  UI.PresentationVariant: { SortOrder: [{ Property: rank }], Visualizations: ['@UI.LineItem'] },
);

annotate service.InferenceMetrics with @(
  UI.LineItem: [
    { Value: recordedAt, @UI.Importance: #High },
    { Value: model_ID, @UI.Importance: #High },
    { Value: success, @UI.Importance: #High },
    { Value: latencyMs, @UI.Importance: #High },
    { Value: ttftMs, @UI.Importance: #High },
    { Value: inputTokens, @UI.Importance: #High },
    { Value: outputTokens, @UI.Importance: #High },
    { Value: cost, @UI.Importance: #High },
    { Value: finishReason, @UI.Importance: #High },
    { Value: errorCode, @UI.Importance: #High },
  ],
);

annotate service.Agents with { ID @Common.Text: name };
annotate service.Models with { ID @Common.Text: name };
annotate service.RoutingStats with { strategy @title: '{i18n>Strategy}' };
