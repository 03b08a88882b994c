namespace StepWiser.ML.Worlds;

/// <summary>
/// Options of <see cref="ArithmeticChainWorld"/>. <see cref="Difficulty"/> is the one knob that matters: it moves the
/// number of operations, the number of digits of the running value (so the facts per step) and the share of
/// multiplications together, so a small policy's accuracy falls continuously as it rises.
/// </summary>
public sealed class ArithmeticChainOptions
{
    private double _difficulty = 0.5;
    private double _explanationRate = 1.0;
    private int? _modulusOverride;
    private int? _digitsOverride;

    /// <summary>Difficulty in [0, 1] (default 0.5).</summary>
    public double Difficulty
    {
        get => _difficulty;
        set => _difficulty = value is >= 0 and <= 1 ? value : throw new ArgumentOutOfRangeException(nameof(Difficulty), value, "must be in [0, 1]");
    }

    /// <summary>
    /// Share of steps whose chunk starts with the instruction it carries out ("Add 46.") on its own line before the
    /// equation (default 1). Raw traces split at blank lines then have about 1.8 fragments per logical chunk (the paper's
    /// self-segmentation went from 9.6 to 6.0 steps, 1.6). The line repeats the problem's wording exactly, which is what
    /// lets a small model find the next instruction quickly (the previous chunk's line is in the problem, followed by it).
    /// </summary>
    public double ExplanationRate
    {
        get => _explanationRate;
        set => _explanationRate = value is >= 0 and <= 1 ? value : throw new ArgumentOutOfRangeException(nameof(ExplanationRate), value, "must be in [0, 1]");
    }

    /// <summary>Fewest operations at this difficulty: 2 at 0, 4 at 1.</summary>
    public int MinOperations => 2 + (int)Math.Round(2 * Difficulty, MidpointRounding.AwayFromZero);

    /// <summary>Most operations at this difficulty: 3 at 0, 7 at 1 (so 3–8 chunks with the answer chunk).</summary>
    public int MaxOperations => 3 + (int)Math.Round(4 * Difficulty, MidpointRounding.AwayFromZero);

    /// <summary>
    /// Digits of the running value: 1 below difficulty 1/3, 2 from 1/3, 3 from 2/3, 4 at 1 (<see cref="DigitsOverride"/> fixes it). Every
    /// digit is its own counter modulo <see cref="Modulus"/> and each operation acts digit by digit without carries, so
    /// one step is as many facts of the same small tables as there are digits: harder problems need more facts per step
    /// and more steps, never new facts, and one policy trained across the range meets the same tables everywhere. The
    /// final answer has modulus^digits possible values, so a rollout that went wrong almost never ends on the right
    /// answer by chance — Monte-Carlo values then see a first error the way the exact checker does.
    /// </summary>
    public int Digits => _digitsOverride ?? 1 + (int)Math.Floor(3 * Difficulty + 1e-9);

    /// <summary>A fixed number of digits instead of the difficulty's (null, the default, follows <see cref="Difficulty"/>).</summary>
    public int? DigitsOverride
    {
        get => _digitsOverride;
        set => _digitsOverride = value is null or (>= 1 and <= 12) ? value : throw new ArgumentOutOfRangeException(nameof(DigitsOverride), value, "must be in [1, 12]");
    }

    /// <summary>
    /// The modulus of every counter: 10 (decimal digits) unless <see cref="ModulusOverride"/> sets another. Only
    /// multipliers prime to it are used, so every operation is invertible: a wrong running value never turns right
    /// again unless a later step is wrong too.
    /// </summary>
    public int Modulus => _modulusOverride ?? 10;

    /// <summary>
    /// A fixed modulus instead of 10 (null, the default). Above 10 it needs <see cref="Digits"/> = 1 (one number, not a
    /// row of decimal digits); generating such problems with more digits is an error.
    /// </summary>
    public int? ModulusOverride
    {
        get => _modulusOverride;
        set => _modulusOverride = value is null or >= 2 ? value : throw new ArgumentOutOfRangeException(nameof(ModulusOverride), value, "must be at least 2");
    }

    /// <summary>
    /// Enough new tokens of the built-in tokenizer for a complete solution at these options, with room for a few
    /// mistakes (tags, instruction lines and equations of <see cref="MaxOperations"/> steps, then the answer chunk):
    /// 118 at difficulty 0, 186 at 0.5, 298 at 1. Use it as the sampling limit of the policy.
    /// </summary>
    public int SolutionTokenBudget => MaxOperations * (20 + 4 * Digits) + 46;

    /// <summary>Probability that an operation is a multiplication (the others split evenly between + and −): 0.2 at 0, 0.4 at 1.</summary>
    public double MultiplyRate => 0.2 + 0.2 * Difficulty;
}
