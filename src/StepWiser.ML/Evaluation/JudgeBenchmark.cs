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
}
