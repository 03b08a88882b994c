namespace StepWiser.ML.Worlds;

/// <summary>How a policy does on a set of problems of the built-in world.</summary>
/// <param name="Accuracy">Share of sampled solutions whose final answer is right.</param>
/// <param name="CompletionRate">Share of solutions that reach a final-answer chunk.</param>
/// <param name="MeanChunks">Mean number of chunks per solution.</param>
/// <param name="MixedPromptRate">Share of problems with some but not all samples right (the prompts MC annotation keeps).</param>
/// <param name="CorrectButFlawedRate">Share of solutions with a right answer but a wrong step.</param>
/// <param name="Checks">Per problem, per sample: the exact step check.</param>
public sealed record PolicyEvaluation(double Accuracy, double CompletionRate, double MeanChunks, double MixedPromptRate, double CorrectButFlawedRate, IReadOnlyList<IReadOnlyList<StepCheck>> Checks);
