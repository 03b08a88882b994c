namespace StepWiser.ML.Generation;

/// <summary>Why a continuation ended.</summary>
public enum FinishReason
{
    /// <summary>A stop string was produced.</summary>
    Stop,
    /// <summary>An end-of-sequence token was produced.</summary>
    EndOfSequence,
    /// <summary><see cref="SamplingOptions.MaxNewTokens"/> was reached.</summary>
    Length,
}

/// <summary>One continuation.</summary>
/// <param name="Text">Generated text, ending before the stop string or end-of-sequence token.</param>
/// <param name="TokenIds">Generated token ids, including the token that ended the continuation.</param>
/// <param name="Finish">Why it ended.</param>
/// <param name="LogProbs">Per-token log-probabilities (aligned with <paramref name="TokenIds"/>) when requested.</param>
/// <param name="StopString">The stop string that ended it, if any.</param>
public sealed record GeneratedSample(string Text, IReadOnlyList<int> TokenIds, FinishReason Finish, IReadOnlyList<float>? LogProbs = null, string? StopString = null);

/// <summary>The continuations of one request, in sample order.</summary>
/// <param name="Samples">The continuations.</param>
/// <param name="PromptTokenCount">Number of prompt tokens (0 when the engine does not know).</param>
public sealed record GenerationResult(IReadOnlyList<GeneratedSample> Samples, int PromptTokenCount = 0);
