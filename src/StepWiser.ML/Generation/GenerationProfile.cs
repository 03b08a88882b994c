namespace StepWiser.ML.Generation;

/// <summary>
/// Where the local engine's time went, accumulated over its calls (<see cref="LocalTextGenerator.Profile"/>): prompt
/// prefill, the model forward of decode steps, sampling, and the rest of each step (tensors of the next tokens, masks,
/// dropping finished rows, stop strings). Wall-clock time on the calling thread: on a GPU, kernels run asynchronously, so
/// their time shows up where results are first read (sampling), not in the forward.
/// </summary>
/// <param name="Prefill">Prompt forward passes (one per batch) and forking.</param>
/// <param name="Forward">Decode steps: the model forward (attention, MLPs, output head).</param>
/// <param name="Sampling">Decode steps: choosing the next token of every row and reading it back.</param>
/// <param name="Bookkeeping">Decode steps: everything else.</param>
/// <param name="Steps">Decode steps taken (one new token for every active row).</param>
public sealed record GenerationProfile(TimeSpan Prefill, TimeSpan Forward, TimeSpan Sampling, TimeSpan Bookkeeping, long Steps)
{
    /// <summary>Nothing measured yet.</summary>
    public static GenerationProfile Empty { get; } = new(TimeSpan.Zero, TimeSpan.Zero, TimeSpan.Zero, TimeSpan.Zero, 0);

    /// <summary>The total of the four parts.</summary>
    public TimeSpan Total => Prefill + Forward + Sampling + Bookkeeping;
}
