using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;

namespace StepWiser.ML.AnswerChecking;

/// <summary>
/// A normalised answer split into its structure: tuples and intervals (with their bracket kinds), sets and lists,
/// unions, <c>\pm</c> pairs, matrices, equations and choice letters, down to scalar expressions. Splitting only looks
/// at brackets outside of which a separator stands, in loops over the text; recursion into elements is bounded by
/// the depth limit.
/// </summary>
internal sealed class AnswerNode
{
    private const int MaxPlusMinus = 6;

    private static readonly string[] MatrixEnvironments = ["pmatrix", "bmatrix", "Bmatrix", "matrix", "smallmatrix", "array"];

    private static readonly Regex ChoiceLetter = new(@"^\(\s*([A-Z])\s*\)$", RegexOptions.NonBacktracking | RegexOptions.CultureInvariant);

    private static readonly Regex MixedNumber = new(@"^([-+]?)\s*(\d+)\s*(\\frac\s*(?:\{\s*\d+\s*\}|\d)\s*(?:\{\s*\d+\s*\}|\d))$",
        RegexOptions.NonBacktracking | RegexOptions.CultureInvariant);

    private MathExpression?[]? _expressions;

    private AnswerNode(AnswerKind kind, string text, IReadOnlyList<AnswerNode> items)
    {
        Kind = kind;
        Text = text;
        Items = items;
    }

    /// <summary>The shape of this answer.</summary>
    public AnswerKind Kind { get; }

    /// <summary>The normalised text (for scalars without a percent sign; for choices, the letter).</summary>
    public string Text { get; }

    /// <summary>Elements (tuple, collection), cells row by row (matrix), or the two sides (equation).</summary>
    public IReadOnlyList<AnswerNode> Items { get; }

    /// <summary>Whether a scalar was written with a percent sign.</summary>
    public bool IsPercent { get; private init; }

    /// <summary>The opening and closing brackets of a tuple or interval.</summary>
    public (char Open, char Close) Brackets { get; private init; }

    /// <summary>The number of columns of a matrix.</summary>
    public int Columns { get; private init; }

    /// <summary>Whether this collection holds the two values of <c>\pm</c>: it is flattened into an enclosing collection.</summary>
    private bool IsPlusMinus { get; init; }

    /// <summary>The parsed forms of a scalar, once parsed: its value, and for percentages also the value divided by 100.</summary>
    public MathExpression?[] Expressions(int maxDepth, ComparisonBudget budget)
    {
        if (_expressions is not null) return _expressions;
        var plain = MathExpressionParser.TryParse(Text, maxDepth, budget);
        _expressions = IsPercent ? [plain, MathExpressionParser.TryParse("(" + Text + ")/100", maxDepth, budget)] : [plain];
        return _expressions;
    }

    private static AnswerNode Scalar(string text) => new(AnswerKind.Scalar, text, []);

    /// <summary>Parses a normalised answer into its structure.</summary>
    public static AnswerNode Parse(string text, int depth, int maxDepth, ComparisonBudget budget)
    {
        budget.Tick();
        if (depth > maxDepth) throw new VerificationLimitException($"nesting deeper than {maxDepth} levels");
        if (!RuntimeHelpers.TryEnsureSufficientExecutionStack()) throw new VerificationLimitException("nesting too deep for the stack");
        string s = text.Trim();
        AnswerNode Child(string part) => Parse(part, depth + 1, maxDepth, budget);

        if (MatrixBody(s) is { } body) return ParseMatrix(body, budget, Child) ?? Scalar(s);

        var union = SplitTopLevel(s, "\\cup", budget);
        if (union.Count > 1) return Collection(s, union.ConvertAll(p => Child(p)));

        if (s is "\\emptyset" or "\\varnothing" or "\\{\\}") return new AnswerNode(AnswerKind.Collection, s, []);
        if (s.StartsWith("\\{", StringComparison.Ordinal) && s.EndsWith("\\}", StringComparison.Ordinal) && ClosesAtEnd(s, budget))
            return Collection(s, SplitTopLevel(s[2..^2], ",", budget).ConvertAll(p => Child(p)));

        if (s.Length >= 2 && s[0] is '(' or '[' && s[^1] is ')' or ']' && ClosesAtEnd(s, budget))
        {
            var elements = SplitTopLevel(s[1..^1], ",", budget);
            if (elements.Count > 1)
                return new AnswerNode(AnswerKind.Tuple, s, elements.ConvertAll(p => Child(p))) { Brackets = (s[0], s[^1]) };
            if (ChoiceLetter.Match(s) is { Success: true } choice)
                return new AnswerNode(AnswerKind.Choice, choice.Groups[1].Value, []);
        }

        var list = SplitTopLevel(s, ",", budget);
        if (list.Count > 1) return Collection(s, list.ConvertAll(p => Child(p)));

        var sides = SplitTopLevel(s, "=", budget);
        if (sides.Count > 1) return new AnswerNode(AnswerKind.Equation, s, [Scalar(sides[0].Trim()), Child(sides[^1])]);

        if (CountOrdinal(s, "\\pm") + CountOrdinal(s, "\\mp") > MaxPlusMinus)
            throw new VerificationLimitException($"more than {MaxPlusMinus} \\pm signs");
        foreach (string sign in new[] { "\\pm", "\\mp" })
        {
            var halves = SplitTopLevel(s, sign, budget, limit: 2);
            if (halves.Count == 2)
                return Collection(s, [Child(halves[0] + "+" + halves[1]), Child(halves[0] + "-" + halves[1])], plusMinus: true);
        }

        if (s.EndsWith('%')) return new AnswerNode(AnswerKind.Scalar, s[..^1].Trim(), []) { IsPercent = true };
        if (MixedNumber.Match(s) is { Success: true } mixed) // 1\frac{4}{5} is one and four fifths, not 4/5
            return Scalar($"{mixed.Groups[1].Value}({mixed.Groups[2].Value}+{mixed.Groups[3].Value})");
        return Scalar(s);
    }

