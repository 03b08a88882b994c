using System.Globalization;

namespace StepWiser.ML.Worlds;

/// <summary>One operation of an arithmetic-chain problem.</summary>
/// <param name="Operator">'+', '-' or '*'.</param>
/// <param name="Operand">
/// The number applied to the running value. With <paramref name="Digits"/> &gt; 1 an added or subtracted operand is a
/// row of digits (written with leading zeros, digit i acts on digit i of the value) and a multiplier is one number
/// that multiplies every digit.
/// </param>
/// <param name="Digits">
/// How many digits the running value has (default 1: one number modulo the modulus). With more, every digit is its own
/// counter modulo the modulus (at most 10) and the operation acts digit by digit, without carries.
/// </param>
public sealed record ChainOperation(char Operator, int Operand, int Digits = 1)
{
    /// <summary>
    /// The operation applied to <paramref name="value"/> modulo <paramref name="modulus"/>: one number in [0, modulus)
    /// when <see cref="Digits"/> is 1, else digit by digit (the value's decimal digits, each below the modulus).
    /// </summary>
    public long Apply(long value, int modulus)
    {
        if (Digits == 1) return Step(value, Operand, modulus);
        EnsureWritable(Digits, modulus);
        long result = 0, scale = 1, left = value, right = Operand;
        for (var i = 0; i < Digits; i++, scale *= 10, left /= 10, right /= 10)
            result += scale * Step(left % 10, Operator == '*' ? Operand : right % 10, modulus);
        return result;
    }

    private long Step(long a, long b, int modulus)
    {
        var raw = Operator switch
        {
            '+' => a + b,
            '-' => a - b,
            '*' => a * b,
            _ => throw new InvalidOperationException($"unknown operator '{Operator}'"),
        };
        return ((raw % modulus) + modulus) % modulus;
    }

    /// <summary>The operand as the problem writes it: a digit row with leading zeros for + and −, a plain number for ×.</summary>
    public string OperandText => Operator == '*' ? Operand.ToString(CultureInfo.InvariantCulture) : Render(Operand, Digits);

    /// <summary>The instruction as the problem states it, e.g. "Add 48.", "Add 0302." or "Multiply by 3.".</summary>
    public string Instruction => Operator switch
    {
        '+' => $"Add {OperandText}.",
        '-' => $"Subtract {OperandText}.",
        _ => $"Multiply by {OperandText}.",
    };

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
