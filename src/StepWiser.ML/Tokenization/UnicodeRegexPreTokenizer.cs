using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;

namespace StepWiser.ML.Tokenization;

/// <summary>
/// The split pattern of a Hugging Face tokenizer.json applied by code point, as Hugging Face (Rust's
/// <c>fancy-regex</c>/<c>onig</c>) does, rather than by UTF-16 unit, as .NET's <see cref="Regex"/> does: .NET tests
/// <c>\p{L}</c> and <c>\p{N}</c> per unit, so a letter or digit outside the Basic Multilingual Plane (math italic 𝑥,
/// double-struck 𝟙, CJK Extension B) is two surrogates of category Cs, and <c>𝑓(x)</c> split as <c>𝑓(</c>, <c>x</c>,
/// <c>)</c> instead of <c>𝑓</c>, <c>(x</c>, <c>)</c>. The pattern runs on a shadow of the text of the same length in
/// which each surrogate pair is replaced by two units of a BMP character of the pair's category (a letter, a digit, a
/// mark or a symbol), and a split that would fall between the two units of a pair is joined. Added (special) tokens are
/// split out first, as with <see cref="RegexPreTokenizer"/>.
/// </summary>
internal sealed class UnicodeRegexPreTokenizer : PreTokenizer
{
    private readonly Regex _regex;
    private readonly AddedTokenScanner _special;

    /// <summary>Creates the pre-tokenizer from the split pattern and the added tokens matched before it.</summary>
    public UnicodeRegexPreTokenizer(Regex regex, IReadOnlyDictionary<string, int>? specialTokens)
    {
        _regex = regex ?? throw new ArgumentNullException(nameof(regex));
        _special = new AddedTokenScanner(specialTokens?.Keys);
    }

    /// <inheritdoc />
    public override IEnumerable<(int Offset, int Length)> PreTokenize(string text) => text is null ? [] : Split(text);

    /// <inheritdoc />
    public override IEnumerable<(int Offset, int Length)> PreTokenize(ReadOnlySpan<char> text) => Split(text.ToString());

    private List<(int Offset, int Length)> Split(string text)
    {
        var result = new List<(int, int)>();
        var start = 0;
        while (start < text.Length)
        {
            var (at, token) = _special.Next(text, start);
            var end = at < 0 ? text.Length : at;
            if (end > start) SplitPlain(text, start, end, result);
            if (at < 0) break;
            result.Add((at, token!.Length));
            start = at + token.Length;
        }
        return result;
    }

    private void SplitPlain(string text, int start, int end, List<(int, int)> result)
    {
        var segment = text[start..end];
        var shadow = Shadow(segment);
        var first = result.Count;
        for (var m = _regex.Match(shadow); m.Success; m = m.NextMatch())
        {
            if (m.Length == 0) continue;
            var offset = start + m.Index;
            // Join a split that falls inside a surrogate pair (a code point the pattern matched unit by unit, e.g. \p{N}).
            if (result.Count > first && m.Index > 0 && char.IsHighSurrogate(segment[m.Index - 1]) && char.IsLowSurrogate(segment[m.Index]))
            {
                var (o, l) = result[^1];
                if (o + l == offset) { result[^1] = (o, l + m.Length); continue; }
            }
            result.Add((offset, m.Length));
        }
    }

    /// <summary>The text with every surrogate pair replaced by two units of a BMP stand-in of the same category.</summary>
    private static string Shadow(string segment)
    {
        var i = segment.AsSpan().IndexOfAnyInRange('\uD800', '\uDBFF');
        if (i < 0) return segment;
        var chars = segment.ToCharArray();
        for (; i < chars.Length - 1; i++)
        {
            if (!char.IsHighSurrogate(chars[i]) || !char.IsLowSurrogate(chars[i + 1])) continue;
            var standIn = CharUnicodeInfo.GetUnicodeCategory(char.ConvertToUtf32(chars[i], chars[i + 1])) switch
            {
                UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
                    or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter => 'a',   // not s/t/r/v/m/l/d: no contraction can form
                UnicodeCategory.DecimalDigitNumber or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber => '0',
                UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark or UnicodeCategory.EnclosingMark => '\u0301',
                _ => '#',   // symbols, punctuation, private use, unassigned: none of \s, \p{L}, \p{N}
            };
            chars[i] = chars[i + 1] = standIn;
            i++;
        }
        return new string(chars);
    }
}
