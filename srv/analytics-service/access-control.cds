using { AnalyticsService } from './service';

annotate AnalyticsService with @requires: ['Analyst', 'Admin'];
