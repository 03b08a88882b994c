using StepWiser.ML.Judging;

namespace StepWiser.ML.Samples.Commands;

/// <summary>A judge a command opened (<see cref="JudgeOptions.OpenAsync"/>): the transformer, the server client it runs on (if any) and where it runs.</summary>
/// <param name="Transformer">The judge (it owns a local model).</param>
/// <param name="Client">The server's client for a served judge, or null.</param>
/// <param name="Description">Where it runs, for the start-up line.</param>
internal sealed record OpenedJudge(StepwiseJudgeTransformer Transformer, IDisposable? Client, string Description) : IDisposable
{
    /// <inheritdoc />
    public void Dispose()
    {
        Transformer.Dispose();
        Client?.Dispose();
    }
}
