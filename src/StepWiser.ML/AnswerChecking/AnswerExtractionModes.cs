namespace StepWiser.ML.AnswerChecking;

/// <summary>
/// Where <see cref="AnswerExtractor"/> looks for the final answer of a response. Modes are tried in the order
/// <see cref="Pattern"/>, <see cref="Boxed"/>, <see cref="HashMarker"/>, <see cref="LastNumber"/>; the first that
/// finds something wins.
/// </summary>
[Flags]
public enum AnswerExtractionModes
{
    /// <summary>No extraction: every response has no answer.</summary>
    None = 0,

    /// <summary>The last outermost <c>\boxed{...}</c> or <c>\fbox{...}</c> (braces balanced), or <c>\boxed 5</c>.</summary>
    Boxed = 1,

    /// <summary>GSM8K style: the rest of the line after the last <c>####</c>.</summary>
    HashMarker = 2,

    /// <summary>The last match of a configured regular expression (<see cref="MathAnswerVerifierOptions.AnswerPattern"/>).</summary>
    Pattern = 4,

    /// <summary>Fallback for free-form responses: the last number in the text (such as <c>-1,234.5</c>).</summary>
    LastNumber = 8,

    /// <summary>The default: <see cref="Boxed"/> then <see cref="HashMarker"/>.</summary>
    Default = Boxed | HashMarker,
}
