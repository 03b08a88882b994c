namespace StepWiser.ML.Judging;

/// <summary>
/// How a stepwise judge is run (the transformer's options). Immutable once made, so a fitted or loaded judge cannot be
/// changed under its user; derive a variant with <c>with</c> (e.g. <c>options with { ChunksColumnName = "Steps" }</c>,
/// or <c>StepwiseJudgeTransformer.Load(dir, configure: o =&gt; o with { … })</c>).
/// </summary>
public sealed record StepwiseJudgeOptions
{
    private int _votes = 1;
    private float? _threshold;

    /// <summary>Input column: the problem (text). Default "Problem".</summary>
    public string ProblemColumnName { get; init; } = "Problem";

    /// <summary>Input column: the chunks (text vector). Default "Chunks".</summary>
    public string ChunksColumnName { get; init; } = "Chunks";

    /// <summary>Output column: per-step verdicts, true = Positive (bool vector). Default "Verdicts".</summary>
    public string VerdictsColumnName { get; init; } = "Verdicts";

    /// <summary>Output column: per-step scores, the judge's probability of Positive averaged over the k sampled verdicts (float vector; see <see cref="StepwiseJudge"/>). Default "StepScores".</summary>
    public string ScoresColumnName { get; init; } = "StepScores";

    /// <summary>Output column: per-step rationale of the first sample (text vector). Default "Rationales".</summary>
    public string RationalesColumnName { get; init; } = "Rationales";

    /// <summary>Output column: index of the first rejected step, −1 if none (int). Default "FirstRejected".</summary>
    public string FirstRejectedColumnName { get; init; } = "FirstRejected";

    /// <summary>
    /// Verdicts sampled per step, k (Maj@k). 1 = one greedy verdict. With k &gt; 1 the majority of parseable verdicts
    /// decides; a tie (or no parseable verdict) is Negative — a judge that cannot decide flags the step.
    /// </summary>
    public int Votes
    {
        get => _votes;
        init => _votes = value >= 1 ? value : throw new ArgumentOutOfRangeException(nameof(Votes), value, "must be at least 1");
    }

    /// <summary>
    /// When set, a step is accepted when its score (the probability of Positive, averaged over the votes) is at least this
    /// value, instead of by the majority of votes. Choose it without gold labels with
    /// <c>JudgeCalibration.ChooseThresholdAsync</c> (in the evaluation namespace) on held-out Monte-Carlo-labelled
    /// solutions. Default null.
    /// </summary>
    public float? AcceptanceThreshold
    {
        get => _threshold;
        init => _threshold = value is null || (value >= 0 && value <= 1) ? value : throw new ArgumentOutOfRangeException(nameof(AcceptanceThreshold), value, "must be in [0, 1]");
    }

    /// <summary>Sampling temperature when <see cref="Votes"/> &gt; 1 (default 1).</summary>
    public float Temperature { get; init; } = 1.0f;

    /// <summary>Longest judge response in tokens (default 128).</summary>
    public int MaxNewTokens { get; init; } = 128;

    /// <summary>Stop judging a solution at its first Negative step (later steps get no verdict: false, score NaN, empty rationale).</summary>
    public bool StopAtFirstNegative { get; init; } = true;

    /// <summary>Rows per batch (the steps of all rows in a batch are judged together, step by step).</summary>
    public int BatchSize { get; init; } = 32;

    /// <summary>Seed of sampled verdicts.</summary>
    public long Seed { get; init; } = 1;

    /// <summary>Throws naming the first invalid option.</summary>
    public void Validate()
    {
        if (!(Temperature >= 0)) throw new ArgumentOutOfRangeException(nameof(Temperature), Temperature, "must be >= 0");
        if (MaxNewTokens < 1) throw new ArgumentOutOfRangeException(nameof(MaxNewTokens), MaxNewTokens, "must be at least 1");
        if (BatchSize < 1) throw new ArgumentOutOfRangeException(nameof(BatchSize), BatchSize, "must be at least 1");
        Data.ColumnReader.RequireNames((nameof(ProblemColumnName), ProblemColumnName), (nameof(ChunksColumnName), ChunksColumnName), (nameof(VerdictsColumnName), VerdictsColumnName),
            (nameof(ScoresColumnName), ScoresColumnName), (nameof(RationalesColumnName), RationalesColumnName), (nameof(FirstRejectedColumnName), FirstRejectedColumnName));
    }
}
