using StepWiser.ML.Chunking;
using StepWiser.ML.Generation;

namespace StepWiser.ML.Judging;

/// <summary>
/// A world-independent analysis teacher for the judge recipe: the policy itself re-derives the step from the problem
/// and the history (greedy, one chunk), and the analysis quotes that re-derivation, quotes the step and says whether
/// they are the same: "Expected: Subtract 62. 07-62=45. Step: Subtract 62. 07-62=45. Same." Nothing in it knows the
/// task's rules, the exact checker or any label: a judge warmed up on it learns to re-derive the step the way the
/// policy would and to compare. It is only as right as the policy's greedy step, which is what the ladder measures
/// against the world-specific teacher (<c>WorldJudging.CompareAnalysis</c>).
/// </summary>
public static class RederivationAnalysis
{
    /// <summary>The longest quoted chunk, in characters (longer text is cut, so an analysis stays short).</summary>
    public const int MaxQuoteLength = 80;

    /// <summary>
    /// The text a chunked policy continues to write the next chunk after <paramref name="history"/>: the prompt, then
    /// each earlier chunk in <c>&lt;chunk&gt;…&lt;/chunk&gt;</c> tags followed by <paramref name="separator"/>.
    /// </summary>
    public static string ChunkedPrefix(string prompt, IReadOnlyList<string> history, string separator = "\n\n")
    {
        ArgumentNullException.ThrowIfNull(prompt);
        ArgumentNullException.ThrowIfNull(history);
        return prompt + string.Concat(history.Select(c => ChunkParser.OpenTag + c + ChunkParser.CloseTag + separator));
    }

    /// <summary>
    /// Re-derives each input's step with <paramref name="policy"/> (greedy, stopped at <c>&lt;/chunk&gt;</c>) from
    /// <paramref name="prefixOf"/>(input) and returns the analyses, in the order of <paramref name="inputs"/>.
    /// </summary>
    public static async Task<IReadOnlyList<string>> ComputeAsync(ITextGenerator policy, IReadOnlyList<JudgeInput> inputs, Func<JudgeInput, string> prefixOf,
        int maxNewTokens = 64, CancellationToken cancellationToken = default)
    {
        var written = await ReferenceComparison.NextChunksAsync(policy, inputs, prefixOf, maxNewTokens, cancellationToken).ConfigureAwait(false);
        return inputs.Select((input, i) => Format(written[i], input.Chunk)).ToArray();
    }

    /// <summary>The analysis for a re-derived step and the step being judged.</summary>
    public static string Format(string rederived, string chunk)
    {
        ArgumentNullException.ThrowIfNull(rederived);
        ArgumentNullException.ThrowIfNull(chunk);
        var expected = Flatten(rederived).TrimEnd('.');
        var step = Flatten(chunk).TrimEnd('.');
        var same = string.Equals(expected, step, StringComparison.Ordinal);
        return $"Expected: {(expected.Length == 0 ? "?" : expected)}. Step: {step}. {(same ? "Same." : "Different.")}";
    }

    /// <summary>
    /// An analysis function over precomputed analyses (e.g. from <see cref="ComputeAsync"/>), keyed by problem, history
    /// and chunk; an input that was not precomputed is an error naming it.
    /// </summary>
    public static Func<JudgeInput, string> Lookup(IReadOnlyList<JudgeInput> inputs, IReadOnlyList<string> analyses)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(analyses);
        if (inputs.Count != analyses.Count) throw new ArgumentException($"{inputs.Count} inputs but {analyses.Count} analyses");
        var table = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < inputs.Count; i++) table[Key(inputs[i])] = analyses[i];
        return input => table.TryGetValue(Key(input), out var a) ? a
            : throw new KeyNotFoundException($"no precomputed analysis for the step \"{Data.TextPreview.Shorten(input.Chunk)}\" (history of {input.History.Count} chunks)");
    }

    /// <summary>A chunk on one line (<see cref="JudgeTemplate.OneLine"/>), at most <see cref="MaxQuoteLength"/> characters.</summary>
    public static string Flatten(string chunk)
    {
        var flat = JudgeTemplate.OneLine(chunk);
        return flat.Length <= MaxQuoteLength ? flat : flat[..MaxQuoteLength];
    }

    private static string Key(JudgeInput input) => input.Problem + "\u0001" + string.Join("\u0002", input.History) + "\u0001" + input.Chunk;
}
