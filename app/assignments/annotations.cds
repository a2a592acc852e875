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
    { Value: agent_ID },
    { Value: model_ID },
    { Value: status, Criticality: (status = 'ACTIVE' ? 3 : 0) },
    { Value: strategy },
    { Value: matchScore },
    { Value: totalRequests },
    { Value: successRate },
    { Value: p95LatencyMs },
    { Value: lastUsedAt },
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
    { Value: agent_ID },
    { Value: model_ID },
    { Value: status },
    { Value: strategy },
    { Value: matchScore },
  ] },
  UI.FieldGroup #Figures : { Data: [
    { Value: totalRequests },
    { Value: successfulRequests },
    { Value: successRate },
    { Value: avgLatencyMs },
    { Value: p95LatencyMs },
    { Value: lastUsedAt },
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
