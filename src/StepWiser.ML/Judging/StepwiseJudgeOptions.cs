namespace StepWiser.ML.Judging;

/// <summary>How a stepwise judge is run (the transformer's options).</summary>
public sealed class StepwiseJudgeOptions
{
    private int _votes = 1;

    /// <summary>Input column: the problem (text). Default "Problem".</summary>
    public string ProblemColumnName { get; set; } = "Problem";

    /// <summary>Input column: the chunks (text vector). Default "Chunks".</summary>
    public string ChunksColumnName { get; set; } = "Chunks";

    /// <summary>Output column: per-step verdicts, true = Positive (bool vector). Default "Verdicts".</summary>
    public string VerdictsColumnName { get; set; } = "Verdicts";

    /// <summary>Output column: per-step scores, the share of Positive among the k sampled verdicts (float vector). Default "StepScores".</summary>
    public string ScoresColumnName { get; set; } = "StepScores";

    /// <summary>Output column: per-step rationale of the first sample (text vector). Default "Rationales".</summary>
    public string RationalesColumnName { get; set; } = "Rationales";

    /// <summary>Output column: index of the first rejected step, −1 if none (int). Default "FirstRejected".</summary>
    public string FirstRejectedColumnName { get; set; } = "FirstRejected";

    /// <summary>
    /// Verdicts sampled per step, k (Maj@k). 1 = one greedy verdict. With k &gt; 1 the majority of parseable verdicts
    /// decides; a tie (or no parseable verdict) is Negative — a judge that cannot decide flags the step.
    /// </summary>
    public int Votes
    {
        get => _votes;
        set => _votes = value >= 1 ? value : throw new ArgumentOutOfRangeException(nameof(Votes), value, "must be at least 1");
    }

    /// <summary>Sampling temperature when <see cref="Votes"/> &gt; 1 (default 1).</summary>
    public float Temperature { get; set; } = 1.0f;

    /// <summary>Longest judge response in tokens (default 128).</summary>
    public int MaxNewTokens { get; set; } = 128;

    /// <summary>Stop judging a solution at its first Negative step (later steps get no verdict: false, score NaN, empty rationale).</summary>
    public bool StopAtFirstNegative { get; set; } = true;

    /// <summary>Rows per batch (the steps of all rows in a batch are judged together, step by step).</summary>
    public int BatchSize { get; set; } = 32;

    /// <summary>Seed of sampled verdicts.</summary>
    public long Seed { get; set; } = 1;
}
