using System.Globalization;

namespace StepWiser.ML.Worlds;

/// <summary>One operation of an arithmetic-chain problem.</summary>
/// <param name="Operator">
/// '+', '-', '*' (multiply by a unit), '/' (divide by a unit: the digit x with x·Operand ≡ a) or '=' (set the digit at
/// <paramref name="Position"/> to <paramref name="Operand"/>, erasing what it held).
/// </param>
/// <param name="Operand">
/// The number applied to the running value. With <paramref name="Digits"/> &gt; 1 an added or subtracted operand is a
/// row of digits (written with leading zeros, digit i acts on digit i of the value), a multiplier or divisor is one
/// number that acts on every digit, and a set digit is one digit.
/// </param>
/// <param name="Digits">
/// How many digits the running value has (default 1: one number modulo the modulus). With more, every digit is its own
/// counter modulo the modulus (at most 10) and the operation acts digit by digit, without carries.
/// </param>
/// <param name="Position">For '=': which digit is set, 0 for the first (leftmost). Ignored by the other operators.</param>
public sealed record ChainOperation(char Operator, int Operand, int Digits = 1, int Position = 0)
{
    private static readonly string[] Ordinals = ["first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth", "eleventh", "twelfth"];

    /// <summary>
    /// The operation applied to <paramref name="value"/> modulo <paramref name="modulus"/>: one number in [0, modulus)
    /// when <see cref="Digits"/> is 1, else digit by digit (the value's decimal digits, each below the modulus).
    /// </summary>
    public long Apply(long value, int modulus)
    {
        if (Digits == 1) return Operator == '=' ? Operand % modulus : Step(value, Operand, modulus);
        EnsureWritable(Digits, modulus);
        long result = 0, scale = 1, left = value, right = Operand;
        for (var i = 0; i < Digits; i++, scale *= 10, left /= 10, right /= 10)
        {
            // i counts digits from the right; Position counts them from the left.
            var digit = Operator switch
            {
                '=' => Digits - 1 - i == Position ? Operand : left % 10,
                '*' or '/' => Step(left % 10, Operand, modulus),
                _ => Step(left % 10, right % 10, modulus),
            };
            result += scale * digit;
        }
        return result;
    }

    /// <summary>True for the operators whose operations commute with each other digit by digit: '+' with '-', '*' with '/'.</summary>
    public bool CommutesWith(ChainOperation other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return Group(Operator) != 0 && Group(Operator) == Group(other.Operator);
    }

    private static int Group(char op) => op switch { '+' or '-' => 1, '*' or '/' => 2, _ => 0 };

    private long Step(long a, long b, int modulus)
    {
        var raw = Operator switch
        {
            '+' => a + b,
            '-' => a - b,
            '*' => a * b,
            '/' => a * Inverse(b, modulus),
            _ => throw new InvalidOperationException($"unknown operator '{Operator}'"),
        };
        return ((raw % modulus) + modulus) % modulus;
    }

    /// <summary>The inverse of <paramref name="unit"/> modulo <paramref name="modulus"/> (an error when it has none).</summary>
    public static long Inverse(long unit, int modulus)
    {
        for (long x = 1; x < modulus; x++)
            if (unit * x % modulus == 1) return x;
        throw new InvalidOperationException($"{unit} has no inverse modulo {modulus}");
    }

    /// <summary>The operand as the problem writes it: a digit row with leading zeros for + and −, a plain number for ×, ÷ and a set digit.</summary>
    public string OperandText => Operator is '*' or '/' or '=' ? Operand.ToString(CultureInfo.InvariantCulture) : Render(Operand, Digits);

    /// <summary>The instruction as the problem states it, e.g. "Add 48.", "Add 0302.", "Multiply by 3.", "Divide by 7." or "Set the first digit to 4.".</summary>
    public string Instruction => Operator switch
    {
        '+' => $"Add {OperandText}.",
        '-' => $"Subtract {OperandText}.",
        '*' => $"Multiply by {OperandText}.",
        '/' => $"Divide by {OperandText}.",
        _ => $"Set the {Ordinals[Position]} digit to {OperandText}.",
    };

    /// <summary>
    /// The equation of this operation from <paramref name="value"/> to <paramref name="result"/> as the world writes
    /// it: "47+35=72", "47*3=21", "84/7=42", or "72->42" for a set digit.
    /// </summary>
    public string Equation(long value, long result) => Operator == '='
        ? Render(value, Digits) + "->" + Render(result, Digits)
        : Render(value, Digits) + Operator + OperandText + "=" + Render(result, Digits);

    /// <summary>True when a value of <paramref name="digits"/> digits can be written modulo <paramref name="modulus"/>: one number, or one decimal digit per counter (modulus at most 10).</summary>
    public static bool IsWritable(int digits, int modulus) => digits == 1 || modulus <= 10;

    /// <summary>Throws unless <see cref="IsWritable"/>; the message names both numbers.</summary>
    internal static void EnsureWritable(int digits, int modulus)
    {
        if (!IsWritable(digits, modulus)) throw new InvalidOperationException($"a {digits}-digit value needs a modulus of at most 10 (one decimal digit per counter), not {modulus}");
    }

    /// <summary>A value as the world writes it: <paramref name="digits"/> digits with leading zeros (a plain number when 1).</summary>
    public static string Render(long value, int digits) =>
        digits <= 1 ? value.ToString(CultureInfo.InvariantCulture) : value.ToString("D" + digits.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
}
