namespace StepWiser.ML.Training;

/// <summary>One part of a <see cref="MemoryPlan"/>.</summary>
/// <param name="Name">What it is: weights, gradients, optimizer state, master weights, reference model, activations, KV cache, ….</param>
/// <param name="Bytes">Predicted bytes.</param>
/// <param name="Phase">When it is allocated.</param>
/// <param name="Detail">How it was computed, in words (sizes and types).</param>
public sealed record MemoryPart(string Name, long Bytes, MemoryPhase Phase, string Detail);
