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

    /// <summary>
    /// Run the matrix products of decode steps of at most 16 rows with the library's managed AVX-512 kernel (default),
    /// where it applies: a CPU with AVX-512, a float32 model on the CPU. On the AMD EPYC measured it makes decode
    /// 1.2–1.9× faster than libtorch's BLAS at batch 1–4 and 1.1–1.2× at 8–16 (docs/benchmarks.md). Off, decode uses
    /// libtorch's products, which round as the teacher-forced forward does. Larger decode steps, prefill, scoring and
    /// training always use libtorch.
    /// </summary>
    public bool UseManagedDecodeKernel { get; set; } = true;

    /// <summary>
    /// With <see cref="UseManagedDecodeKernel"/>, run whole decode steps in managed code where they apply (default); off,
    /// only the products are managed. For benchmarks and tests that measure the two apart.
    /// </summary>
    internal bool UseManagedDecodeStep { get; set; } = true;
}
