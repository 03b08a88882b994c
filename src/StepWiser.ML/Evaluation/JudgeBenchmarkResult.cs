using StepWiser.ML.Judging;

namespace StepWiser.ML.Evaluation;

/// <summary>What <see cref="JudgeBenchmark.EvaluateAsync"/> measured.</summary>
/// <param name="Metrics">ProcessBench F1 per subset and their mean (the first rejected step against the gold first error).</param>
/// <param name="GoldSteps">Per-step accuracy on the steps up to each record's gold first error (gold: a step is right unless it is the first error).</param>
/// <param name="Judgments">The verdicts on every step of every record, in record order.</param>
public sealed record JudgeBenchmarkResult(ProcessBenchMetrics Metrics, StepAccuracy GoldSteps, IReadOnlyList<StepJudgment> Judgments);
