namespace StepWiser.ML.Judging;

/// <summary>A judge's reading of one solution.</summary>
/// <param name="Verdicts">Per step: true = Positive (false also for steps not judged after a stop).</param>
/// <param name="Scores">Per step: the judge's score, its probability that the step is right (NaN when not judged).</param>
/// <param name="Rationales">Per step: the first sample's response (analysis and verdict).</param>
/// <param name="FirstRejected">Index of the first Negative step, −1 if none.</param>
/// <param name="Unparseable">Sampled verdicts that could not be parsed.</param>
public sealed record StepJudgment(IReadOnlyList<bool> Verdicts, IReadOnlyList<float> Scores, IReadOnlyList<string> Rationales, int FirstRejected, int Unparseable);
