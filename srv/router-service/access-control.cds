using { RouterService } from './service';

annotate RouterService with @requires: ['RouterWriter', 'Admin'];

// The router registers and updates what it knows, but never deletes; decisions and metrics are append-only.
annotate RouterService.Agents           with @Capabilities.DeleteRestrictions.Deletable: false @restrict: [{ grant: ['READ', 'CREATE', 'UPDATE'] }];
annotate RouterService.Models           with @Capabilities.DeleteRestrictions.Deletable: false @restrict: [{ grant: ['READ', 'CREATE', 'UPDATE'] }];
annotate RouterService.Assignments      with @Capabilities.DeleteRestrictions.Deletable: false @restrict: [{ grant: ['READ', 'CREATE', 'UPDATE', 'updateMetrics'] }];
annotate RouterService.RoutingDecisions with @Capabilities.UpdateRestrictions.Updatable: false @Capabilities.DeleteRestrictions.Deletable: false
  @restrict: [{ grant: ['READ', 'CREATE'] }];
annotate RouterService.InferenceMetrics with @Capabilities.UpdateRestrictions.Updatable: false @Capabilities.DeleteRestrictions.Deletable: false
  @restrict: [{ grant: ['READ', 'CREATE'] }];
