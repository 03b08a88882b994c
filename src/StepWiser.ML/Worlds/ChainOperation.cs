namespace StepWiser.ML.Worlds;

/// <summary>One operation of an arithmetic-chain problem.</summary>
/// <param name="Operator">'+', '-' or '*'.</param>
/// <param name="Operand">The number applied to the running value.</param>
public sealed record ChainOperation(char Operator, int Operand)
{
    /// <summary>The operation applied to <paramref name="value"/> modulo <paramref name="modulus"/> (result in [0, modulus)).</summary>
    public long Apply(long value, int modulus)
    {
        var raw = Operator switch
        {
            '+' => value + Operand,
            '-' => value - Operand,
            '*' => value * Operand,
            _ => throw new InvalidOperationException($"unknown operator '{Operator}'"),
        };
        return ((raw % modulus) + modulus) % modulus;
    }

    /// <summary>The instruction as the problem states it, e.g. "Add 48." or "Multiply by 3.".</summary>
    public string Instruction => Operator switch
    {
        '+' => $"Add {Operand}.",
        '-' => $"Subtract {Operand}.",
        _ => $"Multiply by {Operand}.",
    };
}
