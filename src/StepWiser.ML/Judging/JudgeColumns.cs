using Microsoft.ML;
using Microsoft.ML.Data;
using StepWiser.ML.Data;

namespace StepWiser.ML.Judging;

/// <summary>
/// The IDataView side both judge transformers share (generative and discriminative): read the problem (text) and the
/// chunks (text vector) named in <see cref="StepwiseJudgeOptions"/>, judge each batch of solutions step by step, and
/// append the verdicts, scores, (for a judge that writes them) rationales and the first rejected step.
/// </summary>
internal static class JudgeColumns
{
    public static DataViewSchema OutputSchema(DataViewSchema inputSchema, StepwiseJudgeOptions o, bool rationales, string stage)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        ColumnReader.Require(inputSchema, o.ProblemColumnName, TextDataViewType.Instance, stage);
        ColumnReader.Require(inputSchema, o.ChunksColumnName, new VectorDataViewType(TextDataViewType.Instance), stage);
        return BatchMappedDataView<(string, string[]), StepJudgment>.AppendColumns(inputSchema, Outputs(o, rationales));
    }

    public static IDataView Transform(IDataView input, IStepJudge judge, StepwiseJudgeOptions o, bool rationales, string stage, StageCancellation cancellation)
    {
        OutputSchema(input.Schema, o, rationales, stage);
        return new BatchMappedDataView<(string, string[]), StepJudgment>(input, [o.ProblemColumnName, o.ChunksColumnName], row =>
        {
            var problem = ColumnReader.Text(row, o.ProblemColumnName);
            var chunks = ColumnReader.TextVector(row, o.ChunksColumnName);
            return () => (problem(), chunks());
        }, Outputs(o, rationales), batch => cancellation.Run(ct => StepJudging.JudgeSolutionsAsync(judge, batch.Select(b => (b.Item1, (IReadOnlyList<string>)b.Item2)).ToArray(), o.StopAtFirstNegative, ct)
            .GetAwaiter().GetResult()), o.BatchSize);
    }

    private static OutputColumn<StepJudgment>[] Outputs(StepwiseJudgeOptions o, bool rationales) =>
    [
        OutputColumn<StepJudgment>.BooleanVector(o.VerdictsColumnName, j => j.Verdicts),
        OutputColumn<StepJudgment>.SingleVector(o.ScoresColumnName, j => j.Scores),
        .. rationales ? [OutputColumn<StepJudgment>.TextVector(o.RationalesColumnName, j => j.Rationales)] : Array.Empty<OutputColumn<StepJudgment>>(),
        OutputColumn<StepJudgment>.Int32(o.FirstRejectedColumnName, j => j.FirstRejected),
    ];
}
