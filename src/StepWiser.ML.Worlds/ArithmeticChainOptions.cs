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
    private double _checkRate;
    private double _divideRate;
    private double _overwriteRate;

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

    /// <summary>
    /// The world with several right ways to take a step (neighbouring multiplications and divisions in any order,
    /// <see cref="AnyOrder"/>; division steps with or without a check line, <see cref="CheckRate"/>), divisions that are
    /// checked more cheaply than they are produced (<see cref="DivideRate"/>) and digits that are overwritten, so an
    /// earlier slip can vanish from the answer (<see cref="OverwriteRate"/>): the built-in world of the main job, in which
    /// a judge that compares a step with one reference string is not a judge, right answers through wrong steps occur,
    /// and verifying a step is easier than writing it.
    /// </summary>
    public static ArithmeticChainOptions SeveralPaths(double difficulty = 0.5) => new()
    {
        Difficulty = difficulty, AnyOrder = true, DivideRate = 0.2, CheckRate = 0.5, OverwriteRate = 0.4,
    };

    /// <summary>
    /// When true, operations that commute (additions with subtractions, multiplications with divisions) and stand next
    /// to each other in the problem may be carried out in any order: the exact checker accepts every such order, and
    /// canonical solutions take neighbouring multiplications and divisions in a random order (additions and
    /// subtractions in the problem's: a policy that learns to pick among several operands of one kind mixes their
    /// digits, and digit-wise sums hide most such mix-ups from the answer). Default false: the problem's order.
    /// </summary>
    public bool AnyOrder { get; set; }

    /// <summary>
    /// Probability that an operation is a division ("Divide by 7.": the digit x with 7·x ≡ d; default 0), drawn before
    /// the other kinds (which share the rest as usual). Writing a division needs the inverse table; checking one needs
    /// only the forward product of its result. Divisions and multiplications commute, so with <see cref="AnyOrder"/>
    /// neighbouring ones may be taken in any order.
    /// </summary>
    public double DivideRate
    {
        get => _divideRate;
        set => _divideRate = value is >= 0 and <= 1 ? value : throw new ArgumentOutOfRangeException(nameof(DivideRate), value, "must be in [0, 1]");
    }

    /// <summary>
    /// Probability that a canonical division step checks itself on a last line, multiplying its result back
    /// ("Check: 42*7=84."; default 0): a second right way to write the step. The exact checker accepts a division step
    /// with or without a check line, and a wrong check line makes the step wrong.
    /// </summary>
    public double CheckRate
    {
        get => _checkRate;
        set => _checkRate = value is >= 0 and <= 1 ? value : throw new ArgumentOutOfRangeException(nameof(CheckRate), value, "must be in [0, 1]");
    }

    /// <summary>
    /// Probability that a problem of two or more digits also sets one digit to a given value ("Set the first digit to
    /// 4.") in the second half of its operations (default 0). A slip in that digit before it no longer reaches the
    /// answer: a right answer through a wrong step.
    /// </summary>
    public double OverwriteRate
    {
        get => _overwriteRate;
        set => _overwriteRate = value is >= 0 and <= 1 ? value : throw new ArgumentOutOfRangeException(nameof(OverwriteRate), value, "must be in [0, 1]");
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
    /// 118 at difficulty 0, 186 at 0.5, 298 at 1 (more with check lines and a set digit). Use it as the sampling limit of the policy.
    /// </summary>
    public int SolutionTokenBudget => (MaxOperations + (OverwriteRate > 0 ? 1 : 0)) * (20 + 4 * Digits + (CheckRate > 0 || OverwriteRate > 0 ? 12 : 0)) + 46;

    /// <summary>Probability that an operation is a multiplication (the others split evenly between + and −): 0.2 at 0, 0.4 at 1.</summary>
    public double MultiplyRate => 0.2 + 0.2 * Difficulty;
}
