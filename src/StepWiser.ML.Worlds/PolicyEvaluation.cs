namespace StepWiser.ML.Worlds;

/// <summary>How a policy does on a set of problems of the built-in world.</summary>
/// <param name="Accuracy">Share of sampled solutions whose final answer is right.</param>
/// <param name="CompletionRate">Share of solutions that reach a final-answer chunk.</param>
/// <param name="MeanChunks">Mean number of chunks per solution.</param>
/// <param name="MixedPromptRate">Share of problems with some but not all samples right (the prompts MC annotation keeps).</param>
/// <param name="CorrectButFlawedRate">Share of solutions with a right answer but a wrong step.</param>
/// <param name="Checks">Per problem, per sample: the exact step check.</param>
public sealed record PolicyEvaluation(double Accuracy, double CompletionRate, double MeanChunks, double MixedPromptRate, double CorrectButFlawedRate, IReadOnlyList<IReadOnlyList<StepCheck>> Checks)
{
    /// <summary>
    /// Of the solutions with a right final answer, the share with a wrong step (a right answer through a wrong step:
    /// what outcome-only data selection cannot filter). NaN when no solution is right.
    /// </summary>
    public double FlawedCorrectShare
    {
        get
        {
            var correct = Checks.SelectMany(c => c).Where(c => c.IsCorrect).ToArray();
            return correct.Length == 0 ? double.NaN : correct.Count(c => c.FirstErrorIndex >= 0) / (double)correct.Length;
        }
    }

    /// <summary>
    /// Of the problems with at least two right answers among their samples, the share whose right-answer samples are
    /// not all one text (several right ways were taken, in wording or order). NaN when no problem has two.
    /// </summary>
    public double DistinctCorrectShare
    {
        get
        {
            var eligible = Checks.Select(c => c.Where(x => x.IsCorrect).Select(x => string.Join("\u0001", x.Chunks)).ToArray()).Where(t => t.Length >= 2).ToArray();
            return eligible.Length == 0 ? double.NaN : eligible.Count(t => t.Distinct(StringComparer.Ordinal).Count() >= 2) / (double)eligible.Length;
        }
    }
}
