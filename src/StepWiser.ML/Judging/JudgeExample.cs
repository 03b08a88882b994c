namespace StepWiser.ML.Judging;

/// <summary>A labelled step for judge training.</summary>
/// <param name="Input">Problem, history and chunk.</param>
/// <param name="Label">True for a good chunk (from Monte-Carlo values under a label scheme).</param>
public sealed record JudgeExample(JudgeInput Input, bool Label)
{
    /// <summary>One example per chunk of a labelled solution (each chunk with the chunks before it as history).</summary>
    public static IEnumerable<JudgeExample> FromSolution(string problem, IReadOnlyList<string> chunks, IReadOnlyList<bool> labels)
    {
        if (chunks.Count != labels.Count) throw new ArgumentException($"{chunks.Count} chunks but {labels.Count} labels");
        for (var i = 0; i < chunks.Count; i++) yield return new JudgeExample(new JudgeInput(problem, chunks.Take(i).ToArray(), chunks[i]), labels[i]);
    }

    /// <summary>
    /// The examples of a labelled solution that <paramref name="selection"/> keeps: every chunk, or the chunks up to and
    /// including the first one labelled negative.
    /// </summary>
    public static IEnumerable<JudgeExample> FromSolution(string problem, IReadOnlyList<string> chunks, IReadOnlyList<bool> labels, StepSelection selection)
    {
        var all = FromSolution(problem, chunks, labels);
        if (selection == StepSelection.AllSteps) return all;
        var firstNegative = Enumerable.Range(0, labels.Count).FirstOrDefault(i => !labels[i], labels.Count);
        return all.Take(Math.Min(labels.Count, firstNegative + 1));
    }
}
