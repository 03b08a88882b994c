using Microsoft.ML;
using Microsoft.ML.Data;
using StepWiser.ML.Data;

namespace StepWiser.ML.Evaluation;

/// <summary>Evaluation of judges, reached from <c>mlContext.StepWiser().Evaluation</c>.</summary>
public sealed class StepWiserEvaluation
{
    internal StepWiserEvaluation()
    {
    }

    /// <summary>
    /// Judges every step of every record with <paramref name="judge"/> (each with the record's own earlier steps as
    /// history, no stopping) and scores it: ProcessBench F1 per subset from the first rejected step, and balanced
    /// accuracy on the steps whose gold label is known (each step up to and including the first error), with the
    /// judgments themselves. Any <see cref="Judging.IStepJudge"/>: a generative judge, the discriminative baseline, a remote one.
    /// </summary>
    public Task<JudgeBenchmarkResult> EvaluateJudgeAsync(Judging.IStepJudge judge, IReadOnlyList<ProcessBenchRecord> records, CancellationToken cancellationToken = default) =>
        JudgeBenchmark.EvaluateAsync(judge, records, cancellationToken);

    /// <summary>
    /// ProcessBench metrics from an <see cref="IDataView"/> holding the predicted first rejected step (int, e.g. the
    /// judge transformer's "FirstRejected"), the gold first-error index (int, ProcessBench's "Label") and the subset
    /// (text). With <paramref name="verdictsColumn"/> and <paramref name="stepLabelsColumn"/> (bool vectors) it also
    /// reports per-step accuracy over the steps that were judged.
    /// </summary>
    public ProcessBenchMetrics Evaluate(IDataView data, string predictedColumn = "FirstRejected", string goldColumn = "Label", string subsetColumn = "Subset",
        string? verdictsColumn = null, string? stepLabelsColumn = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        ColumnReader.Require(data.Schema, predictedColumn, NumberDataViewType.Int32, "Evaluate");
        ColumnReader.Require(data.Schema, goldColumn, NumberDataViewType.Int32, "Evaluate");
        ColumnReader.Require(data.Schema, subsetColumn, TextDataViewType.Instance, "Evaluate");
        var columns = new List<DataViewSchema.Column> { data.Schema[predictedColumn], data.Schema[goldColumn], data.Schema[subsetColumn] };
        if (verdictsColumn is not null && stepLabelsColumn is not null)
        {
            ColumnReader.Require(data.Schema, verdictsColumn, new VectorDataViewType(BooleanDataViewType.Instance), "Evaluate");
            ColumnReader.Require(data.Schema, stepLabelsColumn, new VectorDataViewType(BooleanDataViewType.Instance), "Evaluate");
            columns.Add(data.Schema[verdictsColumn]);
            columns.Add(data.Schema[stepLabelsColumn]);
        }
        var rows = new List<(string, int, int)>();
        long judged = 0, right = 0;
        using var cursor = data.GetRowCursor(columns);
        var predicted = ColumnReader.Int32(cursor, predictedColumn);
        var gold = ColumnReader.Int32(cursor, goldColumn);
        var subset = ColumnReader.Text(cursor, subsetColumn);
        var verdicts = verdictsColumn is not null && stepLabelsColumn is not null ? ColumnReader.BooleanVector(cursor, verdictsColumn) : null;
        var labels = verdictsColumn is not null && stepLabelsColumn is not null ? ColumnReader.BooleanVector(cursor, stepLabelsColumn) : null;
        while (cursor.MoveNext())
        {
            var p = predicted();
            rows.Add((subset(), gold(), p));
            if (verdicts is null || labels is null) continue;
            var v = verdicts();
            var l = labels();
            // Steps after a stop at the first Negative were not judged: count up to and including the rejected step.
            var last = p >= 0 ? Math.Min(p, v.Length - 1) : v.Length - 1;
            for (var i = 0; i <= last && i < l.Length; i++) { judged++; if (v[i] == l[i]) right++; }
        }
        var metrics = ProcessBenchMetrics.Compute(rows);
        return verdicts is null ? metrics : metrics with { StepAccuracy = judged == 0 ? double.NaN : right / (double)judged };
    }
}
