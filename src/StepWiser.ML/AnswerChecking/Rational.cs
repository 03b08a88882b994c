using System.Globalization;
using System.Numerics;

namespace StepWiser.ML.AnswerChecking;

/// <summary>
/// An exact fraction of big integers, always reduced with a positive denominator. Used to compare rational answers
/// (integers, fractions, terminating decimals) exactly. Every operation that would exceed <see cref="MaxBits"/>
/// returns <see langword="null"/> so hostile input cannot make the arithmetic slow.
/// </summary>
internal readonly record struct Rational
{
    /// <summary>The largest numerator or denominator size kept exact, in bits.</summary>
    public const int MaxBits = 4096;

    private Rational(BigInteger numerator, BigInteger denominator)
    {
        Numerator = numerator;
        Denominator = denominator;
    }

    public BigInteger Numerator { get; }

    public BigInteger Denominator { get; }

    public static Rational Zero => new(BigInteger.Zero, BigInteger.One);

    public bool IsInteger => Denominator.IsOne;

    /// <summary>The reduced fraction n/d, or null when d is zero or either part is too large.</summary>
    public static Rational? Create(BigInteger numerator, BigInteger denominator)
    {
        if (denominator.IsZero) return null;
        if (denominator.Sign < 0)
        {
            numerator = -numerator;
            denominator = -denominator;
        }
        var gcd = BigInteger.GreatestCommonDivisor(numerator, denominator);
        if (!gcd.IsOne && !gcd.IsZero)
        {
            numerator /= gcd;
            denominator /= gcd;
        }
        if (numerator.GetBitLength() > MaxBits || denominator.GetBitLength() > MaxBits) return null;
        return new Rational(numerator, denominator);
    }

    /// <summary>Parses an unsigned decimal literal such as <c>12</c>, <c>0.125</c>, <c>.5</c> or <c>1.5e-3</c> exactly.</summary>
    public static Rational? ParseDecimal(string literal)
    {
        int exponentAt = literal.IndexOfAny(['e', 'E']);
        string mantissa = exponentAt < 0 ? literal : literal[..exponentAt];
        int exponent = 0;
        if (exponentAt >= 0 && !int.TryParse(literal.AsSpan(exponentAt + 1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out exponent))
            return null;
        int point = mantissa.IndexOf('.');
        string digits = point < 0 ? mantissa : string.Concat(mantissa.AsSpan(0, point), mantissa.AsSpan(point + 1));
        if (point >= 0) exponent -= mantissa.Length - point - 1;
        if (digits.Length == 0 || digits.Length > 1000 || Math.Abs(exponent) > 1000) return null;
        var value = BigInteger.Parse(digits, NumberStyles.None, CultureInfo.InvariantCulture);
        var scale = BigInteger.Pow(10, Math.Abs(exponent));
        return exponent >= 0 ? Create(value * scale, BigInteger.One) : Create(value, scale);
    }

    public static Rational? Add(Rational a, Rational b) =>
        Create(a.Numerator * b.Denominator + b.Numerator * a.Denominator, a.Denominator * b.Denominator);

    public static Rational? Subtract(Rational a, Rational b) =>
        Create(a.Numerator * b.Denominator - b.Numerator * a.Denominator, a.Denominator * b.Denominator);

    public static Rational? Multiply(Rational a, Rational b) =>
        Create(a.Numerator * b.Numerator, a.Denominator * b.Denominator);

    public static Rational? Divide(Rational a, Rational b) =>
        Create(a.Numerator * b.Denominator, a.Denominator * b.Numerator);

    public Rational Negate() => new(-Numerator, Denominator);

    /// <summary>The power for an integer exponent whose result stays within <see cref="MaxBits"/>; otherwise null.</summary>
    public static Rational? Power(Rational value, Rational exponent)
    {
        if (!exponent.IsInteger) return null;
        if (exponent.Numerator.IsZero) return value.Numerator.IsZero ? null : new Rational(BigInteger.One, BigInteger.One);
        if (BigInteger.Abs(exponent.Numerator) > MaxBits) return null;
        int power = (int)exponent.Numerator;
        long bits = Math.Max(value.Numerator.GetBitLength(), value.Denominator.GetBitLength());
        if (bits * Math.Abs((long)power) > MaxBits + 64) return null;
        var numerator = BigInteger.Pow(value.Numerator, Math.Abs(power));
        var denominator = BigInteger.Pow(value.Denominator, Math.Abs(power));
        return power > 0 ? Create(numerator, denominator) : Create(denominator, numerator);
    }

    /// <summary>n! for a small non-negative integer; otherwise null.</summary>
    public static Rational? Factorial(Rational value)
    {
        if (!value.IsInteger || value.Numerator.Sign < 0 || value.Numerator > 400) return null;
        var product = BigInteger.One;
        for (int k = 2; k <= (int)value.Numerator; k++) product *= k;
        return Create(product, BigInteger.One);
    }
}
