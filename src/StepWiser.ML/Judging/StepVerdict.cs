namespace StepWiser.ML.Judging;

/// <summary>The verdict on one step.</summary>
/// <param name="Positive">True when the step is accepted.</param>
/// <param name="Score">Share of Positive among the sampled verdicts (the step score of data selection).</param>
/// <param name="Rationale">The (first) response: analysis and verdict.</param>
/// <param name="Unparseable">Sampled verdicts that could not be parsed.</param>
public sealed record StepVerdict(bool Positive, float Score, string Rationale, int Unparseable);
