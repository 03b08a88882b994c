using System.Numerics;

namespace StepWiser.ML.AnswerChecking;

/// <summary>
/// A parsed answer expression compiled to postfix instructions, so that evaluation is a loop over an explicit stack
/// (no recursion, whatever the shape of the input). Evaluates numerically over the complex numbers at any assignment
/// of its variables, and exactly over the rationals when it uses only rational operations.
/// </summary>
internal sealed class MathExpression
{
    private const int MaxExactBinomial = 1000;

    private readonly Instruction[] _code;
    private readonly string[] _variables;

    public MathExpression(Instruction[] code, string[] variables, bool hasDecimal)
    {
        _code = code;
        _variables = variables;
        HasDecimal = hasDecimal;
    }

    /// <summary>The variable names, in order of first use.</summary>
    public IReadOnlyList<string> Variables => _variables;

    /// <summary>Whether <c>\infty</c> occurs: only then is an infinite value an answer rather than an overflow.</summary>
    public bool UsesInfinity => Array.Exists(_code, i => i.Operation == MathOperation.Infinity);

    /// <summary>Whether a decimal literal (<c>0.5</c>, <c>1e-3</c>) occurs: then the value may be a rounded one.</summary>
    public bool HasDecimal { get; }

    /// <summary>The value with each variable taken from <paramref name="valueOf"/>; NaN or infinite where undefined.</summary>
    public Complex Evaluate(Func<string, Complex> valueOf, ComparisonBudget budget)
    {
        var values = Array.ConvertAll(_variables, name => valueOf(name));
        var stack = new Complex[_code.Length];
        int top = 0;
        foreach (var instruction in _code)
        {
            budget.Tick();
            var op = instruction.Operation;
            if (op is MathOperation.Number or MathOperation.Variable or MathOperation.Pi or MathOperation.ImaginaryUnit or MathOperation.Infinity)
            {
                stack[top++] = op switch
                {
                    MathOperation.Number => instruction.Value,
                    MathOperation.Variable => values[instruction.Variable],
                    MathOperation.Pi => Math.PI,
                    MathOperation.ImaginaryUnit => Complex.ImaginaryOne,
                    _ => double.PositiveInfinity,
                };
            }
            else if (IsBinary(op))
            {
                var right = stack[--top];
                stack[top - 1] = Binary(op, stack[top - 1], right);
            }
            else
            {
                stack[top - 1] = Unary(op, stack[top - 1]);
            }
        }
        return stack[0];
    }

    /// <summary>The exact rational value, or null when the expression is not rational arithmetic on literals.</summary>
    public Rational? EvaluateExact(ComparisonBudget budget)
    {
        var stack = new Rational[_code.Length];
        int top = 0;
        foreach (var instruction in _code)
        {
            budget.Tick();
            Rational? result;
            switch (instruction.Operation)
            {
                case MathOperation.Number:
                    result = instruction.Exact;
                    break;
                case MathOperation.Negate:
                    result = stack[--top].Negate();
                    break;
                case MathOperation.Factorial:
                    result = Rational.Factorial(stack[--top]);
                    break;
                case MathOperation.Add or MathOperation.Subtract or MathOperation.Multiply or MathOperation.Divide or MathOperation.Power or MathOperation.Binomial:
                    var right = stack[--top];
                    var left = stack[--top];
                    result = instruction.Operation switch
                    {
                        MathOperation.Add => Rational.Add(left, right),
                        MathOperation.Subtract => Rational.Subtract(left, right),
                        MathOperation.Multiply => Rational.Multiply(left, right),
                        MathOperation.Divide => Rational.Divide(left, right),
                        MathOperation.Power => Rational.Power(left, right),
                        _ => ExactBinomial(left, right),
                    };
                    break;
                default:
                    return null;
            }
            if (result is not { } value) return null;
            stack[top++] = value;
        }
        return stack[0];
    }

    private static bool IsBinary(MathOperation op) => op is MathOperation.Add or MathOperation.Subtract or MathOperation.Multiply
        or MathOperation.Divide or MathOperation.Power or MathOperation.Binomial or MathOperation.Root or MathOperation.LogBase;

    private static Complex Binary(MathOperation op, Complex a, Complex b) => op switch
    {
        MathOperation.Add => a + b,
        MathOperation.Subtract => a - b,
        MathOperation.Multiply => a * b,
        MathOperation.Divide => b == Complex.Zero ? double.NaN : a / b,
        MathOperation.Power => Power(a, b),
        MathOperation.Binomial => Binomial(a, b),
        MathOperation.Root => Root(b, a), // \sqrt[n]{x}: the index comes first
        _ => Complex.Log(b) / Complex.Log(a), // \log_b x: the base comes first
    };

    private static Complex Unary(MathOperation op, Complex a) =>
        a.Imaginary == 0 && RealFunction(op, a.Real) is { } real ? real : ComplexFunction(op, a);

