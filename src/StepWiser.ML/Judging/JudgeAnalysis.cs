namespace StepWiser.ML.Judging;

/// <summary>
/// The analysis a recipe judge learns to write before its verdict: <paramref name="Write"/> gives the analysis of a step
/// from the problem, the history and the chunk alone (never from a label or gold: e.g. <c>StepVerification.Analysis</c>
/// for the built-in world, or <see cref="RederivationAnalysis.Lookup"/> for the policy's own re-derivation), and
/// <paramref name="UnlabelledSteps"/> are the steps the analysis stage teaches it on (e.g. the policy's samples).
/// </summary>
/// <param name="Write">The analysis of one step.</param>
/// <param name="UnlabelledSteps">Steps without labels for the analysis stage; may be empty when the recipe skips that stage.</param>
public sealed record JudgeAnalysis(Func<JudgeInput, string> Write, IReadOnlyList<JudgeInput> UnlabelledSteps);
