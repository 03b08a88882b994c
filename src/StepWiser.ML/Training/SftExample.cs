namespace StepWiser.ML.Training;

/// <summary>A supervised example: the loss is taken on the response tokens only.</summary>
/// <param name="Prompt">Conditioning text (masked out of the loss).</param>
/// <param name="Response">Target text.</param>
public sealed record SftExample(string Prompt, string Response);