    private static AnswerNode Collection(string text, List<AnswerNode> items, bool plusMinus = false) =>
        new(AnswerKind.Collection, text, items.SelectMany(item => item.IsPlusMinus ? item.Items : [item]).ToList()) { IsPlusMinus = plusMinus };

    /// <summary>The body of a whole-answer matrix environment (after an array's column spec), or null.</summary>
    private static string? MatrixBody(string s)
    {
        if (!s.StartsWith("\\begin{", StringComparison.Ordinal)) return null;
        int close = s.IndexOf('}', 7);
        string environment = close < 0 ? "" : s[7..close];
        string end = "\\end{" + environment + "}";
        if (!MatrixEnvironments.Contains(environment) || !s.EndsWith(end, StringComparison.Ordinal) || close + 1 > s.Length - end.Length) return null;
        string body = s[(close + 1)..^end.Length];
        if (environment == "array" && body.StartsWith('{') && AnswerExtractor.MatchingBrace(body, 0) is > 0 and int spec) body = body[(spec + 1)..];
        return body;
    }

    private static int CountOrdinal(string s, string token)
    {
        int count = 0;
        for (int at = s.IndexOf(token, StringComparison.Ordinal); at >= 0; at = s.IndexOf(token, at + token.Length, StringComparison.Ordinal)) count++;
        return count;
    }

    private static AnswerNode? ParseMatrix(string body, ComparisonBudget budget, Func<string, AnswerNode> child)
    {
        var rows = SplitTopLevel(body, "\\\\", budget).Select(r => r.Trim()).Where(r => r.Length > 0).ToList();
        var cells = rows.ConvertAll(r => SplitTopLevel(r, "&", budget));
        if (cells.Count == 0 || cells.Any(r => r.Count != cells[0].Count)) return null;
        return new AnswerNode(AnswerKind.Matrix, body, cells.SelectMany(r => r).Select(child).ToList()) { Columns = cells[0].Count };
    }

    /// <summary>Whether the bracket opening the text closes only at its last character (any of ( [ { counts as one kind).</summary>
    private static bool ClosesAtEnd(string s, ComparisonBudget budget)
    {
        int depth = 0;
        for (int i = 0; i < s.Length; i++)
        {
            budget.Tick();
            if (s[i] is '(' or '[' or '{') depth++;
            else if (s[i] is ')' or ']' or '}' && --depth == 0) return i == s.Length - 1;
        }
        return false;
    }

    /// <summary>
    /// Splits at occurrences of <paramref name="separator"/> outside brackets. A separator that is a command (starts
    /// with a backslash) must not continue with a letter (<c>\cup</c> is not <c>\cupcake</c>).
    /// </summary>
    private static List<string> SplitTopLevel(string s, string separator, ComparisonBudget budget, int limit = int.MaxValue)
    {
        var parts = new List<string>();
        int depth = 0, start = 0;
        for (int i = 0; i < s.Length; i++)
        {
            budget.Tick();
            char c = s[i];
            if (c == '\\' && i + 1 < s.Length && s[i + 1] is '{' or '}')
            {
                depth += s[i + 1] == '{' ? 1 : -1;
                i++;
            }
            else if (c is '(' or '[' or '{') depth++;
            else if (c is ')' or ']' or '}') depth--;
            else if (depth == 0 && parts.Count < limit - 1 && string.CompareOrdinal(s, i, separator, 0, separator.Length) == 0
                && !(separator[0] == '\\' && i + separator.Length < s.Length && char.IsAsciiLetter(s[i + separator.Length]))
                && !(separator == "=" && i > 0 && s[i - 1] is '<' or '>' or '!'))
            {
                parts.Add(s[start..i]);
                i += separator.Length - 1;
                start = i + 1;
            }
        }
        parts.Add(s[start..]);
        return parts;
    }
}
