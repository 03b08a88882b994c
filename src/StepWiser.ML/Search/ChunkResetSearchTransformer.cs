using Microsoft.ML;
using Microsoft.ML.Data;
using StepWiser.ML.Data;
using StepWiser.ML.Generation;
using StepWiser.ML.Judging;

namespace StepWiser.ML.Search;

/// <summary>
/// Chunk-reset search as an ML.NET transformer: reads a prompt and a problem column (text) and adds the searched
/// solution (text), its accepted chunks (text vector) and the accepted tokens, rejected tokens, judge calls, resets
/// and exhausted chunks (int) per row. Lazy and batched (<see cref="ChunkResetOptions.BatchSize"/> problems per search, which share the
/// rounds of batched policy and judge calls; attempt seeds depend on the row's index in the input, not on the batch). Nothing is learned
/// and there is no state to save: the policy and the judge are saved on their own.
/// </summary>
public sealed class ChunkResetSearchTransformer : ITransformer, ICancellableStage
{
    internal const string StageName = "ChunkResetSearch";

    /// <summary>Creates the transformer over a policy and a judge (local or remote).</summary>
    public ChunkResetSearchTransformer(ITextGenerator policy, IStepJudge judge, ChunkResetOptions? options = null)
    {
        _options = (options ?? new ChunkResetOptions()).Snapshot();
        _options.Validate();
        Search = new ChunkResetSearch(policy ?? throw new ArgumentNullException(nameof(policy)), judge ?? throw new ArgumentNullException(nameof(judge)), _options);
        Policy = policy;
        Judge = judge;
    }

    /// <summary>The policy and the judge the search runs (what <c>mlContext.StepWiser().Save</c> records).</summary>
    internal ITextGenerator Policy { get; }

    internal IStepJudge Judge { get; }

    private readonly ChunkResetOptions _options;

    /// <summary>A copy of the options the transformer runs with (columns, tries, lengths); changing the copy changes nothing.</summary>
    public ChunkResetOptions Options => _options.Snapshot();

    /// <summary>The search doing the work.</summary>
    public ChunkResetSearch Search { get; }

    /// <summary>What stops a transform of this stage (set by the catalog that made it: its token and the context's cancellation).</summary>
    internal StageCancellation Cancellation { get; set; }

    StageCancellation ICancellableStage.Cancellation { get => Cancellation; set => Cancellation = value; }

    /// <inheritdoc />
    public bool IsRowToRowMapper => false;

    /// <inheritdoc />
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
    {
        ColumnReader.Require(inputSchema, _options.PromptColumnName, TextDataViewType.Instance, StageName);
        ColumnReader.Require(inputSchema, _options.ProblemColumnName, TextDataViewType.Instance, StageName);
        return BatchMappedDataView<(string Prompt, string Problem, long Row), SearchResult>.AppendColumns(inputSchema, Outputs());
    }

    /// <inheritdoc />
    public IDataView Transform(IDataView input)
    {
        GetOutputSchema(input.Schema);
        var o = _options;
        return new BatchMappedDataView<(string Prompt, string Problem, long Row), SearchResult>(input, [o.PromptColumnName, o.ProblemColumnName], row =>
        {
            var prompt = ColumnReader.Text(row, o.PromptColumnName);
            var problem = ColumnReader.Text(row, o.ProblemColumnName);
            return () => (prompt(), problem(), row.Position);
        }, Outputs(), batch => Cancellation.Run(ct => Search.SearchAsync(batch.Select(b => (b.Prompt, b.Problem)).ToArray(), batch.Select(b => b.Row).ToArray(), ct).GetAwaiter().GetResult()), o.BatchSize);
    }

    /// <inheritdoc />
    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema) =>
        throw new NotSupportedException("StepWiser transformers map rows in batches; use Transform(IDataView).");

    /// <summary>Not supported: ML.NET's model zip needs APIs ML.NET keeps internal; use <c>mlContext.StepWiser().Save(model, folder)</c> (or this stage's own Save where it has one).</summary>
    void ICanSaveModel.Save(ModelSaveContext ctx) =>
        throw new NotSupportedException(PipelineFolder.UseStepWiserSave);

    private OutputColumn<SearchResult>[] Outputs()
    {
        var o = _options;
        return
        [
            OutputColumn<SearchResult>.Text(o.SolutionColumnName, r => r.Solution),
            OutputColumn<SearchResult>.TextVector(o.ChunksColumnName, r => r.Chunks),
            OutputColumn<SearchResult>.Int32(o.AcceptedTokensColumnName, r => r.AcceptedTokens),
            OutputColumn<SearchResult>.Int32(o.RejectedTokensColumnName, r => r.RejectedTokens),
            OutputColumn<SearchResult>.Int32(o.JudgeCallsColumnName, r => r.JudgeCalls),
            OutputColumn<SearchResult>.Int32(o.JudgeTokensColumnName, r => r.JudgeTokens),
            OutputColumn<SearchResult>.Int32(o.ResetsColumnName, r => r.Resets),
            OutputColumn<SearchResult>.Int32(o.ExhaustedChunksColumnName, r => r.ExhaustedChunks),
        ];
    }
}
