using StepWiser.ML.Judging;

namespace StepWiser.ML.Evaluation;

/// <summary>
/// Evaluates a stepwise judge on ProcessBench-format records (ProcessBench itself or the built-in world's held-out
/// benchmark): every step is judged with the record's own earlier steps as history (no stopping), so one pass gives
/// both the first rejected step, for ProcessBench F1, and the verdicts at the steps whose gold label is known (each step
/// up to and including the first error), for per-step accuracy.
/// </summary>
public static class JudgeBenchmark
{
    /// <summary>Judges every record and scores it.</summary>
    public static async Task<JudgeBenchmarkResult> EvaluateAsync(IStepJudge judge, IReadOnlyList<ProcessBenchRecord> records, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(judge);
        ArgumentNullException.ThrowIfNull(records);
        var judged = await StepJudging.JudgeSolutionsAsync(judge, records.Select(b => (b.Problem, (IReadOnlyList<string>)b.Steps)).ToArray(), false, cancellationToken).ConfigureAwait(false);
        var metrics = ProcessBenchMetrics.Compute(records.Zip(judged).Select(x => (x.First.Subset, x.First.Label, x.Second.FirstRejected)));
        var labels = new List<bool>();
        var verdicts = new List<bool>();
        for (var r = 0; r < records.Count; r++)
        {
            var last = records[r].Label < 0 ? records[r].Steps.Length - 1 : Math.Min(records[r].Label, records[r].Steps.Length - 1);
            for (var k = 0; k <= last; k++)
            {
                labels.Add(k != records[r].Label);
                verdicts.Add(judged[r].Verdicts[k]);
            }
        }
        return new JudgeBenchmarkResult(metrics, StepAccuracy.Compute(labels, verdicts), judged);
    }

    /// <summary>
    /// Accuracy of the verdicts by step position (1 = first step) over the steps with a gold label (each step up to
    /// and including the first error), for positions with at least <paramref name="minSteps"/> such steps.
    /// </summary>
    /// <param name="records">The benchmark records.</param>
    /// <param name="judgments">The judgments of <see cref="EvaluateAsync"/>, in record order.</param>
    /// <param name="minSteps">Positions with fewer labelled steps are left out (too few to mean anything).</param>
    public static IReadOnlyList<(int Position, double Accuracy, int Steps)> AccuracyByPosition(IReadOnlyList<ProcessBenchRecord> records, IReadOnlyList<StepJudgment> judgments, int minSteps = 5)
    {
        ArgumentNullException.ThrowIfNull(records);
        ArgumentNullException.ThrowIfNull(judgments);
        if (records.Count != judgments.Count) throw new ArgumentException($"{records.Count} records but {judgments.Count} judgments", nameof(judgments));
        var steps = records.SelectMany((b, r) => b.Steps.Select((_, k) => (Position: k, Right: (b.Label != k) == judgments[r].Verdicts[k])).Where(x => b.Label < 0 || x.Position <= b.Label));
        return steps.GroupBy(x => x.Position).OrderBy(g => g.Key).Where(g => g.Count() >= minSteps)
            .Select(g => (g.Key + 1, g.Average(x => x.Right ? 1.0 : 0.0), g.Count())).ToArray();
    }
}
