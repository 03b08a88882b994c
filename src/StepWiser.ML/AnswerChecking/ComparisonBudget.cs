using System.Diagnostics;

namespace StepWiser.ML.AnswerChecking;

/// <summary>
/// The time allowed for one comparison. Loops over input call <see cref="Tick"/>; it reads the clock every
/// <see cref="CheckInterval"/> ticks and throws <see cref="VerificationLimitException"/> once the budget is spent.
/// Not thread-safe: one instance per comparison.
/// </summary>
internal sealed class ComparisonBudget
{
    private const int CheckInterval = 256;

    private readonly long _start = Stopwatch.GetTimestamp();
    private readonly TimeSpan _budget;
    private int _ticks;

    public ComparisonBudget(TimeSpan budget) => _budget = budget;

    /// <summary>Counts one unit of work and throws when the budget is spent.</summary>
    public void Tick()
    {
        if (++_ticks % CheckInterval == 0) Check();
    }

    /// <summary>Reads the clock now and throws when the budget is spent.</summary>
    public void Check()
    {
        if (Stopwatch.GetElapsedTime(_start) > _budget)
            throw new VerificationLimitException($"time budget of {_budget.TotalMilliseconds:0} ms exceeded");
    }
}
