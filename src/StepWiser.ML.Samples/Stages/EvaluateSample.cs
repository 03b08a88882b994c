using Microsoft.ML;
using StepWiser.ML.Evaluation;
using StepWiser.ML.Judging;

namespace StepWiser.ML.Samples.Stages;

/// <summary>
/// Stage 4, evaluation: ProcessBench-format files (the real ones in <c>../shared/data/processbench/</c> or the
/// world's held-out benchmark) stream into an IDataView; the saved judge adds Verdicts, StepScores, Rationales and
/// FirstRejected; the evaluator compares FirstRejected with the gold Label and prints the paper's table.
/// </summary>
public static class EvaluateSample
{
    /// <summary>Evaluates the judge saved in <paramref name="judgeDir"/> on <paramref name="benchmarkFiles"/>.</summary>
    public static ProcessBenchMetrics Run(string judgeDir, IReadOnlyList<string> benchmarkFiles, TextWriter log)
    {
        var ml = new MLContext(seed: 1);
        var benchmark = ProcessBench.Load(ml, benchmarkFiles.ToArray());   // columns Id, Generator, Problem, Steps, FinalAnswerCorrect, Label, Subset

        using var judge = StepwiseJudgeTransformer.Load(judgeDir, configure: o => o with { ChunksColumnName = "Steps" });  // ProcessBench calls its chunks "Steps"
        var judged = judge.Transform(benchmark);

        var metrics = ml.StepWiser().Evaluation.Evaluate(judged, predictedColumn: "FirstRejected", goldColumn: "Label", subsetColumn: "Subset");
        log.WriteLine(metrics);
        return metrics;
    }
}
