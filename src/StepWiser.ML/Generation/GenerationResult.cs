namespace StepWiser.ML.Generation;

/// <summary>The continuations of one request, in sample order.</summary>
/// <param name="Samples">The continuations.</param>
/// <param name="PromptTokenCount">Number of prompt tokens (0 when the engine does not know).</param>
public sealed record GenerationResult(IReadOnlyList<GeneratedSample> Samples, int PromptTokenCount = 0);
