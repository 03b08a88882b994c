using System.Numerics;
using System.Text.RegularExpressions;

namespace StepWiser.ML.AnswerChecking;

/// <summary>
/// Compares two parsed answers the way math graders do: structure first (bracket kinds of intervals, order of
/// tuples, no order for sets), then each scalar pair as exact rationals, as numbers within a relative tolerance, or
/// as expressions evaluated at seeded random points. One instance per comparison (it carries the budget and the
/// reason of the last decision).
/// </summary>
internal sealed class AnswerComparer
{
    /// <summary>Absolute slack so that values that should be zero compare equal despite rounding.</summary>
    private const double AbsoluteTolerance = 1e-12;

    /// <summary>Relative tolerance for answers written without decimals: only floating-point error separates them.</summary>
    private const double ExactFormTolerance = 1e-9;

    private static readonly Regex BaseSubscript = new(@"\d_\{?\s*(\d+)\s*\}?", RegexOptions.NonBacktracking | RegexOptions.CultureInvariant);

    private static readonly Regex BareVariable = new(@"^(?:[A-Za-z]|\\[A-Za-z]+)(?:_\{?[A-Za-z0-9]+\}?)?(?:\(\s*[A-Za-z]\s*\))?$",
        RegexOptions.NonBacktracking | RegexOptions.CultureInvariant);

    private readonly double _tolerance;
    private readonly int _points;
    private readonly int _seed;
    private readonly int _maxDepth;
    private readonly ComparisonBudget _budget;

    public AnswerComparer(double tolerance, int points, int seed, int maxDepth, ComparisonBudget budget)
    {
        _tolerance = tolerance;
        _points = points;
        _seed = seed;
        _maxDepth = maxDepth;
        _budget = budget;
    }

    /// <summary>How the last scalar comparison was decided.</summary>
    public string Reason { get; private set; } = "different structure";

    /// <summary>Set when some comparison could not be decided (values overflow or are undefined everywhere).</summary>
    public string? UndecidedReason { get; private set; }

    public bool Equal(AnswerNode a, AnswerNode b)
    {
        _budget.Tick();
        if (a.Kind == AnswerKind.Equation && b.Kind != AnswerKind.Equation && BareVariable.IsMatch(a.Items[0].Text)) return Equal(a.Items[1], b);
        if (b.Kind == AnswerKind.Equation && a.Kind != AnswerKind.Equation && BareVariable.IsMatch(b.Items[0].Text)) return Equal(a, b.Items[1]);
        if (a.Kind == AnswerKind.Collection && b.Kind != AnswerKind.Collection && a.Items.Count == 1) return Equal(a.Items[0], b);
        if (b.Kind == AnswerKind.Collection && a.Kind != AnswerKind.Collection && b.Items.Count == 1) return Equal(a, b.Items[0]);
        if (a.Kind == AnswerKind.Choice && b.Kind == AnswerKind.Scalar) return SameLetter(a.Text, b.Text);
        if (b.Kind == AnswerKind.Choice && a.Kind == AnswerKind.Scalar) return SameLetter(b.Text, a.Text);
        if (a.Kind == AnswerKind.Tuple && b.Kind == AnswerKind.Matrix) return IsVectorOf(b, a);
        if (b.Kind == AnswerKind.Tuple && a.Kind == AnswerKind.Matrix) return IsVectorOf(a, b);
        if (a.Kind != b.Kind)
        {
            Reason = $"a {Describe(a.Kind)} against a {Describe(b.Kind)}";
            return false;
        }
        return a.Kind switch
        {
            AnswerKind.Scalar => ScalarEqual(a, b),
            AnswerKind.Choice => SameLetter(a.Text, b.Text),
            AnswerKind.Tuple => SameBrackets(a, b) && Pairwise(a.Items, b.Items),
            AnswerKind.Matrix => SameShape(a, b) && Pairwise(a.Items, b.Items),
            AnswerKind.Collection => SameElements(a.Items, b.Items),
            _ => EquationEqual(a, b),
        };
    }

    private static string Describe(AnswerKind kind) => kind switch
    {
        AnswerKind.Scalar => "single value",
        AnswerKind.Tuple => "tuple or interval",
        AnswerKind.Collection => "set or list",
        AnswerKind.Matrix => "matrix",
        AnswerKind.Equation => "equation",
        _ => "choice letter",
    };

