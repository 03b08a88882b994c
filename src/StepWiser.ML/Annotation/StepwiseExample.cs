using System.Text.Json.Serialization;

namespace StepWiser.ML.Annotation;

/// <summary>One record of TRL's stepwise-supervision format: a prompt, its steps and one label per step.</summary>
/// <param name="Prompt">The problem.</param>
/// <param name="Completions">The steps (chunks).</param>
/// <param name="Labels">True for a good step.</param>
public sealed record StepwiseExample(
    [property: JsonPropertyName("prompt")] string Prompt,
    [property: JsonPropertyName("completions")] IReadOnlyList<string> Completions,
    [property: JsonPropertyName("labels")] IReadOnlyList<bool> Labels);
