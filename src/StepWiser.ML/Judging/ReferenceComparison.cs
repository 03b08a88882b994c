using StepWiser.ML.Chunking;
using StepWiser.ML.Generation;

namespace StepWiser.ML.Judging;

/// <summary>
/// The "solve, then compare" judge's text operations (<see cref="ReferenceJudge"/>). A reference writer — a model that
/// writes the next chunk the way a policy does — first writes its own version of the step from the problem and the
/// history, without seeing the step. The judge then reads its reference and the step as aligned character pairs
/// (<see cref="Pairs"/>: "Su bb …" is the two texts zipped position by position) and its analysis copies every pair
/// followed by "=" when the two characters are equal and "!" when not, then concludes "Same." or "Different."
/// (<see cref="Analysis"/>). Every comparison is then a decision about the two characters just written, and the
/// conclusion only has to find a "!" in the judge's own text: small models trained from scratch learn this exactly,
/// where they do not learn to tell two ~20-character lines apart by one digit from a single decision token
/// (lab/benchmarks.md, "compare-capacity"). Nothing here knows a task's rules or any label: the analysis is a function of
/// the reference and the step, and the reference is written by a model, so it is only as right as its writer.
/// </summary>
public static class ReferenceComparison
{
    /// <summary>The longest text compared, in characters (longer references and steps are cut, so an analysis stays bounded).</summary>
    public const int MaxLength = 80;

    /// <summary>What stands for a character past the end of the shorter text.</summary>
    public const char Missing = '_';

    /// <summary>
    /// The two texts (each on one line, cut at <see cref="MaxLength"/>) as character pairs aligned by position, separated
    /// by spaces, <see cref="Missing"/> past the end of the shorter one: "ab" against "ac" is "aa bc".
    /// </summary>
    public static string Pairs(string reference, string step) =>
        string.Join(' ', Aligned(reference, step).Select(p => string.Concat(p.A, p.B)));

    /// <summary>
    /// The analysis of an input whose <see cref="JudgeInput.Reference"/> is set: every aligned pair followed by "=" or "!",
    /// then "Same." when no pair differs and "Different." otherwise ("aa= bc! Different.").
    /// </summary>
    public static string Analysis(JudgeInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var reference = input.Reference ?? throw new ArgumentException($"the step \"{Data.TextPreview.Shorten(input.Chunk)}\" has no reference (a ReferenceWriter writes it)", nameof(input));
        var pairs = Aligned(reference, input.Chunk);
        return Mark(pairs) + (pairs.All(p => p.A == p.B) ? " Same." : " Different.");
    }

    /// <summary>The aligned pairs of <see cref="Pairs"/>, each followed by "=" when its two characters are equal and "!" when not ("aa= bc!"): the analysis without its conclusion.</summary>
    public static string Marked(string reference, string step) => Mark(Aligned(reference, step));

    private static string Mark((char A, char B)[] pairs) => string.Join(' ', pairs.Select(p => string.Concat(p.A, p.B, p.A == p.B ? '=' : '!')));

    /// <summary>
    /// The comparison done in code instead of by a model: accepts a step exactly when it equals its reference
    /// character for character (both on one line). With a <see cref="ReferenceJudge"/> it is the ceiling of any judge
    /// that compares a step with one written reference: as right as its writer, and wrong on every valid step written
    /// another way. Score 1 or 0; no tokens generated.
    /// </summary>
    public static IStepJudge ExactJudge { get; } = new Exact();

    private sealed class Exact : IStepJudge
    {
        public Task<IReadOnlyList<StepVerdict>> JudgeStepsAsync(IReadOnlyList<JudgeInput> inputs, CancellationToken cancellationToken = default)
        {
            ArgumentNullException.ThrowIfNull(inputs);
            return Task.FromResult<IReadOnlyList<StepVerdict>>(inputs.Select(i =>
            {
                var reference = i.Reference ?? throw new ArgumentException($"the step \"{Data.TextPreview.Shorten(i.Chunk)}\" has no reference (a ReferenceWriter writes it)", nameof(inputs));
                var same = JudgeTemplate.OneLine(reference) == JudgeTemplate.OneLine(i.Chunk);
                return new StepVerdict(same, same ? 1f : 0f, same ? "Same." : "Different.", 0);
            }).ToArray());
        }
    }

    /// <summary>Whether an analysis (of this format) concludes that the reference and the step are the same: its first conclusion word is "Same." (whatever follows it).</summary>
    public static bool ConcludesSame(string analysis)
    {
        ArgumentNullException.ThrowIfNull(analysis);
        var same = analysis.IndexOf("Same.", StringComparison.Ordinal);
        var different = analysis.IndexOf("Different.", StringComparison.Ordinal);
        return same >= 0 && (different < 0 || same < different);
    }

