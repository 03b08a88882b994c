namespace StepWiser.ML.Judging;

/// <summary>What a stepwise judge reads: the problem, the earlier chunks and the new chunk.</summary>
/// <param name="Problem">The problem statement.</param>
/// <param name="History">The chunks before the new one.</param>
/// <param name="Chunk">The chunk to judge.</param>
public sealed record JudgeInput(string Problem, IReadOnlyList<string> History, string Chunk);

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
}
