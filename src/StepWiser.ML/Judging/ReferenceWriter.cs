using StepWiser.ML.Generation;

namespace StepWiser.ML.Judging;

/// <summary>
/// Pass 1 of a <see cref="ReferenceJudge"/>: a model that writes chunks the way a policy does continues
/// <see cref="Prompt"/>(input) — the text a policy solves from (the problem, then the history) — and writes its own next
/// chunk without seeing the step (greedy, <see cref="ReferenceComparison.NextChunksAsync"/>). A reference depends only on
/// the problem and the history, so steps that share them (the candidates of one search point, one solution judged by
/// several judges) share one written reference; the last <see cref="CacheSize"/> are kept. Thread-safe.
/// </summary>
public sealed class ReferenceWriter
{
    /// <summary>How many written references are kept for reuse (the cache is emptied when it is full).</summary>
    public const int CacheSize = 100_000;

    private readonly BatchMemo<string> _cache = new(CacheSize);

    /// <param name="generator">The writing model (the local engine, or a remote server).</param>
    /// <param name="prompt">The text the writer continues for an input (for the built-in world: the policy prompt and the history in chunk tags).</param>
    public ReferenceWriter(ITextGenerator generator, Func<JudgeInput, string> prompt)
    {
        Generator = generator ?? throw new ArgumentNullException(nameof(generator));
        Prompt = prompt ?? throw new ArgumentNullException(nameof(prompt));
    }

    /// <summary>The writing model.</summary>
    public ITextGenerator Generator { get; }

    /// <summary>The text the writer continues for an input.</summary>
    public Func<JudgeInput, string> Prompt { get; }

    /// <summary>The longest reference, in tokens (default 64).</summary>
    public int MaxNewTokens { get; init; } = 64;

    /// <summary>References written so far (one per distinct prompt not found in the cache).</summary>
    public int Written => _cache.Computed;

    /// <summary>The inputs with <see cref="JudgeInput.Reference"/> written, in order; inputs that already have one keep it.</summary>
    public async Task<IReadOnlyList<JudgeInput>> WithReferencesAsync(IReadOnlyList<JudgeInput> inputs, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        var open = inputs.Where(i => i.Reference is null).ToArray();
        var prompts = open.Select(Prompt).ToArray();
        var written = await _cache.GetAsync(prompts, async missing =>
        {
            var chunks = await ReferenceComparison.WriteAsync(Generator, missing.Select(i => prompts[i]).ToArray(), MaxNewTokens, cancellationToken).ConfigureAwait(false);
            return missing.Select(i => chunks[prompts[i]]).ToArray();
        }).ConfigureAwait(false);
        var k = 0;
        return inputs.Select(input => input.Reference is null ? input with { Reference = written[k++] } : input).ToArray();
    }

    /// <summary>Labelled steps with their references written, as for inputs.</summary>
    public async Task<IReadOnlyList<JudgeExample>> WithReferencesAsync(IReadOnlyList<JudgeExample> labelled, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(labelled);
        var inputs = await WithReferencesAsync(labelled.Select(e => e.Input).ToArray(), cancellationToken).ConfigureAwait(false);
        return labelled.Select((e, i) => e with { Input = inputs[i] }).ToArray();
    }
}
