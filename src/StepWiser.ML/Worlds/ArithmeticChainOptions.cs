namespace StepWiser.ML.Worlds;

/// <summary>
/// Options of <see cref="ArithmeticChainWorld"/>. <see cref="Difficulty"/> is the one knob that matters: it moves the
/// number of operations, the modulus (so the size of the fact tables) and the share of multiplications together, so a
/// small policy's accuracy falls continuously as it rises.
/// </summary>
public sealed class ArithmeticChainOptions
{
    private double _difficulty = 0.5;
    private double _explanationRate = 0.6;
    private int? _modulusOverride;

    /// <summary>Difficulty in [0, 1] (default 0.5).</summary>
    public double Difficulty
    {
        get => _difficulty;
        set => _difficulty = value is >= 0 and <= 1 ? value : throw new ArgumentOutOfRangeException(nameof(Difficulty), value, "must be in [0, 1]");
    }

    /// <summary>
    /// Share of steps whose chunk starts with a short explanation line before the equation (default 0.6). Raw traces
    /// split at blank lines then have about 1.6 fragments per logical step, like the paper's 9.6 vs 6.0.
    /// </summary>
    public double ExplanationRate
    {
        get => _explanationRate;
        set => _explanationRate = value is >= 0 and <= 1 ? value : throw new ArgumentOutOfRangeException(nameof(ExplanationRate), value, "must be in [0, 1]");
    }

    /// <summary>Fewest operations at this difficulty: 2 at 0, 4 at 1.</summary>
    public int MinOperations => 2 + (int)Math.Round(2 * Difficulty);

    /// <summary>Most operations at this difficulty: 3 at 0, 7 at 1 (so 3–8 chunks with the answer chunk).</summary>
    public int MaxOperations => 3 + (int)Math.Round(4 * Difficulty);

    /// <summary>
    /// The modulus all arithmetic is done in: 5 at 0, 9 at 0.5, 13 at 1. Every number stays below it, so one step is
    /// one fact of a table of modulus² entries per operation: small enough to learn on a CPU in minutes, large enough
    /// that a small model still gets some wrong.
    /// </summary>
    public int Modulus => _modulusOverride ?? 5 + (int)Math.Round(8 * Difficulty);

    /// <summary>
    /// A fixed modulus instead of the difficulty's (null, the default, follows <see cref="Difficulty"/>). A prime modulus
    /// makes every multiplication invertible, so a wrong running value can never turn right again by a later
    /// multiplication; with a composite one (9: multiplying by 3 or 6) an early mistake is sometimes erased, which
    /// Monte-Carlo values see (the answer is still reached) and the exact checker does not.
    /// </summary>
    public int? ModulusOverride
    {
        get => _modulusOverride;
        set => _modulusOverride = value is null or >= 2 ? value : throw new ArgumentOutOfRangeException(nameof(ModulusOverride), value, "must be at least 2");
    }

    /// <summary>Probability that an operation is a multiplication (the others split evenly between + and −).</summary>
    public double MultiplyRate => 0.2 + 0.2 * Difficulty;
}
