namespace StepWiser.ML.AnswerChecking;

/// <summary>The result of <see cref="IAnswerVerifier.Verify"/>.</summary>
/// <param name="Outcome">What the comparison decided.</param>
/// <param name="CandidateAnswer">The answer extracted from the response; <see langword="null"/> when none was found.</param>
/// <param name="ReferenceAnswer">The reference answer that was compared (extracted from a worked solution when it marks one).</param>
/// <param name="Reason">A short human-readable account of how the outcome was reached, for logs and debugging.</param>
public sealed record AnswerVerdict(AnswerOutcome Outcome, string? CandidateAnswer, string ReferenceAnswer, string Reason)
{
    /// <summary>True only for <see cref="AnswerOutcome.Equivalent"/>: the reward-1 case.</summary>
    public bool IsCorrect => Outcome == AnswerOutcome.Equivalent;
}
