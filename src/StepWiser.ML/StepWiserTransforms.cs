using Microsoft.ML;
using StepWiser.ML.Annotation;
using StepWiser.ML.Chunking;
using StepWiser.ML.Generation;
using StepWiser.ML.Judging;
using StepWiser.ML.AnswerChecking;

namespace StepWiser.ML;

/// <summary>The row-mapping stages of StepWiser, reached from <c>mlContext.StepWiser().Transforms</c>.</summary>
public sealed class StepWiserTransforms
{
    private readonly MLContext _mlContext;

    private readonly CancellationToken _token;

    internal StepWiserTransforms(MLContext mlContext, CancellationToken token)
    {
        _mlContext = mlContext;
        _token = token;
    }

    /// <summary>
    /// Cuts a solution column into chunks: <c>&lt;chunk&gt;</c> tags (default), blank lines, "Step k" markers, a
    /// pre-segmented step vector, or self-segmentation by a model. See <see cref="StepChunkerOptions"/> for columns.
    /// </summary>
    public StepChunkerEstimator ChunkSteps(StepChunkerOptions? options = null) => new(_mlContext, options ?? new StepChunkerOptions()) { CatalogToken = _token };

    /// <summary>Cuts <paramref name="inputColumnName"/> into <paramref name="outputColumnName"/> with <paramref name="mode"/>.</summary>
    public StepChunkerEstimator ChunkSteps(string outputColumnName, string inputColumnName, ChunkingMode mode = ChunkingMode.Tags) =>
        new(_mlContext, new StepChunkerOptions { OutputColumnName = outputColumnName, InputColumnName = inputColumnName, Mode = mode }) { CatalogToken = _token };

    /// <summary>
    /// Monte-Carlo annotation: Q values of every chunk from <see cref="MonteCarloOptions.Rollouts"/> continuations of
    /// the policy per prefix, scored by <paramref name="verifier"/>, and labels under the chosen scheme.
    /// </summary>
    public MonteCarloAnnotatorEstimator AnnotateMonteCarlo(ITextGenerator policy, IAnswerVerifier verifier, MonteCarloOptions? options = null) =>
        new(_mlContext, policy, verifier, options ?? new MonteCarloOptions()) { CatalogToken = _token };
}
