namespace StepWiser.ML.Selection;

/// <summary>What data selection picked for one prompt.</summary>
/// <param name="Prompt">The prompt.</param>
/// <param name="Problem">The problem the judge read.</param>
/// <param name="Sampled">Solutions sampled.</param>
/// <param name="CorrectCount">Solutions with a right final answer.</param>
/// <param name="JudgeSelected">The correct solution with the highest mean chunk score (null when none is correct).</param>
/// <param name="JudgeScore">Its mean chunk score.</param>
/// <param name="OutcomeSelected">A correct solution picked at random (outcome-only selection; null when none is correct).</param>
public sealed record SelectionResult(string Prompt, string Problem, int Sampled, int CorrectCount, string? JudgeSelected, float JudgeScore, string? OutcomeSelected)
{
    /// <summary>Every sampled solution with a right final answer, in sampling order (what outcome-only rejection sampling keeps).</summary>
    public IReadOnlyList<string> CorrectSolutions { get; init; } = [];

    /// <summary>The judge's mean chunk score of each of <see cref="CorrectSolutions"/>, in the same order.</summary>
    public IReadOnlyList<float> CorrectScores { get; init; } = [];
}
