using System.Text.RegularExpressions;

namespace StepWiser.ML.AnswerChecking;

/// <summary>
/// Rule-based math answer checking, pure C# with no computer algebra system: extracts the final answer of a response
/// (<see cref="AnswerExtractor"/>), normalises LaTeX, splits the answer into its structure (tuples, intervals, sets,
/// matrices, equations, <c>\pm</c>, choice letters) and compares scalars exactly as rationals, numerically within
/// <see cref="MathAnswerVerifierOptions.RelativeTolerance"/>, or symbolically at seeded random points. Every
/// comparison is bounded by <see cref="MathAnswerVerifierOptions.TimeBudget"/> and
/// <see cref="MathAnswerVerifierOptions.MaxNestingDepth"/>, so untrusted model output cannot hang it or overflow the
/// stack. Thread-safe; the rules are described in docs/answer-checking.md.
/// </summary>
public sealed class MathAnswerVerifier : IAnswerVerifier
{
    private readonly double _tolerance;
    private readonly TimeSpan _timeBudget;
    private readonly AnswerExtractionModes _modes;
    private readonly Regex? _pattern;
    private readonly int _points;
    private readonly int _seed;
    private readonly int _maxLength;
    private readonly int _maxDepth;

    /// <summary>The options the verifier was made with (what <c>mlContext.StepWiser().Save</c> records).</summary>
    internal MathAnswerVerifierOptions Options { get; }

    /// <summary>Creates a verifier with a copy of <paramref name="options"/> (defaults when null).</summary>
    /// <exception cref="ArgumentException">The Pattern extraction mode is requested without an answer pattern.</exception>
    public MathAnswerVerifier(MathAnswerVerifierOptions? options = null)
    {
        options ??= new MathAnswerVerifierOptions();
        Options = options;
        if (options.ExtractionModes.HasFlag(AnswerExtractionModes.Pattern) && options.AnswerPattern is null)
            throw new ArgumentException("ExtractionModes includes Pattern but AnswerPattern is not set", nameof(options));
        _tolerance = options.RelativeTolerance;
        _timeBudget = options.TimeBudget;
        _modes = options.ExtractionModes;
        _pattern = options.AnswerPattern is { } pattern ? new Regex(pattern, RegexOptions.CultureInvariant, options.TimeBudget) : null;
        _points = options.RandomPoints;
        _seed = options.Seed;
        _maxLength = options.MaxAnswerLength;
        _maxDepth = options.MaxNestingDepth;
    }

    /// <inheritdoc />
    /// <exception cref="RegexMatchTimeoutException">The configured answer pattern ran past the time budget.</exception>
    public string? ExtractAnswer(string response) => AnswerExtractor.Extract(response, _modes, _pattern);

    /// <inheritdoc />
    public bool IsEquivalent(string candidate, string reference) => Compare(candidate, reference).IsCorrect;

    /// <inheritdoc />
    public AnswerVerdict Verify(string response, string reference)
    {
        ArgumentNullException.ThrowIfNull(response);
        ArgumentNullException.ThrowIfNull(reference);
        string referenceAnswer = AnswerExtractor.ExtractBoxed(reference) ?? AnswerExtractor.ExtractAfterHashMarker(reference) ?? reference.Trim();
        string? candidate;
        try
        {
            candidate = ExtractAnswer(response);
        }
        catch (RegexMatchTimeoutException)
        {
            return new AnswerVerdict(AnswerOutcome.Undecided, null, referenceAnswer, "the answer pattern ran past the time budget");
        }
        return candidate is null
            ? new AnswerVerdict(AnswerOutcome.NoAnswer, null, referenceAnswer, "no final answer found in the response")
            : Compare(candidate, referenceAnswer);
    }

    /// <summary>
    /// Compares two bare answers and says how the outcome was reached: <see cref="IsEquivalent"/> with the reasons.
    /// Never throws for any input text; limits give <see cref="AnswerOutcome.Undecided"/>.
    /// </summary>
    public AnswerVerdict Compare(string candidate, string reference)
    {
        ArgumentNullException.ThrowIfNull(candidate);
        ArgumentNullException.ThrowIfNull(reference);
        AnswerVerdict Verdict(AnswerOutcome outcome, string reason) => new(outcome, candidate, reference, reason);

        if (candidate.AsSpan().Trim().SequenceEqual(reference.AsSpan().Trim())) return Verdict(AnswerOutcome.Equivalent, "identical text");
        if (candidate.Length > _maxLength || reference.Length > _maxLength)
            return Verdict(AnswerOutcome.NotEquivalent, $"longer than {_maxLength} characters: compared as literal text only");

        var budget = new ComparisonBudget(_timeBudget);
        try
        {
            string left = LatexNormalizer.Normalize(candidate, budget);
            string right = LatexNormalizer.Normalize(reference, budget);
            if (left.Length == 0 || right.Length == 0)
                return Verdict(left == right ? AnswerOutcome.Equivalent : AnswerOutcome.NotEquivalent, "an answer is empty after normalisation");
            var comparer = new AnswerComparer(_tolerance, _points, _seed, _maxDepth, budget);
            bool equal = comparer.Equal(AnswerNode.Parse(left, 0, _maxDepth, budget), AnswerNode.Parse(right, 0, _maxDepth, budget));
            if (equal) return Verdict(AnswerOutcome.Equivalent, comparer.Reason);
            return comparer.UndecidedReason is { } undecided
                ? Verdict(AnswerOutcome.Undecided, undecided)
                : Verdict(AnswerOutcome.NotEquivalent, comparer.Reason);
        }
        catch (VerificationLimitException e)
        {
            return Verdict(AnswerOutcome.Undecided, e.Message);
        }
        catch (RegexMatchTimeoutException)
        {
            return Verdict(AnswerOutcome.Undecided, $"time budget of {_timeBudget.TotalMilliseconds:0} ms exceeded");
        }
    }
}
