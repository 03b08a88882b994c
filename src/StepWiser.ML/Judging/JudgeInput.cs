namespace StepWiser.ML.Judging;

/// <summary>What a stepwise judge reads: the problem, the earlier chunks and the new chunk.</summary>
/// <param name="Problem">The problem statement.</param>
/// <param name="History">The chunks before the new one.</param>
/// <param name="Chunk">The chunk to judge.</param>
public sealed record JudgeInput(string Problem, IReadOnlyList<string> History, string Chunk)
{
    /// <summary>
    /// The judge's own version of the step, written from the problem and the history without seeing the step (the first
    /// pass of a <see cref="ReferenceJudge"/>), for templates that show it, such as <see cref="JudgeTemplate.ReferencePairs"/>;
    /// null for one-pass judges.
    /// </summary>
    public string? Reference { get; init; }
}
