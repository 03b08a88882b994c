namespace StepWiser.ML.Annotation;

/// <summary>
/// The three label schemes over Monte-Carlo step values. All three derive from the same values, so one set of rollouts
/// serves them all. Q_0 is the value before any chunk: by default the Monte-Carlo pass rate of the bare prompt
/// (the paper leaves it open).
/// </summary>
public static class StepLabels
{
    /// <summary>
    /// Labels for chunks 1..H given Q_0 and Q_1..Q_H. A step without a value (NaN: its rollouts failed) never gets a
    /// label: a missing value throws <see cref="ArgumentException"/> naming the step (Q_0 is needed by the relative
    /// schemes only). Check <see cref="IsComplete"/> first to skip such solutions.
    /// </summary>
    public static bool[] Compute(float q0, IReadOnlyList<float> q, LabelScheme scheme, StepLabelOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(q);
        options ??= new StepLabelOptions();
        if (Missing(q0, q, scheme) is { } missing)
            throw new ArgumentException($"{missing} has no Monte-Carlo value (NaN: its rollouts failed); a step without a value gets no label", nameof(q));
        var labels = new bool[q.Count];
        var previous = q0;
        for (var i = 0; i < q.Count; i++)
        {
            var current = q[i];
            labels[i] = scheme switch
            {
                LabelScheme.AbsoluteQ => current > 0,
                LabelScheme.RelativeRatio => previous > 0 ? current / previous > options.Gamma : options.RatioPositiveWhenRevivingZero && current > 0,
                LabelScheme.RelativeEffective => current + options.Alpha * (BestOfNValue(current, options.BestOfN) - BestOfNValue(previous, options.BestOfN)) > 0,
                _ => throw new ArgumentOutOfRangeException(nameof(scheme), scheme, "unknown label scheme"),
            };
            previous = current;
        }
        return labels;
    }

    /// <summary>Whether every value <paramref name="scheme"/> needs is present (not NaN), so <see cref="Compute"/> can label the solution.</summary>
    public static bool IsComplete(float q0, IReadOnlyList<float> q, LabelScheme scheme)
    {
        ArgumentNullException.ThrowIfNull(q);
        return Missing(q0, q, scheme) is null;
    }

    private static string? Missing(float q0, IReadOnlyList<float> q, LabelScheme scheme)
    {
        if (scheme != LabelScheme.AbsoluteQ && float.IsNaN(q0)) return "Q_0 (the bare prompt)";
        for (var i = 0; i < q.Count; i++)
            if (float.IsNaN(q[i])) return $"step {i + 1} of {q.Count}";
        return null;
    }

    /// <summary>V = 1 − (1 − Q)^n: the chance that best-of-n sampling from this prefix reaches a right answer.</summary>
    public static float BestOfNValue(float q, int n) => 1f - MathF.Pow(1f - q, n);
}
