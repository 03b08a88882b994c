namespace StepWiser.ML.Generation;

/// <summary>Options of <see cref="LocalTextGenerator"/>.</summary>
public sealed class LocalGeneratorOptions
{
    private int _maxBatchRows = 64;

    /// <summary>Largest number of sequences decoded together in one batch (samples of all requests count).</summary>
    public int MaxBatchRows
    {
        get => _maxBatchRows;
        set => _maxBatchRows = value >= 1 ? value : throw new ArgumentOutOfRangeException(nameof(MaxBatchRows), value, "must be at least 1");
    }

    /// <summary>
    /// End-of-sequence token ids in addition to those of the model config (e.g. <c>&lt;|im_end|&gt;</c> for chat models).
    /// </summary>
    public IReadOnlyList<int> ExtraEosTokenIds { get; set; } = [];

    /// <summary>Use the KV cache (default). Off, every step re-runs the whole sequence: only for tests and benchmarks.</summary>
    public bool UseKvCache { get; set; } = true;
}