    private bool SameLetter(string choice, string other)
    {
        Reason = "multiple-choice letters compared";
        return string.Equals(choice, other.Trim(), StringComparison.OrdinalIgnoreCase);
    }

    private bool SameBrackets(AnswerNode a, AnswerNode b)
    {
        if (a.Brackets == b.Brackets) return true;
        Reason = $"brackets {a.Brackets.Open}{a.Brackets.Close} against {b.Brackets.Open}{b.Brackets.Close}";
        return false;
    }

    private bool SameShape(AnswerNode a, AnswerNode b)
    {
        if (a.Columns == b.Columns && a.Items.Count == b.Items.Count) return true;
        Reason = "matrices of different shapes";
        return false;
    }

    private bool SameElements(IReadOnlyList<AnswerNode> a, IReadOnlyList<AnswerNode> b)
    {
        if (a.Count == 0 && b.Count == 0) Reason = "both empty";
        return Covers(a, b) && Covers(b, a);
    }

    private bool IsVectorOf(AnswerNode matrix, AnswerNode tuple)
    {
        bool isVector = matrix.Columns == 1 || matrix.Columns == matrix.Items.Count;
        return isVector && tuple.Brackets == ('(', ')') && Pairwise(matrix.Items, tuple.Items);
    }

    private bool Pairwise(IReadOnlyList<AnswerNode> a, IReadOnlyList<AnswerNode> b)
    {
        if (a.Count != b.Count)
        {
            Reason = $"{a.Count} elements against {b.Count}";
            return false;
        }
        for (int i = 0; i < a.Count; i++)
            if (!Equal(a[i], b[i])) return false;
        return true;
    }

    /// <summary>Every element of <paramref name="a"/> equals some element of <paramref name="b"/> (set semantics).</summary>
    private bool Covers(IReadOnlyList<AnswerNode> a, IReadOnlyList<AnswerNode> b)
    {
        foreach (var x in a)
        {
            if (!b.Any(y => Equal(x, y)))
            {
                Reason = $"element {(x.Text.Length <= 40 ? x.Text : x.Text[..40] + "…")} has no equal in the other answer";
                return false;
            }
        }
        return true;
    }

    private bool ScalarEqual(AnswerNode a, AnswerNode b)
    {
        if (Canonical(a.Text) == Canonical(b.Text))
        {
            Reason = "equal after normalisation";
            return true;
        }
        if (!SameBases(a.Text, b.Text)) return false;
        var left = a.Expressions(_maxDepth, _budget);
        var right = b.Expressions(_maxDepth, _budget);
        if (left[0] is null || right[0] is null)
        {
            Reason = "compared as text";
            return string.Equals(Canonical(a.Text), Canonical(b.Text), StringComparison.OrdinalIgnoreCase);
        }
        if (a.IsPercent && b.IsPercent) return ExpressionsEqual(left[0]!, right[0]!);
        foreach (var x in left)
            foreach (var y in right)
                if (x is not null && y is not null && ExpressionsEqual(x, y)) return true;
        return false;
    }

    /// <summary>Base subscripts (<c>52_8</c>) may be left out on one side, but two explicit bases must agree.</summary>
    private bool SameBases(string a, string b)
    {
        var left = BaseSubscript.Matches(a).Select(m => m.Groups[1].Value).ToArray();
        var right = BaseSubscript.Matches(b).Select(m => m.Groups[1].Value).ToArray();
        if (left.Length == 0 || right.Length == 0 || left.SequenceEqual(right)) return true;
        Reason = "numerals in different bases";
        return false;
    }

    private static string Canonical(string text) => string.Concat(text.Where(c => !char.IsWhiteSpace(c)));

