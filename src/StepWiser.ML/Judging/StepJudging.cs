namespace StepWiser.ML.Judging;

/// <summary>Runs any <see cref="IStepJudge"/> over whole solutions, as ProcessBench does.</summary>
public static class StepJudging
{
    /// <summary>
    /// Judges step i of every solution with steps 0..i−1 as history, one batched judge call per step index; with
    /// <paramref name="stopAtFirstNegative"/> a solution's later steps are not judged once one is rejected.
    /// </summary>
    public static async Task<IReadOnlyList<StepJudgment>> JudgeSolutionsAsync(IStepJudge judge, IReadOnlyList<(string Problem, IReadOnlyList<string> Chunks)> solutions,
        bool stopAtFirstNegative = true, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(judge);
        ArgumentNullException.ThrowIfNull(solutions);
        var verdicts = solutions.Select(s => new bool[s.Chunks.Count]).ToArray();
        var scores = solutions.Select(s => Enumerable.Repeat(float.NaN, s.Chunks.Count).ToArray()).ToArray();
        var rationales = solutions.Select(s => Enumerable.Repeat("", s.Chunks.Count).ToArray()).ToArray();
        var first = Enumerable.Repeat(-1, solutions.Count).ToArray();
        var unparseable = new int[solutions.Count];
        var longest = solutions.Count == 0 ? 0 : solutions.Max(s => s.Chunks.Count);
        for (var k = 0; k < longest; k++)
        {
            var rows = Enumerable.Range(0, solutions.Count).Where(i => k < solutions[i].Chunks.Count && !(stopAtFirstNegative && first[i] >= 0)).ToArray();
            if (rows.Length == 0) break;
            var step = k;
            var judged = await judge.JudgeStepsAsync(rows.Select(i => new JudgeInput(solutions[i].Problem, solutions[i].Chunks.Take(step).ToArray(), solutions[i].Chunks[step])).ToArray(), cancellationToken).ConfigureAwait(false);
            for (var j = 0; j < rows.Length; j++)
            {
                var i = rows[j];
                verdicts[i][k] = judged[j].Positive;
                scores[i][k] = judged[j].Score;
                rationales[i][k] = judged[j].Rationale;
                unparseable[i] += judged[j].Unparseable;
                if (!judged[j].Positive && first[i] < 0) first[i] = k;
            }
        }
        return Enumerable.Range(0, solutions.Count).Select(i => new StepJudgment(verdicts[i], scores[i], rationales[i], first[i], unparseable[i])).ToArray();
    }
}
