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

    private readonly Dictionary<string, string> _cache = new(StringComparer.Ordinal);
    private readonly object _gate = new();

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
    public int Written { get; private set; }

    /// <summary>The inputs with <see cref="JudgeInput.Reference"/> written, in order; inputs that already have one keep it.</summary>
    public async Task<IReadOnlyList<JudgeInput>> WithReferencesAsync(IReadOnlyList<JudgeInput> inputs, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        var prompts = inputs.Select(i => i.Reference is null ? Prompt(i) : null).ToArray();
        var known = new Dictionary<string, string>(StringComparer.Ordinal);
        var missing = new List<string>();
        lock (_gate)
            foreach (var p in prompts.OfType<string>().Distinct(StringComparer.Ordinal))
                if (_cache.TryGetValue(p, out var r)) known[p] = r; else missing.Add(p);
        if (missing.Count > 0)
        {
            var written = await ReferenceComparison.WriteAsync(Generator, missing, MaxNewTokens, cancellationToken).ConfigureAwait(false);
            foreach (var p in missing) known[p] = written[p];
            lock (_gate)
            {
                Written += missing.Count;
                if (_cache.Count + missing.Count > CacheSize) _cache.Clear();
                foreach (var p in missing) _cache[p] = known[p];
            }
        }
        return inputs.Select((input, i) => prompts[i] is { } p ? input with { Reference = known[p] } : input).ToArray();
    }

    /// <summary>Labelled steps with their references written, as for inputs.</summary>
    public async Task<IReadOnlyList<JudgeExample>> WithReferencesAsync(IReadOnlyList<JudgeExample> labelled, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(labelled);
        var inputs = await WithReferencesAsync(labelled.Select(e => e.Input).ToArray(), cancellationToken).ConfigureAwait(false);
        return labelled.Select((e, i) => e with { Input = inputs[i] }).ToArray();
    }
}
