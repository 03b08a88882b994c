namespace StepWiser.ML.Annotation;

/// <summary>A solution to annotate.</summary>
/// <param name="Prompt">What the policy was asked (continued by rollouts).</param>
/// <param name="Chunks">The solution's chunks.</param>
/// <param name="Reference">The reference final answer.</param>
public sealed record AnnotationInput(string Prompt, IReadOnlyList<string> Chunks, string Reference);

/// <summary>Monte-Carlo values of one solution.</summary>
/// <param name="InitialValue">Q_0: the value of the bare prompt.</param>
/// <param name="Values">Q_1..Q_H (NaN where rollouts failed).</param>
/// <param name="FailedPrefixes">Prefixes whose rollouts failed after retries.</param>
public sealed record AnnotationResult(float InitialValue, IReadOnlyList<float> Values, int FailedPrefixes)
{
    /// <summary>Labels of the chunks under a scheme; every scheme comes from the same values.</summary>
    public bool[] Labels(LabelScheme scheme, StepLabelOptions? options = null) => StepLabels.Compute(InitialValue, Values, scheme, options);
}