    /// <summary>Functions of real arguments in their real domain, through <see cref="Math"/>, which is more accurate than <see cref="Complex"/>.</summary>
    private static double? RealFunction(MathOperation op, double x) => op switch
    {
        MathOperation.Sqrt when x >= 0 => Math.Sqrt(x),
        MathOperation.Sin => Math.Sin(x),
        MathOperation.Cos => Math.Cos(x),
        MathOperation.Tan => Math.Tan(x),
        MathOperation.Cot => 1 / Math.Tan(x),
        MathOperation.Sec => 1 / Math.Cos(x),
        MathOperation.Csc => 1 / Math.Sin(x),
        MathOperation.Arcsin when Math.Abs(x) <= 1 => Math.Asin(x),
        MathOperation.Arccos when Math.Abs(x) <= 1 => Math.Acos(x),
        MathOperation.Arctan => Math.Atan(x),
        MathOperation.Sinh => Math.Sinh(x),
        MathOperation.Cosh => Math.Cosh(x),
        MathOperation.Tanh => Math.Tanh(x),
        MathOperation.Ln when x > 0 => Math.Log(x),
        MathOperation.Exp => Math.Exp(x),
        _ => null,
    };

    private static Complex ComplexFunction(MathOperation op, Complex a) => op switch
    {
        MathOperation.Negate => -a,
        MathOperation.Factorial => Factorial(a),
        MathOperation.Sqrt => Complex.Sqrt(a),
        MathOperation.Sin => Complex.Sin(a),
        MathOperation.Cos => Complex.Cos(a),
        MathOperation.Tan => Complex.Tan(a),
        MathOperation.Cot => 1 / Complex.Tan(a),
        MathOperation.Sec => 1 / Complex.Cos(a),
        MathOperation.Csc => 1 / Complex.Sin(a),
        MathOperation.Arcsin => Complex.Asin(a),
        MathOperation.Arccos => Complex.Acos(a),
        MathOperation.Arctan => Complex.Atan(a),
        MathOperation.Sinh => Complex.Sinh(a),
        MathOperation.Cosh => Complex.Cosh(a),
        MathOperation.Tanh => Complex.Tanh(a),
        MathOperation.Ln => Complex.Log(a),
        _ => Complex.Exp(a),
    };

    private static bool IsSmallInteger(Complex z, double limit) =>
        z.Imaginary == 0 && Math.Abs(z.Real) <= limit && z.Real == Math.Round(z.Real);

    private static Complex Power(Complex a, Complex b)
    {
        if (IsSmallInteger(b, 64))
        {
            int n = (int)Math.Abs(b.Real);
            Complex result = Complex.One;
            for (int k = 0; k < n; k++) result *= a;
            return b.Real >= 0 ? result : (result == Complex.Zero ? double.NaN : 1 / result);
        }
        if (a.Imaginary == 0 && b.Imaginary == 0 && a.Real >= 0) return Math.Pow(a.Real, b.Real);
        return a == Complex.Zero ? double.NaN : Complex.Pow(a, b);
    }

    private static Complex Root(Complex value, Complex index)
    {
        if (IsSmallInteger(index, 1e6) && Math.Abs(index.Real) % 2 == 1 && value.Imaginary == 0 && value.Real < 0)
            return -Math.Pow(-value.Real, 1 / index.Real);
        return Power(value, 1 / index);
    }

    private static Complex Factorial(Complex a)
    {
        if (!IsSmallInteger(a, 170) || a.Real < 0) return double.NaN;
        double product = 1;
        for (int k = 2; k <= (int)a.Real; k++) product *= k;
        return product;
    }

    private static Complex Binomial(Complex n, Complex k)
    {
        if (!IsSmallInteger(n, 1e6) || !IsSmallInteger(k, 1e6) || n.Real < 0 || k.Real < 0) return double.NaN;
        if (k.Real > n.Real) return 0;
        double result = 1, kk = Math.Min(k.Real, n.Real - k.Real);
        for (int j = 1; j <= kk; j++) result = result * (n.Real - kk + j) / j;
        return result;
    }

    private static Rational? ExactBinomial(Rational n, Rational k)
    {
        if (!n.IsInteger || !k.IsInteger || n.Numerator.Sign < 0 || k.Numerator.Sign < 0 || n.Numerator > MaxExactBinomial) return null;
        if (k.Numerator > n.Numerator) return Rational.Zero;
        int top = (int)n.Numerator, choose = Math.Min((int)k.Numerator, top - (int)k.Numerator);
        var result = BigInteger.One;
        for (int j = 1; j <= choose; j++) result = result * (top - choose + j) / j;
        return Rational.Create(result, BigInteger.One);
    }

    /// <summary>One postfix instruction: an operation, and for literals their value (exact where possible) or a variable index.</summary>
    internal readonly record struct Instruction(MathOperation Operation, Complex Value = default, Rational? Exact = null, int Variable = -1);
}
