namespace StepWiser.ML.Annotation;

/// <summary>Monte-Carlo values of one solution.</summary>
/// <param name="InitialValue">Q_0: the value of the bare prompt.</param>
/// <param name="Values">Q_1..Q_H (NaN where rollouts failed).</param>
/// <param name="FailedPrefixes">Prefixes whose rollouts failed after retries.</param>
public sealed record AnnotationResult(float InitialValue, IReadOnlyList<float> Values, int FailedPrefixes)
{
    /// <summary>Whether every value is present (no prefix failed), so the solution can be labelled under any scheme.</summary>
    public bool IsComplete => FailedPrefixes == 0 && !float.IsNaN(InitialValue) && !Values.Any(float.IsNaN);

    /// <summary>
    /// Labels of the chunks under a scheme; every scheme comes from the same values. Throws when a value the scheme
    /// needs is missing (failed rollouts): such a solution has no labels (see <see cref="IsComplete"/>).
    /// </summary>
    public bool[] Labels(LabelScheme scheme, StepLabelOptions? options = null) => StepLabels.Compute(InitialValue, Values, scheme, options);
}