    private bool ExpressionsEqual(MathExpression x, MathExpression y)
    {
        var names = x.Variables.Union(y.Variables).Order(StringComparer.Ordinal).ToArray();
        if (names.Length == 0) return NumbersEqual(x, y);
        var random = new Random(_seed);
        int agreed = 0;
        for (int attempt = 0; attempt < 2 * _points && agreed < _points; attempt++)
        {
            var point = names.ToDictionary(n => n, _ => new Complex(0.5 + 2 * random.NextDouble(), 0), StringComparer.Ordinal);
            var u = x.Evaluate(n => point[n], _budget);
            var v = y.Evaluate(n => point[n], _budget);
            if (!IsFinite(u) || !IsFinite(v)) continue;
            if (!Close(u, v, Tolerance(x, y)))
            {
                Reason = "expressions differ at a random point";
                return false;
            }
            agreed++;
        }
        if (agreed == 0) return Undecided("expressions undefined at every random point");
        Reason = $"expressions agree at {agreed} random points";
        return true;
    }

    private bool NumbersEqual(MathExpression x, MathExpression y)
    {
        if (x.EvaluateExact(_budget) is { } p && y.EvaluateExact(_budget) is { } q)
        {
            Reason = p == q ? "equal as exact rationals" : "different exact rationals";
            if (p == q) return true;
            if (!x.HasDecimal && !y.HasDecimal) return false;
        }
        var u = x.Evaluate(_ => Complex.Zero, _budget);
        var v = y.Evaluate(_ => Complex.Zero, _budget);
        if (IsFinite(u) && IsFinite(v))
        {
            bool close = Close(u, v, Tolerance(x, y));
            Reason = close ? "numbers equal within tolerance" : "numbers differ beyond tolerance";
            return close;
        }
        if (x.UsesInfinity && y.UsesInfinity && double.IsInfinity(u.Real) && double.IsInfinity(v.Real))
        {
            Reason = "infinities compared";
            return Math.Sign(u.Real) == Math.Sign(v.Real);
        }
        if (!IsFinite(u) && !IsFinite(v)) return Undecided("values overflow or are undefined");
        Reason = "one value is not finite";
        return false;
    }

    private bool EquationEqual(AnswerNode a, AnswerNode b)
    {
        if (Equal(a.Items[0], b.Items[0]) && Equal(a.Items[1], b.Items[1])) return true;
        if (Equal(a.Items[0], b.Items[1]) && Equal(a.Items[1], b.Items[0])) return true;
        var f = MathExpressionParser.TryParse($"({a.Items[0].Text})-({a.Items[1].Text})", _maxDepth, _budget);
        var g = MathExpressionParser.TryParse($"({b.Items[0].Text})-({b.Items[1].Text})", _maxDepth, _budget);
        if (f is null || g is null) return false;
        var names = f.Variables.Union(g.Variables).Order(StringComparer.Ordinal).ToArray();
        var random = new Random(_seed);
        Complex? ratio = null;
        for (int attempt = 0; attempt < _points; attempt++)
        {
            var point = names.ToDictionary(n => n, _ => new Complex(0.5 + 2 * random.NextDouble(), 0), StringComparer.Ordinal);
            var u = f.Evaluate(n => point[n], _budget);
            var v = g.Evaluate(n => point[n], _budget);
            if (!IsFinite(u) || !IsFinite(v) || Complex.Abs(v) < AbsoluteTolerance || Complex.Abs(u) < AbsoluteTolerance) continue;
            ratio ??= u / v;
            if (!Close(u / v, ratio.Value, Tolerance(f, g)))
            {
                Reason = "equations are not multiples of each other";
                return false;
            }
        }
        Reason = ratio is null ? "equations could not be compared" : "equations are multiples of each other";
        return ratio is not null;
    }

    /// <summary>The configured tolerance where a decimal literal may carry rounding; floating-point slack otherwise.</summary>
    private double Tolerance(MathExpression x, MathExpression y) => x.HasDecimal || y.HasDecimal ? _tolerance : Math.Min(_tolerance, ExactFormTolerance);

    private static bool Close(Complex u, Complex v, double tolerance) =>
        Complex.Abs(u - v) <= tolerance * Math.Max(Complex.Abs(u), Complex.Abs(v)) + AbsoluteTolerance;

    private static bool IsFinite(Complex z) => double.IsFinite(z.Real) && double.IsFinite(z.Imaginary);

    private bool Undecided(string reason)
    {
        UndecidedReason = reason;
        Reason = reason;
        return false;
    }
}