    /// <summary>
    /// What <paramref name="writer"/> writes as the next chunk after <paramref name="prefixOf"/>(input) for each input
    /// (greedy, stopped at <c>&lt;/chunk&gt;</c>, the chunk tags removed, on one line), in the order of the inputs.
    /// Inputs with the same prefix are written once.
    /// </summary>
    public static async Task<IReadOnlyList<string>> NextChunksAsync(ITextGenerator writer, IReadOnlyList<JudgeInput> inputs, Func<JudgeInput, string> prefixOf,
        int maxNewTokens = 64, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(prefixOf);
        var prefixes = inputs.Select(prefixOf).ToArray();
        var written = await WriteAsync(writer, prefixes.Distinct(StringComparer.Ordinal).ToArray(), maxNewTokens, cancellationToken).ConfigureAwait(false);
        return prefixes.Select(p => written[p]).ToArray();
    }

    /// <summary>The writer's next chunk (greedy, stopped at the close tag, tags removed, on one line) after each of <paramref name="prefixes"/> (distinct).</summary>
    internal static async Task<Dictionary<string, string>> WriteAsync(ITextGenerator writer, IReadOnlyList<string> prefixes, int maxNewTokens, CancellationToken cancellationToken)
    {
        var written = new Dictionary<string, string>(StringComparer.Ordinal);
        if (prefixes.Count == 0) return written;
        var sampling = SamplingOptions.Greedy(maxNewTokens) with { Stop = [ChunkParser.CloseTag] };
        var results = await writer.GenerateAsync(prefixes.Select(p => GenerationRequest.FromText(p, sampling)).ToArray(), cancellationToken).ConfigureAwait(false);
        for (var i = 0; i < prefixes.Count; i++) written[prefixes[i]] = JudgeTemplate.OneLine(StripTags(results[i].Samples[0].Text));
        return written;
    }

    /// <summary>
    /// Label-free practice pairs for the analysis stage: <paramref name="count"/> inputs whose reference is one of
    /// <paramref name="references"/> (drawn at random) and whose step is, for every other input, that text unchanged and
    /// otherwise with 1 to <paramref name="maxEdits"/> characters changed (a digit to another digit, a letter to another
    /// letter). The pairs teach comparison itself: which of a model's references are right never enters.
    /// </summary>
    public static IReadOnlyList<JudgeInput> PracticePairs(IReadOnlyList<string> references, int count, int maxEdits = 6, int seed = 1)
    {
        ArgumentNullException.ThrowIfNull(references);
        var usable = references.Select(JudgeTemplate.OneLine).Where(r => r.Any(char.IsLetterOrDigit)).Distinct(StringComparer.Ordinal).ToArray();
        if (usable.Length == 0) throw new ArgumentException("no reference with a letter or digit to practise on", nameof(references));
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxEdits, 1);
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(k =>
        {
            var reference = usable[random.Next(usable.Length)];
            var step = k % 2 == 0 ? reference : Edit(reference, 1 + random.Next(maxEdits), random);
            return new JudgeInput("", [], step) { Reference = reference };
        }).ToArray();
    }

    private static string Edit(string text, int edits, Random random)
    {
        var chars = text.ToCharArray();
        var editable = Enumerable.Range(0, Math.Min(chars.Length, MaxLength)).Where(i => char.IsAsciiLetterOrDigit(chars[i])).ToArray();
        for (var e = 0; e < edits; e++)
        {
            var i = editable[random.Next(editable.Length)];
            var c = chars[i];
            char other;
            do other = char.IsAsciiDigit(c) ? (char)('0' + random.Next(10)) : char.IsAsciiLetterUpper(c) ? (char)('A' + random.Next(26)) : (char)('a' + random.Next(26));
            while (other == c);
            chars[i] = other;
        }
        return new string(chars);
    }

    private static (char A, char B)[] Aligned(string reference, string step)
    {
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(step);
        var a = Cut(reference);
        var b = Cut(step);
        return Enumerable.Range(0, Math.Max(a.Length, b.Length)).Select(i => (i < a.Length ? a[i] : Missing, i < b.Length ? b[i] : Missing)).ToArray();
    }

    private static string Cut(string text)
    {
        var flat = JudgeTemplate.OneLine(text);
        return flat.Length <= MaxLength ? flat : flat[..MaxLength];
    }

    private static string StripTags(string text)
    {
        var t = text.Trim();
        if (t.StartsWith(ChunkParser.OpenTag, StringComparison.Ordinal)) t = t[ChunkParser.OpenTag.Length..];
        return t.Replace(ChunkParser.CloseTag, "", StringComparison.Ordinal).Trim();
    }
}
