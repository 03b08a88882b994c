namespace StepWiser.ML.Search;

/// <summary>Options of <see cref="ChunkResetSearch"/> (docs/judging-evaluation-search.md).</summary>
public sealed class ChunkResetOptions
{
    /// <summary>Attempts per chunk before giving up on resetting it (default 5).</summary>
    public int MaxTries { get; set; } = 5;

    /// <summary>
    /// What happens to a chunk whose every attempt was rejected (the paper leaves it open): keep the last attempt and go
    /// on (the default, the natural reading), keep the attempt the judge scored highest, or stop the solution there.
    /// </summary>
    public AfterMaxTries AfterMaxTries { get; set; } = AfterMaxTries.KeepLast;

    /// <summary>Obsolete: true is <see cref="AfterMaxTries.KeepLast"/>, false <see cref="AfterMaxTries.Stop"/>.</summary>
    [Obsolete("Use AfterMaxTries (KeepLast, KeepBest or Stop).")]
    public bool KeepLastAttempt
    {
        get => AfterMaxTries != AfterMaxTries.Stop;
        set => AfterMaxTries = value ? AfterMaxTries.KeepLast : AfterMaxTries.Stop;
    }

    /// <summary>
    /// When true, a chunk the policy draws again word for word at the same point of a solution takes the verdict the
    /// judge gave it there before, without a judge call (<c>JudgeCalls</c> counts the calls made). For a deterministic
    /// judge (greedy analysis, as the built-in recipe's judges) the search is the same, only cheaper: a small or
    /// confident policy often redraws a rejected chunk unchanged. For a judge that samples its analysis it removes the
    /// second opinion a redraw would get, so it is off by default.
    /// </summary>
    public bool ReuseVerdicts { get; set; }

    /// <summary>Most chunks per solution.</summary>
    public int MaxChunks { get; set; } = 16;

    /// <summary>Longest chunk in tokens.</summary>
    public int ChunkMaxNewTokens { get; set; } = 128;

    /// <summary>Sampling temperature of the policy (default 1; a reset only helps if a new attempt can differ).</summary>
    public float Temperature { get; set; } = 1.0f;

    /// <summary>Seed of the attempts.</summary>
    public long Seed { get; set; } = 1;

    /// <summary>Text between accepted chunks (the policy format's separator).</summary>
    public string Separator { get; set; } = "\n\n";

    /// <summary>Input column of the policy prompt (text) when used as a transformer. Default "Prompt".</summary>
    public string PromptColumnName { get; set; } = "Prompt";

    /// <summary>Input column of the problem the judge reads (text). Default "Problem".</summary>
    public string ProblemColumnName { get; set; } = "Problem";

    /// <summary>Output column of the searched solution (tagged text). Default "SearchedSolution".</summary>
    public string SolutionColumnName { get; set; } = "SearchedSolution";

    /// <summary>Output column of the accepted chunks (text vector). Default "SearchedChunks".</summary>
    public string ChunksColumnName { get; set; } = "SearchedChunks";

    /// <summary>Output column of accepted tokens (int). Default "AcceptedTokens".</summary>
    public string AcceptedTokensColumnName { get; set; } = "AcceptedTokens";

    /// <summary>Output column of rejected tokens (int). Default "RejectedTokens".</summary>
    public string RejectedTokensColumnName { get; set; } = "RejectedTokens";

    /// <summary>Output column of judge calls (int). Default "JudgeCalls".</summary>
    public string JudgeCallsColumnName { get; set; } = "JudgeCalls";

    /// <summary>Output column of the tokens the judge generated (int). Default "JudgeTokens".</summary>
    public string JudgeTokensColumnName { get; set; } = "JudgeTokens";

    /// <summary>Output column of resets (int). Default "Resets".</summary>
    public string ResetsColumnName { get; set; } = "Resets";

    /// <summary>Output column (int): chunks whose every attempt was rejected (then kept or, with <see cref="AfterMaxTries.Stop"/>, where the solution stopped).</summary>
    public string ExhaustedChunksColumnName { get; set; } = "ExhaustedChunks";

    /// <summary>Problems searched together when used as a transformer (one batched policy and judge call per round).</summary>
    public int BatchSize { get; set; } = 32;

    /// <summary>A copy, so that a fitted transformer does not change when the caller's options object does.</summary>
    internal ChunkResetOptions Snapshot() => (ChunkResetOptions)MemberwiseClone();

    /// <summary>Throws naming the first invalid option.</summary>
    public void Validate()
    {
        if (MaxTries < 1) throw new ArgumentOutOfRangeException(nameof(MaxTries), MaxTries, "must be at least 1");
        if (MaxChunks < 1) throw new ArgumentOutOfRangeException(nameof(MaxChunks), MaxChunks, "must be at least 1");
        if (ChunkMaxNewTokens < 1) throw new ArgumentOutOfRangeException(nameof(ChunkMaxNewTokens), ChunkMaxNewTokens, "must be at least 1");
        if (Temperature < 0) throw new ArgumentOutOfRangeException(nameof(Temperature), Temperature, "must be >= 0");
        if (BatchSize < 1) throw new ArgumentOutOfRangeException(nameof(BatchSize), BatchSize, "must be at least 1");
        if (!Enum.IsDefined(AfterMaxTries)) throw new ArgumentOutOfRangeException(nameof(AfterMaxTries), AfterMaxTries, "must be KeepLast, KeepBest or Stop");
        Data.ColumnReader.RequireNames((nameof(PromptColumnName), PromptColumnName), (nameof(ProblemColumnName), ProblemColumnName), (nameof(SolutionColumnName), SolutionColumnName),
            (nameof(ChunksColumnName), ChunksColumnName), (nameof(AcceptedTokensColumnName), AcceptedTokensColumnName), (nameof(RejectedTokensColumnName), RejectedTokensColumnName),
            (nameof(JudgeCallsColumnName), JudgeCallsColumnName), (nameof(JudgeTokensColumnName), JudgeTokensColumnName), (nameof(ResetsColumnName), ResetsColumnName), (nameof(ExhaustedChunksColumnName), ExhaustedChunksColumnName));
    }
}
