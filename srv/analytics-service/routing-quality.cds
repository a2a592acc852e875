using { AnalyticsService } from './service';
using { router as db } from '../../db/schema';

// Routing quality (API.md, "Routing quality"): is the router choosing well? Windows `from <= decidedAt < to`
// select decisions; their metrics count whenever they were recorded. See docs/analytics.md.
extend service AnalyticsService with {
  type StrategyComparisonRow {
    strategy        : db.Strategy;
    decisions       : Integer64;
    fallbacks       : Integer64;
    requests        : Integer64;
    successes       : Integer64;
    successRate     : Double;
    successRateLow  : Double;
    successRateHigh : Double;
    avgLatencyMs    : Double @Measures.Unit: 'ms';
    p95LatencyMs    : Double @Measures.Unit: 'ms';
    costPerRequest  : Double @Measures.ISOCurrency: 'USD';
    pValueVsBest    : Double;
  }

  type ScoreCalibrationRow {
    bucket         : Integer;
    scoreFrom      : Double;
    scoreTo        : Double;
    decisions      : Integer64;
    meanScore      : Double;
    requests       : Integer64;
    successes      : Integer64;
    successRate    : Double;
    avgLatencyMs   : Double @Measures.Unit: 'ms';
    costPerRequest : Double @Measures.ISOCurrency: 'USD';
  }

  type CandidateRegretRow {
    strategy             : db.Strategy;
    decisions            : Integer64;
    evaluated            : Integer64;
    betterAvailable      : Integer64;
    betterAvailableRate  : Double;
    successRegret        : Double;
    costSavingPerRequest : Double @Measures.ISOCurrency: 'USD';
  }

  /** Per strategy with decisions in the window: success rate with its 95 % Wilson interval, latency, cost, p-value against the best. */
  function strategyComparison(from : Timestamp @mandatory, to : Timestamp @mandatory) returns many StrategyComparisonRow;

  /** Per score bucket (tenths of the score) of the window's decisions with a score, of one strategy or of all: how they went. */
  function scoreCalibration(from : Timestamp @mandatory, to : Timestamp @mandatory, strategy : db.Strategy) returns many ScoreCalibrationRow;

  /** Per strategy: how often a known candidate was better for the agent than the chosen model, and what that cost. */
  function candidateRegret(from : Timestamp @mandatory, to : Timestamp @mandatory, minRequests : Integer default 20) returns many CandidateRegretRow;
}
