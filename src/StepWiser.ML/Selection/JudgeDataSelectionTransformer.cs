using Microsoft.ML;
using Microsoft.ML.Data;
using StepWiser.ML.AnswerChecking;
using StepWiser.ML.Data;
using StepWiser.ML.Generation;
using StepWiser.ML.Judging;

namespace StepWiser.ML.Selection;

/// <summary>
/// Judge-based data selection as an ML.NET transformer: reads a prompt, a problem and a reference-answer column and
/// adds the judge-selected and the outcome-selected correct solution, the judge's score and the sample counts per row
/// (<see cref="JudgeDataSelection.SelectAsync"/> over <see cref="JudgeDataSelectionOptions.BatchSize"/> rows at a
/// time). Lazy; nothing is learned and nothing is saved: the policy and the judge are saved on their own.
/// </summary>
public sealed class JudgeDataSelectionTransformer : ITransformer, ICancellableStage
{
    internal const string StageName = "SelectByJudge";
    private readonly ITextGenerator _policy;
    private readonly IStepJudge _judge;
    private readonly IAnswerVerifier _verifier;
    private readonly JudgeDataSelectionOptions _options;

    internal JudgeDataSelectionTransformer(ITextGenerator policy, IStepJudge judge, IAnswerVerifier verifier, JudgeDataSelectionOptions options)
    {
        _policy = policy ?? throw new ArgumentNullException(nameof(policy));
        _judge = judge ?? throw new ArgumentNullException(nameof(judge));
        _verifier = verifier ?? throw new ArgumentNullException(nameof(verifier));
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options.Snapshot();
    }

    /// <summary>What <c>mlContext.StepWiser().Save</c> records.</summary>
    internal ITextGenerator Policy => _policy;

    internal IStepJudge Judge => _judge;

    internal IAnswerVerifier Verifier => _verifier;

    internal JudgeDataSelectionOptions Options => _options.Snapshot();

    /// <summary>What stops a transform of this stage (set by the catalog that made it: its token and the context's cancellation).</summary>
    internal StageCancellation Cancellation { get; set; }

    StageCancellation ICancellableStage.Cancellation { get => Cancellation; set => Cancellation = value; }

    /// <inheritdoc />
    public bool IsRowToRowMapper => false;

    /// <inheritdoc />
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        var o = _options;
        ColumnReader.Require(inputSchema, o.PromptColumnName, TextDataViewType.Instance, StageName);
        ColumnReader.Require(inputSchema, o.ProblemColumnName, TextDataViewType.Instance, StageName);
        ColumnReader.Require(inputSchema, o.AnswerColumnName, TextDataViewType.Instance, StageName);
        return BatchMappedDataView<(string, string, string), SelectionResult>.AppendColumns(inputSchema, Outputs());
    }

    /// <inheritdoc />
    public IDataView Transform(IDataView input)
    {
        GetOutputSchema(input.Schema);
        var o = _options;
        return new BatchMappedDataView<(string, string, string), SelectionResult>(input, [o.PromptColumnName, o.ProblemColumnName, o.AnswerColumnName], row =>
        {
            var prompt = ColumnReader.Text(row, o.PromptColumnName);
            var problem = ColumnReader.Text(row, o.ProblemColumnName);
            var reference = ColumnReader.Text(row, o.AnswerColumnName);
            return () => (prompt(), problem(), reference());
        }, Outputs(), batch => Cancellation.Run(ct => JudgeDataSelection.SelectAsync(_policy, _judge, _verifier, batch, o.Sampling, o.Seed, ct).GetAwaiter().GetResult()), o.BatchSize);
    }

    /// <inheritdoc />
    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema) =>
        throw new NotSupportedException("StepWiser transformers map rows in batches; use Transform(IDataView).");

    /// <summary>Not supported: ML.NET's model zip needs APIs ML.NET keeps internal; use <c>mlContext.StepWiser().Save(model, folder)</c> (or this stage's own Save where it has one).</summary>
    void ICanSaveModel.Save(ModelSaveContext ctx) =>
        throw new NotSupportedException(PipelineFolder.UseStepWiserSave);

    internal OutputColumn<SelectionResult>[] Outputs()
    {
        var o = _options;
        return
        [
            OutputColumn<SelectionResult>.Text(o.JudgeSelectedColumnName, r => r.JudgeSelected ?? ""),
            OutputColumn<SelectionResult>.Single(o.JudgeScoreColumnName, r => r.JudgeScore),
            OutputColumn<SelectionResult>.Text(o.OutcomeSelectedColumnName, r => r.OutcomeSelected ?? ""),
            OutputColumn<SelectionResult>.Int32(o.SampledColumnName, r => r.Sampled),
            OutputColumn<SelectionResult>.Int32(o.CorrectCountColumnName, r => r.CorrectCount),
            OutputColumn<SelectionResult>.TextVector(o.CorrectSolutionsColumnName, r => r.CorrectSolutions),
            OutputColumn<SelectionResult>.SingleVector(o.CorrectScoresColumnName, r => r.CorrectScores),
        ];
    }
}
