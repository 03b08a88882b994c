namespace StepWiser.ML.Generation;

/// <summary>One continuation.</summary>
/// <param name="Text">Generated text, ending before the stop string or end-of-sequence token.</param>
/// <param name="TokenIds">Generated token ids, including the token that ended the continuation.</param>
/// <param name="Finish">Why it ended.</param>
/// <param name="LogProbs">Per-token log-probabilities (aligned with <paramref name="TokenIds"/>) when requested.</param>
/// <param name="StopString">The stop string that ended it, if any.</param>
public sealed record GeneratedSample(string Text, IReadOnlyList<int> TokenIds, FinishReason Finish, IReadOnlyList<float>? LogProbs = null, string? StopString = null);
