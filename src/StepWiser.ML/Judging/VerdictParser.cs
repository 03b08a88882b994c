
namespace StepWiser.ML.Judging;

/// <summary>
/// Strict, total verdict parsing: the last <c>\boxed{…}</c> of the response decides; it must hold exactly
/// "Positive" or "Negative" (surrounding spaces allowed). Anything else — no box, another word, an unclosed box — is
/// <see cref="Verdict.Unparseable"/>.
/// </summary>
public static class VerdictParser
{
    /// <summary>The text a judge writes for a verdict.</summary>
    public static string Format(bool positive) => positive ? @"\boxed{Positive}" : @"\boxed{Negative}";

    /// <summary>Parses a judge response.</summary>
    public static Verdict Parse(string response)
    {
        ArgumentNullException.ThrowIfNull(response);
        var last = response.LastIndexOf(@"\boxed{", StringComparison.Ordinal);
        if (last < 0) return Verdict.Unparseable;
        var close = response.IndexOf('}', last);
        if (close < 0) return Verdict.Unparseable;
        return response[(last + 7)..close].Trim() switch
        {
            "Positive" => Verdict.Positive,
            "Negative" => Verdict.Negative,
            _ => Verdict.Unparseable,
        };
    }
}
