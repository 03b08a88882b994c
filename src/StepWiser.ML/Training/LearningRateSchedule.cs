namespace StepWiser.ML.Training;

/// <summary>Linear warm-up to the peak rate, then cosine decay to <c>peak × minRatio</c> at the last step.</summary>
internal static class LearningRateSchedule
{
    /// <summary>Learning rate for 0-based update <paramref name="step"/> of <paramref name="totalSteps"/>.</summary>
    public static double At(long step, long totalSteps, double peak, long warmupSteps, double minRatio)
    {
        if (warmupSteps > 0 && step < warmupSteps) return peak * (step + 1) / warmupSteps;
        long decaySteps = Math.Max(1, totalSteps - warmupSteps);
        double progress = Math.Clamp((double)(step - warmupSteps) / decaySteps, 0, 1);
        return peak * (minRatio + (1 - minRatio) * 0.5 * (1 + Math.Cos(Math.PI * progress)));
    }
}
