namespace StepWiser.ML.Annotation;

/// <summary>A solution to annotate.</summary>
/// <param name="Prompt">What the policy was asked (continued by rollouts).</param>
/// <param name="Chunks">The solution's chunks.</param>
/// <param name="Answer">The reference final answer.</param>
public sealed record AnnotationInput(string Prompt, IReadOnlyList<string> Chunks, string Answer);

