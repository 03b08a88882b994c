using System.Text.RegularExpressions;

namespace StepWiser.ML.AnswerChecking;

/// <summary>
/// Options of <see cref="MathAnswerVerifier"/>. Each setter rejects invalid values with an
/// <see cref="ArgumentOutOfRangeException"/> or <see cref="ArgumentException"/> naming the property; the verifier
/// copies the options when it is created, so later changes do not affect it.
/// </summary>
public sealed class MathAnswerVerifierOptions
{
    private double _relativeTolerance = 1e-4;
    private TimeSpan _timeBudget = TimeSpan.FromSeconds(1);
    private AnswerExtractionModes _extractionModes = AnswerExtractionModes.Default;
    private string? _answerPattern;
    private int _randomPoints = 5;
    private int _maxAnswerLength = 4096;
    private int _maxNestingDepth = 200;

    /// <summary>
    /// Relative tolerance for comparisons in which a decimal literal occurs (a rounded value such as <c>0.3333</c> or
    /// <c>1.414</c>): <c>|a - b| &lt;= tolerance * max(|a|, |b|)</c>. Default 1e-4, as common math graders use; must
    /// be in [0, 0.1]. Answers written without decimals are compared exactly (integers, fractions) or to
    /// floating-point precision, 1e-9 (roots, <c>\pi</c>, expressions at random points).
    /// </summary>
    public double RelativeTolerance
    {
        get => _relativeTolerance;
        set => _relativeTolerance = value is >= 0 and <= 0.1 ? value : throw new ArgumentOutOfRangeException(nameof(RelativeTolerance), value, "must be in [0, 0.1]");
    }

    /// <summary>
    /// Time allowed for one comparison (normalising, parsing and evaluating both answers); past it the verdict is
    /// <see cref="AnswerOutcome.Undecided"/>. Default 1 s; must be positive and at most one minute.
    /// </summary>
    public TimeSpan TimeBudget
    {
        get => _timeBudget;
        set => _timeBudget = value > TimeSpan.Zero && value <= TimeSpan.FromMinutes(1) ? value : throw new ArgumentOutOfRangeException(nameof(TimeBudget), value, "must be in (0, 1 min]");
    }

    /// <summary>Where <see cref="MathAnswerVerifier.ExtractAnswer"/> looks for the final answer. Default: boxed, then GSM8K <c>####</c>.</summary>
    public AnswerExtractionModes ExtractionModes
    {
        get => _extractionModes;
        set => _extractionModes = (value & ~(AnswerExtractionModes.Boxed | AnswerExtractionModes.HashMarker | AnswerExtractionModes.Pattern | AnswerExtractionModes.LastNumber)) == 0
            ? value : throw new ArgumentOutOfRangeException(nameof(ExtractionModes), value, "unknown extraction mode");
    }

    /// <summary>
    /// Regular expression for <see cref="AnswerExtractionModes.Pattern"/> (e.g. <c>Answer:\s*(?&lt;answer&gt;.+)</c>); its
    /// group <c>answer</c>, else its first group, else the whole match of the last match is the answer. It runs with
    /// <see cref="TimeBudget"/> as match timeout. Setting a pattern adds the Pattern mode; null removes both.
    /// </summary>
    public string? AnswerPattern
    {
        get => _answerPattern;
        set
        {
            if (value is not null)
            {
                if (value.Length == 0) throw new ArgumentException("must not be empty", nameof(AnswerPattern));
                try
                {
                    _ = new Regex(value, RegexOptions.CultureInvariant);
                }
                catch (ArgumentException e)
                {
                    throw new ArgumentException($"not a valid regular expression: {e.Message}", nameof(AnswerPattern), e);
                }
            }
            _answerPattern = value;
            _extractionModes = value is null ? _extractionModes & ~AnswerExtractionModes.Pattern : _extractionModes | AnswerExtractionModes.Pattern;
        }
    }

    /// <summary>Random points at which expressions with variables are compared. Default 5; must be in [1, 100].</summary>
    public int RandomPoints
    {
        get => _randomPoints;
        set => _randomPoints = value is >= 1 and <= 100 ? value : throw new ArgumentOutOfRangeException(nameof(RandomPoints), value, "must be in [1, 100]");
    }

    /// <summary>Seed of the random points; the same seed gives the same verdicts on every machine.</summary>
    public int Seed { get; set; } = 2508;

    /// <summary>
    /// Answers longer than this (in characters) are compared only as literal text, never parsed. Default 4,096;
    /// must be at least 1. Raising it is safe: the time budget still bounds every comparison.
    /// </summary>
    public int MaxAnswerLength
    {
        get => _maxAnswerLength;
        set => _maxAnswerLength = value >= 1 ? value : throw new ArgumentOutOfRangeException(nameof(MaxAnswerLength), value, "must be at least 1");
    }

    /// <summary>
    /// Deepest nesting of brackets, fractions, powers and signs the parser follows; deeper answers are
    /// <see cref="AnswerOutcome.Undecided"/>. Default 200; must be in [1, 1000].
    /// </summary>
    public int MaxNestingDepth
    {
        get => _maxNestingDepth;
        set => _maxNestingDepth = value is >= 1 and <= 1000 ? value : throw new ArgumentOutOfRangeException(nameof(MaxNestingDepth), value, "must be in [1, 1000]");
    }
}
