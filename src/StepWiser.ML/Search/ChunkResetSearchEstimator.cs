using Microsoft.ML;
using Microsoft.ML.Data;
using StepWiser.ML.Data;
using StepWiser.ML.Generation;
using StepWiser.ML.Judging;

namespace StepWiser.ML.Search;

/// <summary>
/// Chunk-reset search as an ML.NET estimator (<c>mlContext.StepWiser().Search.ChunkReset</c>): nothing is learned, so
/// <see cref="Fit"/> checks the prompt and problem columns and returns the <see cref="ChunkResetSearchTransformer"/>
/// over the policy and the judge. It exists so that search composes in a pipeline like the other stages.
/// </summary>
public sealed class ChunkResetSearchEstimator : IEstimator<ChunkResetSearchTransformer>
{
    private readonly MLContext _mlContext;
    private readonly ITextGenerator _policy;
    private readonly Func<IStepJudge> _judge;
    private readonly ChunkResetOptions _options;

    internal ChunkResetSearchEstimator(MLContext mlContext, ITextGenerator policy, IStepJudge judge, ChunkResetOptions options)
        : this(mlContext, policy, Fixed(judge ?? throw new ArgumentNullException(nameof(judge))), options)
    {
    }

    /// <summary>A search whose judge is known only when it is fitted (the judge a trainer before it in a chain fitted).</summary>
    internal ChunkResetSearchEstimator(MLContext mlContext, ITextGenerator policy, Func<IStepJudge> judge, ChunkResetOptions options)
    {
        _mlContext = mlContext ?? throw new ArgumentNullException(nameof(mlContext));
        _policy = policy ?? throw new ArgumentNullException(nameof(policy));
        _judge = judge;
        _options = options ?? throw new ArgumentNullException(nameof(options));
    }

    /// <summary>The token of the catalog that made this stage (stops its fit and its transformer's transforms).</summary>
    internal CancellationToken CatalogToken { get; init; }

    /// <inheritdoc />
    public ChunkResetSearchTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var transformer = new ChunkResetSearchTransformer(_policy, _judge(), _options) { Cancellation = new(_mlContext, CatalogToken) };
        transformer.GetOutputSchema(input.Schema);
        return transformer;
    }

    /// <inheritdoc />
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        _options.Validate();
        ColumnReader.Require(inputSchema, _options.PromptColumnName, TextDataViewType.Instance, vector: false, ChunkResetSearchTransformer.StageName);
        ColumnReader.Require(inputSchema, _options.ProblemColumnName, TextDataViewType.Instance, vector: false, ChunkResetSearchTransformer.StageName);
        return SchemaShapes.Append<SearchRow>(_mlContext, inputSchema, new Dictionary<string, string>
        {
            [nameof(SearchRow.SearchedSolution)] = _options.SolutionColumnName,
            [nameof(SearchRow.SearchedChunks)] = _options.ChunksColumnName,
            [nameof(SearchRow.AcceptedTokens)] = _options.AcceptedTokensColumnName,
            [nameof(SearchRow.RejectedTokens)] = _options.RejectedTokensColumnName,
            [nameof(SearchRow.JudgeCalls)] = _options.JudgeCallsColumnName,
            [nameof(SearchRow.JudgeTokens)] = _options.JudgeTokensColumnName,
            [nameof(SearchRow.Resets)] = _options.ResetsColumnName,
            [nameof(SearchRow.ExhaustedChunks)] = _options.ExhaustedChunksColumnName,
        });
    }

    private static Func<IStepJudge> Fixed(IStepJudge judge) => () => judge;
}
