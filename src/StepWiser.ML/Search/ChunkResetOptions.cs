namespace StepWiser.ML.Search;

/// <summary>Options of <see cref="ChunkResetSearch"/> (METHOD.md §6).</summary>
public sealed class ChunkResetOptions
{
    /// <summary>Attempts per chunk before giving up on resetting it (default 5).</summary>
    public int MaxTries { get; set; } = 5;

    /// <summary>
    /// After the last rejected attempt: keep it and go on (true, the default and the natural reading of the paper), or
    /// stop the solution there (false).
    /// </summary>
    public bool KeepLastAttempt { get; set; } = true;

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

    /// <summary>Throws naming the first invalid option.</summary>
    public void Validate()
    {
        if (MaxTries < 1) throw new ArgumentOutOfRangeException(nameof(MaxTries), MaxTries, "must be at least 1");
        if (MaxChunks < 1) throw new ArgumentOutOfRangeException(nameof(MaxChunks), MaxChunks, "must be at least 1");
        if (ChunkMaxNewTokens < 1) throw new ArgumentOutOfRangeException(nameof(ChunkMaxNewTokens), ChunkMaxNewTokens, "must be at least 1");
        if (Temperature < 0) throw new ArgumentOutOfRangeException(nameof(Temperature), Temperature, "must be >= 0");
    }
}
