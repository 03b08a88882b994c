namespace StepWiser.ML.Annotation;

/// <summary>
/// The three label schemes over Monte-Carlo step values. All three derive from the same values, so one set of rollouts
/// serves them all. Q_0 is the value before any chunk: by default the Monte-Carlo pass rate of the bare prompt
/// (the paper leaves it open).
/// </summary>
public static class StepLabels
{
    /// <summary>Labels for chunks 1..H given Q_0 and Q_1..Q_H. A NaN value (failed rollouts) gives a negative label.</summary>
    public static bool[] Compute(float q0, IReadOnlyList<float> q, LabelScheme scheme, StepLabelOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(q);
        options ??= new StepLabelOptions();
        var labels = new bool[q.Count];
        var previous = q0;
        for (var i = 0; i < q.Count; i++)
        {
            var current = q[i];
            labels[i] = !float.IsNaN(current) && (scheme == LabelScheme.AbsoluteQ || !float.IsNaN(previous)) && scheme switch
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

    /// <summary>V = 1 − (1 − Q)^n: the chance that best-of-n sampling from this prefix reaches a right answer.</summary>
    public static float BestOfNValue(float q, int n) => 1f - MathF.Pow(1f - q, n);
}
