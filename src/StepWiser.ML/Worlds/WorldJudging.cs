using StepWiser.ML.Judging;

namespace StepWiser.ML.Worlds;

/// <summary>
/// Judge analyses for the built-in world's format warm-up: the analysis states the step's goal as the problem gives
/// it ("The step should add 5.") — read from the problem text and the history length only, never from the exact
/// checker, so the warm-up learns the format and the task, and the verdict still comes from Monte-Carlo labels.
/// </summary>
public static class WorldJudging
{
    /// <summary>The goal of the step being judged, from the problem text and the number of earlier chunks.</summary>
    public static string Analysis(JudgeExample example)
    {
        ArgumentNullException.ThrowIfNull(example);
        var instructions = Instructions(example.Input.Problem);
        var k = example.Input.History.Count;
        return k < instructions.Count ? $"The step should {char.ToLowerInvariant(instructions[k][0])}{instructions[k][1..]}" : "The step should state the final answer.";
    }

    /// <summary>The operations of a problem statement as sentences ("Add 5.", "Multiply by 3.").</summary>
    public static IReadOnlyList<string> Instructions(string problem) =>
        problem.Split(". ", StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(s => s.StartsWith("Add ", StringComparison.Ordinal) || s.StartsWith("Subtract ", StringComparison.Ordinal) || s.StartsWith("Multiply ", StringComparison.Ordinal))
            .Select(s => s.EndsWith('.') ? s : s + ".").ToArray();
}
