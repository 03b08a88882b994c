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
    /// Run decode steps in the library's managed AVX-512 code (default), where it applies: a CPU with AVX-512, a float32
    /// model on the CPU. A whole step (norms, fused products, rotary embedding, cache write, attention, MLP, output head)
    /// runs in one managed pass on libtorch's own threads for every step of the built-in models (hidden size ≤ 256, or
    /// ≤ 128 where only one thread is available) and for steps of at most 16 rows of larger ones; other steps run only
    /// their matrix products managed. On the 2-core AMD EPYC measured, the built-in Medium model decodes 7–8× faster than
    /// with libtorch at batch 1, 2.3–2.6× at 16 and 1.5× at 64 (lab/benchmarks.md, "The managed decode step"). A row's
    /// values do not depend on the rows or threads it is decoded with. Off, decode is libtorch's forward, which rounds as
    /// the teacher-forced forward does (~1e-6 apart). Prefill, scoring and training always use libtorch.
    /// </summary>
    public bool UseManagedDecodeKernel { get; set; } = true;

    /// <summary>
    /// With <see cref="UseManagedDecodeKernel"/>, run whole decode steps in managed code where they apply (default); off,
    /// only the products are managed. For benchmarks and tests that measure the two apart.
    /// </summary>
    internal bool UseManagedDecodeStep { get; set; } = true;
}
