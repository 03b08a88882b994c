namespace StepWiser.ML.Judging;

/// <summary>The verdict on one step.</summary>
/// <param name="Positive">True when the step is accepted.</param>
/// <param name="Score">The judge's probability that the step is right, in [0, 1] (for the generative judge: P(Positive) read at the verdict token, averaged over the votes; the step score of data selection and of calibration).</param>
/// <param name="Rationale">The (first) response: analysis and verdict.</param>
/// <param name="Unparseable">Sampled verdicts that could not be parsed.</param>
public sealed record StepVerdict(bool Positive, float Score, string Rationale, int Unparseable);
