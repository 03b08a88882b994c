namespace StepWiser.ML.Generation;

/// <summary>How to sample continuations. Immutable; use <c>with</c> to derive variants.</summary>
public sealed record SamplingOptions
{
    /// <summary>Number of continuations of the prompt (k). Local engines compute the prompt once and fork it.</summary>
    public int NumSamples { get; init; } = 1;

    /// <summary>Largest number of new tokens per continuation.</summary>
    public int MaxNewTokens { get; init; } = 256;

    /// <summary>Softmax temperature; 0 means greedy decoding.</summary>
    public float Temperature { get; init; } = 1.0f;

    /// <summary>Nucleus sampling mass in (0, 1]; 1 disables it.</summary>
    public float TopP { get; init; } = 1.0f;

    /// <summary>Keep only the k most likely tokens; 0 disables it.</summary>
    public int TopK { get; init; }

    /// <summary>Strings that end a continuation; the returned text stops before the first one.</summary>
    public IReadOnlyList<string> Stop { get; init; } = [];

    /// <summary>Seed; sample j of a request uses the stream of seed + j, so results do not depend on batching or forking.</summary>
    public long? Seed { get; init; }

    /// <summary>
    /// Return the log-probability of each generated token: under the model at temperature 1 (no filtering) by default,
    /// or under the distribution sampled from (logits / <see cref="Temperature"/>, before top-k/top-p filtering) when
    /// <see cref="TemperedLogProbs"/> is set.
    /// </summary>
    public bool ReturnLogProbs { get; init; }

    /// <summary>
    /// With <see cref="ReturnLogProbs"/>: the returned log-probabilities are those of the tempered distribution
    /// (logits / <see cref="Temperature"/>) the token was drawn from, which is what an RL importance ratio needs when
    /// sampling below or above T = 1. Ignored for greedy rows (temperature 0), whose log-probs stay at temperature 1.
    /// </summary>
    public bool TemperedLogProbs { get; init; }

    /// <summary>Greedy decoding of up to <paramref name="maxNewTokens"/> tokens.</summary>
    public static SamplingOptions Greedy(int maxNewTokens = 256) => new() { Temperature = 0, MaxNewTokens = maxNewTokens };

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first invalid property.</summary>
    public void Validate()
    {
        if (NumSamples < 1) throw new ArgumentOutOfRangeException(nameof(NumSamples), NumSamples, "must be at least 1");
        if (MaxNewTokens < 1) throw new ArgumentOutOfRangeException(nameof(MaxNewTokens), MaxNewTokens, "must be at least 1");
        if (Temperature < 0 || float.IsNaN(Temperature)) throw new ArgumentOutOfRangeException(nameof(Temperature), Temperature, "must be >= 0");
        if (TopP <= 0 || TopP > 1) throw new ArgumentOutOfRangeException(nameof(TopP), TopP, "must be in (0, 1]");
        if (TopK < 0) throw new ArgumentOutOfRangeException(nameof(TopK), TopK, "must be >= 0");
        if (Stop.Any(string.IsNullOrEmpty)) throw new ArgumentException("stop strings must not be empty", nameof(Stop));
    }
}
