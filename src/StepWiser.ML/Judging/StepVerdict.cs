namespace StepWiser.ML.Judging;

/// <summary>The verdict on one step.</summary>
/// <param name="Positive">True when the step is accepted.</param>
/// <param name="Score">The judge's probability that the step is right, in [0, 1] (for the generative judge: P(Positive) read at the verdict token, averaged over the votes; the step score of data selection and of calibration).</param>
/// <param name="Rationale">The (first) response: analysis and verdict.</param>
/// <param name="Unparseable">Sampled verdicts that could not be parsed.</param>
public sealed record StepVerdict(bool Positive, float Score, string Rationale, int Unparseable)
{
    /// <summary>
    /// Tokens the judge generated to reach this verdict (every vote's analysis and verdict, and a reference writer's
    /// step when the judge writes one): what judging the step cost, for search costs that count every generated token.
    /// 0 for judges that generate nothing (a classifier head, a comparison in code).
    /// </summary>
    public int GeneratedTokens { get; init; }
}
