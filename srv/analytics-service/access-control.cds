using { AnalyticsService } from './service';

annotate AnalyticsService with @requires: ['Analyst', 'Admin'];

// Everything here is read-only, for admins too: rows change only through the router and AdminService.
annotate AnalyticsService.RoutingDecisions   with @readonly;
annotate AnalyticsService.DecisionCandidates with @readonly;
annotate AnalyticsService.InferenceMetrics   with @readonly;
annotate AnalyticsService.Agents             with @readonly;
annotate AnalyticsService.Models             with @readonly;
annotate AnalyticsService.ModelPerformance   with @readonly;
annotate AnalyticsService.AgentModelPairs    with @readonly;
annotate AnalyticsService.RoutingStats       with @readonly;
annotate AnalyticsService.Summary24h         with @readonly;
annotate AnalyticsService.HourlyStats        with @readonly;
