using { AdminService as service } from '../../srv/admin-service/service';

// Draft-enabled management of agent-model assignments.

annotate service.Assignments with @(
  UI.HeaderInfo          : {
    TypeName      : '{i18n>Assignment}',
    TypeNamePlural: '{i18n>Assignments}',
    Title         : { Value: agent_ID },
    Description   : { Value: model_ID },
  },
  UI.SelectionFields     : [agent_ID, model_ID, status, strategy],
  UI.LineItem            : [
    { $Type: 'UI.DataFieldForAction', Action: 'AdminService.updateMetrics', Label: '{i18n>UpdateMetrics}' },
    { Value: agent_ID, @UI.Importance: #High },
    { Value: model_ID, @UI.Importance: #High },
    { Value: status, @UI.Importance: #High, Criticality: (status = 'ACTIVE' ? 3 : 0) },
    { Value: strategy, @UI.Importance: #High },
    { Value: matchScore, @UI.Importance: #High },
    { Value: totalRequests, @UI.Importance: #High },
    { Value: successRate, @UI.Importance: #High },
    { Value: p95LatencyMs, @UI.Importance: #High },
    { Value: lastUsedAt, @UI.Importance: #High },
  ],
  UI.PresentationVariant : {
    SortOrder     : [{ Property: agent_ID }, { Property: model_ID }],
    Visualizations: ['@UI.LineItem'],
  },
  UI.Identification      : [
    { $Type: 'UI.DataFieldForAction', Action: 'AdminService.updateMetrics', Label: '{i18n>UpdateMetrics}' },
  ],
  UI.DataPoint #status   : { Value: status, Title: '{i18n>Status}', Criticality: (status = 'ACTIVE' ? 3 : 0) },
  UI.DataPoint #matchScore: { Value: matchScore, Title: '{i18n>MatchScore}' },
  UI.HeaderFacets        : [
    { $Type: 'UI.ReferenceFacet', Target: '@UI.DataPoint#status' },
    { $Type: 'UI.ReferenceFacet', Target: '@UI.DataPoint#matchScore' },
  ],
  UI.FieldGroup #Routing : { Data: [
    { Value: agent_ID, @UI.Importance: #High },
    { Value: model_ID, @UI.Importance: #High },
    { Value: status, @UI.Importance: #High },
    { Value: strategy, @UI.Importance: #High },
    { Value: matchScore, @UI.Importance: #High },
  ] },
  UI.FieldGroup #Figures : { Data: [
    { Value: totalRequests, @UI.Importance: #High },
    { Value: successfulRequests, @UI.Importance: #High },
    { Value: successRate, @UI.Importance: #High },
    { Value: avgLatencyMs, @UI.Importance: #High },
    { Value: p95LatencyMs, @UI.Importance: #High },
    { Value: lastUsedAt, @UI.Importance: #High },
  ] },
  UI.Facets              : [
    { $Type: 'UI.ReferenceFacet', ID: 'Routing', Label: '{i18n>Routing}', Target: '@UI.FieldGroup#Routing' },
    { $Type: 'UI.ReferenceFacet', ID: 'Figures', Label: '{i18n>Figures}', Target: '@UI.FieldGroup#Figures' },
  ],
) {
  agent @Common.Text: agent.name @Common.TextArrangement: #TextFirst;
  model @Common.Text: model.name @Common.TextArrangement: #TextFirst;
};

// Value helps for the agent and the model of an assignment.
annotate service.Agents with @cds.odata.valuelist;
annotate service.Models with @cds.odata.valuelist;

// After Update Metrics the object page and the list show the recomputed figures.
annotate service.Assignments actions {
  updateMetrics @Common.SideEffects: {
    TargetProperties: ['in/totalRequests', 'in/successfulRequests', 'in/successRate', 'in/avgLatencyMs', 'in/p95LatencyMs', 'in/lastUsedAt']
  };
};
