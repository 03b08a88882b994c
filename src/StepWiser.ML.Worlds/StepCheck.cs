namespace StepWiser.ML.Worlds;

/// <summary>
/// The exact verdict of <see cref="ArithmeticChainWorld.Check(WorldProblem, IReadOnlyList{string})"/> on a solution: the gold label of held-out
/// benchmarks (the analogue of ProcessBench's expert labels). Never a source of training labels.
/// </summary>
/// <param name="Chunks">The chunks that were checked.</param>
/// <param name="ChunkIsCorrect">Per chunk: true when the chunk is a correct next step given the problem and the correct earlier steps.</param>
/// <param name="FirstErrorIndex">Index of the first wrong chunk, or −1 when every chunk is correct.</param>
/// <param name="FinalAnswer">The text of the last boxed integer of the solution (leading zeros kept), if any.</param>
/// <param name="IsCorrect">True when the final answer is the problem's answer as the world writes it.</param>
/// <param name="IsComplete">True when the solution reaches a final-answer chunk.</param>
public sealed record StepCheck(IReadOnlyList<string> Chunks, IReadOnlyList<bool> ChunkIsCorrect, int FirstErrorIndex, string? FinalAnswer, bool IsCorrect, bool IsComplete);
