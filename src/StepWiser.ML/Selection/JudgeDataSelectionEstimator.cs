using Microsoft.ML;
using Microsoft.ML.Data;
using StepWiser.ML.AnswerChecking;
using StepWiser.ML.Data;
using StepWiser.ML.Generation;
using StepWiser.ML.Judging;

namespace StepWiser.ML.Selection;

/// <summary>
/// Judge-based data selection as an ML.NET estimator (<c>mlContext.StepWiser().Selection.ByJudge</c>): nothing is
/// learned, so <see cref="Fit"/> checks the columns and returns the <see cref="JudgeDataSelectionTransformer"/>.
/// Fine-tune the policy on either output column (e.g. with <see cref="Training.SftTrainer"/>) to compare them.
/// </summary>
public sealed class JudgeDataSelectionEstimator : IEstimator<JudgeDataSelectionTransformer>
{
    private readonly MLContext _mlContext;
    private readonly ITextGenerator _policy;
    private readonly IStepJudge _judge;
    private readonly IAnswerVerifier _verifier;
    private readonly JudgeDataSelectionOptions _options;

    internal JudgeDataSelectionEstimator(MLContext mlContext, ITextGenerator policy, IStepJudge judge, IAnswerVerifier verifier, JudgeDataSelectionOptions options)
    {
        _mlContext = mlContext ?? throw new ArgumentNullException(nameof(mlContext));
        _policy = policy ?? throw new ArgumentNullException(nameof(policy));
        _judge = judge ?? throw new ArgumentNullException(nameof(judge));
        _verifier = verifier ?? throw new ArgumentNullException(nameof(verifier));
        _options = options ?? throw new ArgumentNullException(nameof(options));
    }

    /// <summary>The token of the catalog that made this stage (stops its fit and its transformer's transforms).</summary>
    internal CancellationToken CatalogToken { get; init; }

    /// <inheritdoc />
    public JudgeDataSelectionTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var transformer = new JudgeDataSelectionTransformer(_policy, _judge, _verifier, _options) { Cancellation = new(_mlContext, CatalogToken) };
        transformer.GetOutputSchema(input.Schema);
        return transformer;
    }

    /// <inheritdoc />
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        var o = _options;
        o.Validate();
        foreach (var column in new[] { o.PromptColumnName, o.ProblemColumnName, o.AnswerColumnName })
            ColumnReader.Require(inputSchema, column, TextDataViewType.Instance, vector: false, JudgeDataSelectionTransformer.StageName);
        return SchemaShapes.Append<ShapeHolder>(_mlContext, inputSchema, new Dictionary<string, string>
        {
            [nameof(ShapeHolder.JudgeSelected)] = o.JudgeSelectedColumnName,
            [nameof(ShapeHolder.JudgeScore)] = o.JudgeScoreColumnName,
            [nameof(ShapeHolder.OutcomeSelected)] = o.OutcomeSelectedColumnName,
            [nameof(ShapeHolder.Sampled)] = o.SampledColumnName,
            [nameof(ShapeHolder.CorrectCount)] = o.CorrectCountColumnName,
            [nameof(ShapeHolder.CorrectSolutions)] = o.CorrectSolutionsColumnName,
            [nameof(ShapeHolder.CorrectScores)] = o.CorrectScoresColumnName,
        });
    }

#pragma warning disable CS0649 // assigned by ML.NET's schema reflection only
    internal sealed class ShapeHolder
    {
        public ReadOnlyMemory<char> JudgeSelected;
        public float JudgeScore;
        public ReadOnlyMemory<char> OutcomeSelected;
        public int Sampled;
        public int CorrectCount;
        [VectorType] public ReadOnlyMemory<char>[] CorrectSolutions = [];
        [VectorType] public float[] CorrectScores = [];
    }
#pragma warning restore CS0649
}
