using System.Text;
using System.Text.RegularExpressions;

namespace StepWiser.ML.AnswerChecking;

/// <summary>
/// Removes the LaTeX that does not change an answer's meaning: math delimiters (<c>$</c>, <c>\(</c>, <c>\[</c>),
/// <c>\left</c>/<c>\right</c>, spacing (<c>\!</c>, <c>\,</c>, <c>\quad</c>, <c>~</c>), text and font wrappers
/// (<c>\text{}</c>, <c>\mbox{}</c>, <c>\mathrm{}</c>, <c>\boxed{}</c>, ...), degree marks (<c>^\circ</c>), the
/// currency sign <c>\$</c>, thousands separators (<c>1,000</c>, <c>1{,}000</c>, <c>10,\!080</c>), trailing units
/// (<c>\text{ cm}^2</c>, <c>dollars</c>, <c>degrees</c>) and a leading <c>x \in</c>. Every pass is linear in the input
/// and iterative, so untrusted text of any length or nesting is handled in bounded time.
/// </summary>
internal static class LatexNormalizer
{
    /// <summary>Most words a trailing unit has (<c>square units</c>, <c>cubic feet</c>): bounds the stripping loop.</summary>
    private const int MaxUnitWords = 3;

    private const RegexOptions Linear = RegexOptions.NonBacktracking | RegexOptions.CultureInvariant;

    private static readonly HashSet<string> Unwrapped = new(StringComparer.Ordinal)
    {
        "text", "textbf", "textit", "textrm", "textsf", "texttt", "textnormal", "mathrm", "mathbf", "mathit", "mathsf",
        "mathnormal", "mbox", "hbox", "boxed", "fbox", "operatorname", "bm", "boldsymbol",
    };

    private static readonly HashSet<string> Dropped = new(StringComparer.Ordinal)
    {
        "left", "right", "big", "Big", "bigg", "Bigg", "bigl", "bigr", "Bigl", "Bigr", "biggl", "biggr", "displaystyle",
        "textstyle", "quad", "qquad", "circ", "degree", "limits", "nolimits",
    };

    private static readonly HashSet<string> Units = new(StringComparer.OrdinalIgnoreCase)
    {
        "units", "unit", "cm", "mm", "km", "meters", "meter", "metres", "metre", "centimeters", "kilometers", "millimeters",
        "inches", "inch", "feet", "foot", "ft", "yards", "yard", "yd", "miles", "mile", "mph", "kg", "grams", "gram",
        "kilograms", "pounds", "pound", "lbs", "lb", "ounces", "ounce", "oz", "liters", "liter", "litres", "ml", "gallons",
        "gallon", "cups", "seconds", "second", "sec", "minutes", "minute", "min", "hours", "hour", "hrs", "hr", "days",
        "day", "weeks", "week", "months", "month", "years", "year", "degrees", "degree", "dollars", "dollar", "cents",
        "cent", "square", "sq", "cubic",
    };

    private static readonly Regex TextConnector = new(@"\\(?:text|mbox|textrm|mathrm)\{\s*(?:or|and)\s*\}", Linear);
    private static readonly Regex TrailingTextUnit = new(@"\\(?:text|mbox|textrm|mathrm)\{\s+[A-Za-z][A-Za-z ./]*\}(?:\^\{?[23]\}?)?\s*\.?\s*$", Linear);
    private static readonly Regex ElementOf = new(@"^\s*(?:[A-Za-z]|\\[a-z]+)(?:_\{?[A-Za-z0-9]+\}?)?\s*\\in\s*", Linear);
    private static readonly Regex ExplicitThousands = new(@"(?:\{,\}|,\\!\s*)", Linear);

    /// <summary>The normalised answer, trimmed; throws <see cref="VerificationLimitException"/> past the budget.</summary>
    public static string Normalize(string answer, ComparisonBudget budget)
    {
        string s = answer.Replace("\\$", "", StringComparison.Ordinal);
        s = TextConnector.Replace(s, ",");
        s = TrailingTextUnit.Replace(s, "");
        s = ExplicitThousands.Replace(s, "{,}");
        budget.Check();
        s = StripCommands(s, budget).Replace("{,}", "", StringComparison.Ordinal);
        s = RemoveThousandsSeparators(s, budget);
        s = ElementOf.Replace(s, "");
        budget.Check();
        return StripTrailingUnits(s.Trim());
    }

