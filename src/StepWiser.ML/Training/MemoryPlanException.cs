namespace StepWiser.ML.Training;

/// <summary>
/// A training run whose <see cref="MemoryPlan"/> does not fit the memory it was given, refused before anything was
/// allocated. The message is one line naming the predicted peak, the limit, the largest part and the micro-batch that
/// would fit.
/// </summary>
public sealed class MemoryPlanException : InvalidOperationException
{
    /// <summary>Creates the exception for <paramref name="plan"/> over <paramref name="limitBytes"/>.</summary>
    /// <param name="plan">The plan that does not fit.</param>
    /// <param name="limitBytes">The memory it was given.</param>
    /// <param name="fittingBatch">The largest micro-batch that fits, 0 when none does.</param>
    public MemoryPlanException(MemoryPlan plan, long limitBytes, int fittingBatch)
        : base(plan.Refusal(limitBytes, fittingBatch))
    {
        Plan = plan;
        LimitBytes = limitBytes;
        FittingBatch = fittingBatch;
    }

    /// <summary>The plan that does not fit.</summary>
    public MemoryPlan Plan { get; }

    /// <summary>The memory it was given, in bytes.</summary>
    public long LimitBytes { get; }

    /// <summary>The largest micro-batch that fits (0 when not even one sequence does).</summary>
    public int FittingBatch { get; }
}
