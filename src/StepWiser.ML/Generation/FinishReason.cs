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
