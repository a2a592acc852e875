using { AdminService as service } from '../../srv/admin-service/service';

// Draft-enabled maintenance of models (prices, context window) and agents, in two tabs of one List Report.
// What the router registered on the fly is marked (a warning in the lists) and found with the filter
// "Registered by the Router", so that an operator can price it.

annotate service.Models with @(
  UI.HeaderInfo              : {
    TypeName      : '{i18n>Model}',
    TypeNamePlural: '{i18n>Models}',
    Title         : { Value: ID },
    Description   : { Value: name },
  },
  // both tabs have autoRegistered, so the filter applies to models and agents alike
  UI.SelectionFields         : [autoRegistered, provider],
  UI.LineItem                : [
    { Value: ID, @UI.Importance: #High, @HTML5.CssDefaults: { width: '12rem' } },
    { Value: name, @UI.Importance: #High, @HTML5.CssDefaults: { width: '12rem' } },
    { Value: provider, @UI.Importance: #High, @HTML5.CssDefaults: { width: '8rem' } },
    { Value: inputPricePer1M, @UI.Importance: #High, @HTML5.CssDefaults: { width: '11rem' } },
    { Value: outputPricePer1M, @UI.Importance: #High, @HTML5.CssDefaults: { width: '11rem' } },
    { Value: contextWindow, @UI.Importance: #High, @HTML5.CssDefaults: { width: '10rem' } },
    { Value: autoRegistered, @UI.Importance: #High, @HTML5.CssDefaults: { width: '13rem' }, Criticality: (autoRegistered = true ? 2 : 0), CriticalityRepresentation: #WithoutIcon },
  ],
  // what the router registered comes first: it may still wait for an operator's prices
  UI.SelectionPresentationVariant #models: {
    Text               : '{i18n>Models}',
    SelectionVariant   : { SelectOptions: [] },
    PresentationVariant: { SortOrder: [{ Property: autoRegistered, Descending: true }, { Property: ID }], Visualizations: ['@UI.LineItem'] },
  },
  UI.DataPoint #autoRegistered: { Value: autoRegistered, Title: '{i18n>AutoRegistered}', Criticality: (autoRegistered = true ? 2 : 0) },
  UI.HeaderFacets            : [{ $Type: 'UI.ReferenceFacet', Target: '@UI.DataPoint#autoRegistered' }],
  UI.FieldGroup #Model       : { Data: [
    { Value: ID, @UI.Importance: #High },
    { Value: name, @UI.Importance: #High },
    { Value: provider, @UI.Importance: #High },
    { Value: contextWindow, @UI.Importance: #High },
  ] },
  UI.FieldGroup #Prices      : { Data: [
    { Value: inputPricePer1M, @UI.Importance: #High },
    { Value: outputPricePer1M, @UI.Importance: #High },
  ] },
  UI.FieldGroup #Registration: { Data: [
    { Value: autoRegistered, @UI.Importance: #High },
    { Value: createdBy, @UI.Importance: #High },
    { Value: createdAt, @UI.Importance: #High },
    { Value: modifiedBy, @UI.Importance: #High },
    { Value: modifiedAt, @UI.Importance: #High },
  ] },
  UI.Facets                  : [
    { $Type: 'UI.ReferenceFacet', ID: 'Model', Label: '{i18n>Model}', Target: '@UI.FieldGroup#Model' },
    { $Type: 'UI.ReferenceFacet', ID: 'Prices', Label: '{i18n>Prices}', Target: '@UI.FieldGroup#Prices' },
    { $Type: 'UI.ReferenceFacet', ID: 'Registration', Label: '{i18n>Registration}', Target: '@UI.FieldGroup#Registration' },
  ],
);

annotate service.Agents with @(
  UI.HeaderInfo              : {
    TypeName      : '{i18n>Agent}',
    TypeNamePlural: '{i18n>Agents}',
    Title         : { Value: ID },
    Description   : { Value: name },
  },
  UI.SelectionFields         : [autoRegistered],
  UI.LineItem                : [
    { Value: ID, @UI.Importance: #High, @HTML5.CssDefaults: { width: '12rem' } },
    { Value: name, @UI.Importance: #High, @HTML5.CssDefaults: { width: '12rem' } },
    { Value: description, @UI.Importance: #High, @HTML5.CssDefaults: { width: '32rem' } },
    { Value: autoRegistered, @UI.Importance: #High, @HTML5.CssDefaults: { width: '13rem' }, Criticality: (autoRegistered = true ? 2 : 0), CriticalityRepresentation: #WithoutIcon },
  ],
  UI.SelectionPresentationVariant #agents: {
    Text               : '{i18n>Agents}',
    SelectionVariant   : { SelectOptions: [] },
    PresentationVariant: { SortOrder: [{ Property: autoRegistered, Descending: true }, { Property: ID }], Visualizations: ['@UI.LineItem'] },
  },
  UI.DataPoint #autoRegistered: { Value: autoRegistered, Title: '{i18n>AutoRegistered}', Criticality: (autoRegistered = true ? 2 : 0) },
  UI.HeaderFacets            : [{ $Type: 'UI.ReferenceFacet', Target: '@UI.DataPoint#autoRegistered' }],
  UI.FieldGroup #Agent       : { Data: [
    { Value: ID, @UI.Importance: #High },
    { Value: name, @UI.Importance: #High },
    { Value: description, @UI.Importance: #High },
  ] },
  UI.FieldGroup #Registration: { Data: [
    { Value: autoRegistered, @UI.Importance: #High },
    { Value: createdBy, @UI.Importance: #High },
    { Value: createdAt, @UI.Importance: #High },
    { Value: modifiedBy, @UI.Importance: #High },
    { Value: modifiedAt, @UI.Importance: #High },
  ] },
  UI.Facets                  : [
    { $Type: 'UI.ReferenceFacet', ID: 'Agent', Label: '{i18n>Agent}', Target: '@UI.FieldGroup#Agent' },
    { $Type: 'UI.ReferenceFacet', ID: 'Registration', Label: '{i18n>Registration}', Target: '@UI.FieldGroup#Registration' },
  ],
) {
  description @UI.MultiLineText;
};
