using System.Text.RegularExpressions;

namespace StepWiser.ML.AnswerChecking;

/// <summary>
/// Finds the final answer stated in a model response or a worked solution. Every method runs in time linear in the
/// text (no recursion, no backtracking regular expressions), so it is safe on untrusted, very long or deeply
/// nested input.
/// </summary>
public static class AnswerExtractor
{
    private const string BoxedCommand = "\\boxed";
    private const string FboxCommand = "\\fbox";
    private const string HashMarker = "####";

    private static readonly Regex NumberRegex = new(@"-?(?:\d+(?:,\d{3})*(?:\.\d+)?|\.\d+)", RegexOptions.NonBacktracking | RegexOptions.CultureInvariant);

    /// <summary>
    /// Tries the given modes in the order pattern, boxed, hash marker, last number and returns the first answer
    /// found, trimmed; <see langword="null"/> when no mode finds one.
    /// </summary>
    /// <param name="text">A model response or a worked solution.</param>
    /// <param name="modes">Where to look.</param>
    /// <param name="pattern">The expression for <see cref="AnswerExtractionModes.Pattern"/>; required by that mode.</param>
    /// <exception cref="ArgumentException">The pattern mode is requested without a pattern.</exception>
    /// <exception cref="RegexMatchTimeoutException">The pattern ran past its own match timeout.</exception>
    public static string? Extract(string text, AnswerExtractionModes modes = AnswerExtractionModes.Default, Regex? pattern = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (modes.HasFlag(AnswerExtractionModes.Pattern))
        {
            if (pattern is null) throw new ArgumentException("the Pattern mode needs a pattern", nameof(pattern));
            if (ExtractByPattern(text, pattern) is { } fromPattern) return fromPattern;
        }
        if (modes.HasFlag(AnswerExtractionModes.Boxed) && ExtractBoxed(text) is { } boxed) return boxed;
        if (modes.HasFlag(AnswerExtractionModes.HashMarker) && ExtractAfterHashMarker(text) is { } marked) return marked;
        if (modes.HasFlag(AnswerExtractionModes.LastNumber) && ExtractLastNumber(text) is { } number) return number;
        return null;
    }

    /// <summary>
    /// The content of the last outermost <c>\boxed{...}</c> or <c>\fbox{...}</c>, with balanced braces (escaped
    /// <c>\{</c> and <c>\}</c> do not count), or the token after <c>\boxed</c> in the brace-less form <c>\boxed 5</c>.
    /// Returns <see langword="null"/> when there is no box, when the box is empty, or when the last box is never
    /// closed (a truncated response has not stated its answer).
    /// </summary>
    public static string? ExtractBoxed(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        string? last = null;
        int nextBoxed = -2, nextFbox = -2, position = 0;
        while (position < text.Length)
        {
            if (nextBoxed != -1 && nextBoxed < position) nextBoxed = text.IndexOf(BoxedCommand, position, StringComparison.Ordinal);
            if (nextFbox != -1 && nextFbox < position) nextFbox = text.IndexOf(FboxCommand, position, StringComparison.Ordinal);
            if (nextBoxed < 0 && nextFbox < 0) break;
            bool isBoxed = nextBoxed >= 0 && (nextFbox < 0 || nextBoxed < nextFbox);
            int after = isBoxed ? nextBoxed + BoxedCommand.Length : nextFbox + FboxCommand.Length;
            position = after;
            if (after < text.Length && char.IsAsciiLetter(text[after])) continue; // a longer command such as \boxedsymbol
            int open = after;
            while (open < text.Length && char.IsWhiteSpace(text[open])) open++;
            if (open < text.Length && text[open] == '{')
            {
                int close = MatchingBrace(text, open);
                if (close < 0) return null;
                string content = text[(open + 1)..close].Trim();
                last = content.Length > 0 ? content : null;
                position = close + 1;
            }
            else if (isBoxed && open > after)
            {
                int end = open;
                while (end < text.Length && !char.IsWhiteSpace(text[end]) && text[end] != '$') end++;
                if (end > open) last = text[open..end];
                position = end;
            }
        }
        return last;
    }

    /// <summary>
    /// GSM8K style: the rest of the line after the last <c>####</c>, trimmed; <see langword="null"/> when there is no
    /// marker or nothing follows it.
    /// </summary>
    public static string? ExtractAfterHashMarker(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        int at = text.LastIndexOf(HashMarker, StringComparison.Ordinal);
        if (at < 0) return null;
        int start = at + HashMarker.Length;
        int end = text.IndexOfAny(['\n', '\r'], start);
        string answer = (end < 0 ? text[start..] : text[start..end]).Trim();
        return answer.Length > 0 ? answer : null;
    }

    /// <summary>
    /// The last number in the text, with its sign, thousands separators and decimals (<c>-1,234.5</c>, <c>.25</c>);
    /// <see langword="null"/> when the text has no digit.
    /// </summary>
    public static string? ExtractLastNumber(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        Match? last = null;
        for (var match = NumberRegex.Match(text); match.Success; match = match.NextMatch()) last = match;
        return last?.Value;
    }

    /// <summary>
    /// The last match of <paramref name="pattern"/>: its group named <c>answer</c> when the pattern has one, else its
    /// first group when it has groups, else the whole match; trimmed, and <see langword="null"/> when empty.
    /// Give the pattern a match timeout when it comes from an untrusted source.
    /// </summary>
    public static string? ExtractByPattern(string text, Regex pattern)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(pattern);
        int group = pattern.GroupNumberFromName("answer");
        if (group < 0) group = pattern.GetGroupNumbers().Length > 1 ? 1 : 0;
        Match? last = null;
        for (var match = pattern.Match(text); match.Success; match = match.NextMatch())
            if (match.Groups[group].Success) last = match;
        string? answer = last?.Groups[group].Value.Trim();
        return string.IsNullOrEmpty(answer) ? null : answer;
    }

    /// <summary>The index of the brace closing the one at <paramref name="open"/>, or -1; escaped characters are skipped.</summary>
    internal static int MatchingBrace(string text, int open)
    {
        int depth = 0;
        for (int i = open; i < text.Length; i++)
        {
            char c = text[i];
            if (c == '\\') i++;
            else if (c == '{') depth++;
            else if (c == '}' && --depth == 0) return i;
        }
        return -1;
    }
}