    /// <summary>
    /// One pass over the text: drops delimiters, spacing and sizing commands, unwraps text and font commands (their
    /// closing braces are found with an explicit stack), removes degree marks, spells fraction variants as \frac and
    /// the Unicode signs −, ×, ·, ÷, π, ∞, √ as their LaTeX commands.
    /// </summary>
    private static string StripCommands(string s, ComparisonBudget budget)
    {
        var output = new StringBuilder(s.Length);
        var dropClosing = new Stack<bool>();
        for (int i = 0; i < s.Length; i++)
        {
            budget.Tick();
            char c = s[i];
            if (c == '\\' && i + 1 < s.Length && !char.IsAsciiLetter(s[i + 1]))
            {
                char symbol = s[++i];
                if (symbol == ' ') output.Append(' ');
                else if (symbol == '%') output.Append('%');
                else if (char.IsAsciiDigit(symbol)) output.Append(symbol); // a stray backslash, as in \15 for \$15
                else if (symbol is not ('!' or ',' or ';' or ':' or '(' or ')' or '[' or ']')) output.Append('\\').Append(symbol);
            }
            else if (c == '\\')
            {
                int end = i + 1;
                while (end < s.Length && char.IsAsciiLetter(s[end])) end++;
                string name = s[(i + 1)..end];
                i = end - 1;
                if (Unwrapped.Contains(name))
                {
                    int open = end;
                    while (open < s.Length && char.IsWhiteSpace(s[open])) open++;
                    if (open < s.Length && s[open] == '{')
                    {
                        dropClosing.Push(true);
                        i = open;
                    }
                }
                else if (name is "left" or "right" && end < s.Length && s[end] == '.')
                {
                    i = end;
                }
                else if (!Dropped.Contains(name))
                {
                    output.Append('\\').Append(name is "dfrac" or "tfrac" or "cfrac" ? "frac" : name is "dbinom" or "tbinom" ? "binom" : name);
                    // A space keeps the name apart from letters that a removed command (\text{r}, \,) may bring next to it.
                    if (end < s.Length && s[end] == '\\') output.Append(' ');
                }
            }
            else if (c == '{')
            {
                dropClosing.Push(false);
                output.Append(c);
            }
            else if (c == '}')
            {
                if (dropClosing.Count == 0 || !dropClosing.Pop()) output.Append(c);
            }
            else if (c == '^' && DegreeMarkLength(s, i) is > 0 and int length)
            {
                i += length - 1;
            }
            else if (c is not ('$' or '°'))
            {
                string? spelled = c switch
                {
                    '~' => " ",
                    '\u2212' => "-",
                    '×' => "\\times ",
                    '·' => "\\cdot ",
                    '÷' => "\\div ",
                    'π' => "\\pi ",
                    '∞' => "\\infty ",
                    '√' => "\\sqrt ",
                    _ => null,
                };
                if (spelled is null) output.Append(c);
                else output.Append(spelled);
            }
        }
        return output.ToString();
    }

    /// <summary>The length of <c>^\circ</c> or <c>^{\circ}</c> (with optional spaces) at <paramref name="at"/>, or 0.</summary>
    private static int DegreeMarkLength(string s, int at)
    {
        int i = at + 1;
        while (i < s.Length && s[i] == ' ') i++;
        bool braced = i < s.Length && s[i] == '{';
        if (braced) i++;
        while (i < s.Length && s[i] == ' ') i++;
        if (string.CompareOrdinal(s, i, "\\circ", 0, 5) != 0) return 0;
        i += 5;
        if (i < s.Length && char.IsAsciiLetter(s[i])) return 0;
        while (i < s.Length && s[i] == ' ') i++;
        if (braced)
        {
            if (i >= s.Length || s[i] != '}') return 0;
            i++;
        }
        return i - at;
    }

    /// <summary>
    /// Removes commas that separate thousands (<c>1,000</c>, <c>\$11,111,100.5</c>, <c>x = 10,080</c>) when every comma
    /// outside brackets has that shape: after a run of 1-3 digits (exactly 3 after another separator) and before
    /// exactly three digits. Lists (<c>1,2</c>, <c>3, 500</c>) and tuples (<c>(12,102)</c>) keep their commas.
    /// </summary>
    private static string RemoveThousandsSeparators(string s, ComparisonBudget budget)
    {
        var separators = new List<int>();
        int depth = 0;
        for (int i = 0; i < s.Length; i++)
        {
            budget.Tick();
            char c = s[i];
            if (c is '(' or '[' or '{') depth++;
            else if (c is ')' or ']' or '}') depth--;
            else if (c == ',' && depth == 0)
            {
                if (!IsThousandsSeparator(s, i)) return s;
                separators.Add(i);
            }
        }
        if (separators.Count == 0) return s;
        var output = new StringBuilder(s.Length);
        int from = 0;
        foreach (int at in separators)
        {
            output.Append(s, from, at - from);
            from = at + 1;
        }
        return output.Append(s, from, s.Length - from).ToString();
    }

    private static bool IsThousandsSeparator(string s, int comma)
    {
        int run = 0;
        while (comma - run - 1 >= 0 && char.IsAsciiDigit(s[comma - run - 1])) run++;
        int before = comma - run - 1;
        if (run is < 1 or > 3 || (before >= 0 && s[before] == '.') || (before >= 0 && s[before] == ',' && run != 3)) return false;
        for (int k = 1; k <= 3; k++)
            if (comma + k >= s.Length || !char.IsAsciiDigit(s[comma + k])) return false;
        return comma + 4 >= s.Length || !char.IsAsciiDigit(s[comma + 4]);
    }

    /// <summary>
    /// Strips trailing unit words (<c>15 cm^2</c>, <c>5 square units</c>, <c>3 dollars</c>) and a trailing period.
    /// A unit is removed only after a number, a closing bracket or a space, so variables are never taken for units.
    /// </summary>
    private static string StripTrailingUnits(string s)
    {
        for (int stripped = 0; stripped < MaxUnitWords; stripped++)
        {
            s = s.TrimEnd().TrimEnd('.').TrimEnd();
            int end = s.Length;
            if (end >= 2 && s[end - 2] == '^' && s[end - 1] is '2' or '3') end -= 2;
            else if (end >= 4 && s[end - 4] == '^' && s[end - 3] == '{' && s[end - 2] is '2' or '3' && s[end - 1] == '}') end -= 4;
            int start = end;
            while (start > 0 && char.IsAsciiLetter(s[start - 1])) start--;
            if (start == end || start == 0) return s;
            char before = s[start - 1];
            if (!(char.IsAsciiDigit(before) || char.IsWhiteSpace(before) || before is '}' or ')') || s[..start].Trim().Length == 0) return s;
            string word = s[start..end];
            if (string.Equals(word, "percent", StringComparison.OrdinalIgnoreCase)) return s[..start].TrimEnd() + "%";
            if (!Units.Contains(word)) return s;
            s = s[..start];
        }
        return s.TrimEnd();
    }
}
