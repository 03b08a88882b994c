using Microsoft.ML;
using StepWiser.ML.Generation;
using StepWiser.ML.Judging;
using StepWiser.ML.Search;

namespace StepWiser.ML;

/// <summary>Inference-time search with a judge, reached from <c>mlContext.StepWiser().Search</c>.</summary>
public sealed class StepWiserSearch
{
    private readonly MLContext _mlContext;

    private readonly CancellationToken _token;

    internal StepWiserSearch(MLContext mlContext, CancellationToken token)
    {
        _mlContext = mlContext;
        _token = token;
    }

    /// <summary>
    /// Chunk-reset search over a prompt and a problem column: the policy writes one chunk at a time, the judge checks
    /// it, a rejected chunk is written again (see <see cref="ChunkResetOptions"/> for tries, lengths and columns).
    /// </summary>
    public ChunkResetSearchEstimator ChunkReset(ITextGenerator policy, IStepJudge judge, ChunkResetOptions options) =>
        new(_mlContext, policy, judge, options ?? throw new ArgumentNullException(nameof(options))) { CatalogToken = _token };

    /// <summary>Chunk-reset search reading <paramref name="promptColumnName"/> and <paramref name="problemColumnName"/>, with up to <paramref name="maxTries"/> tries per chunk.</summary>
    public ChunkResetSearchEstimator ChunkReset(ITextGenerator policy, IStepJudge judge, string promptColumnName = "Prompt", string problemColumnName = "Problem", int maxTries = 5) =>
        new(_mlContext, policy, judge, new ChunkResetOptions { PromptColumnName = promptColumnName, ProblemColumnName = problemColumnName, MaxTries = maxTries }) { CatalogToken = _token };

    /// <summary>
    /// Chunk-reset search with the judge <paramref name="judgeTrainer"/> fits: for an <c>EstimatorChain</c> that holds the
    /// trainer before the search (annotator → judge trainer → search), the search takes the judge when it is fitted: the
    /// judge of the trainer's most recent <c>Fit</c>, so fit the two in one chain (not the trainer in two chains at once).
    /// </summary>
    public ChunkResetSearchEstimator ChunkReset(ITextGenerator policy, StepwiseJudgeTrainer judgeTrainer, ChunkResetOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(judgeTrainer);
        return new(_mlContext, policy, () => judgeTrainer.LastFitted?.Judge
            ?? throw new InvalidOperationException("ChunkResetSearch: its judge trainer has not been fitted; in an EstimatorChain put the trainer before the search"), options ?? new ChunkResetOptions()) { CatalogToken = _token };
    }

    /// <summary>
    /// The policy alone, written the way chunk-reset search writes it (chunk by chunk, the same attempt seeds, every chunk
    /// accepted): with the same options as a search it is that search's paired baseline (see
    /// <see cref="ChunkResetSearch.PolicyAlone"/>). Adds the same columns.
    /// </summary>
    public ChunkResetSearchEstimator PolicyAlone(ITextGenerator policy, ChunkResetOptions options) =>
        new(_mlContext, policy, ChunkResetSearch.AcceptEveryChunk, options ?? throw new ArgumentNullException(nameof(options))) { CatalogToken = _token };
}
