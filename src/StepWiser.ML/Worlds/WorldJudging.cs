using System.Globalization;
using System.Text.RegularExpressions;
using StepWiser.ML.Judging;

namespace StepWiser.ML.Worlds;

/// <summary>
/// Judge analyses for the built-in world's format warm-up, the analogue of the arithmetic an instruct model brings to
/// the paper's judge: the analysis states the step's goal as the problem gives it and works the step out from the
/// value the history ends with ("The step should add 5: 7+5=3."). It reads only what the judge sees (the problem text
/// and the history), never the exact checker or the gold chain: when the history itself is wrong, the analysis builds
/// on the wrong value, exactly as a reader of that history would. The verdict of a warm-up example still comes from its
/// Monte-Carlo label, so the warm-up never learns a gold label.
/// </summary>
public static partial class WorldJudging
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    /// <summary>The analysis of the step being judged, from the problem text and the earlier chunks.</summary>
    public static string Analysis(JudgeExample example)
    {
        ArgumentNullException.ThrowIfNull(example);
        return Analysis(example.Input.Problem, example.Input.History);
    }

    /// <summary>The analysis of the next step after <paramref name="history"/> of <paramref name="problem"/>.</summary>
    public static string Analysis(string problem, IReadOnlyList<string> history)
    {
        ArgumentNullException.ThrowIfNull(problem);
        ArgumentNullException.ThrowIfNull(history);
        var instructions = Instructions(problem);
        var k = history.Count;
        var value = k == 0 ? StartValue(problem) : LastResult(history[^1]);
        var modulus = Modulus(problem);
        if (k < instructions.Count)
        {
            var goal = $"The step should {char.ToLowerInvariant(instructions[k][0])}{instructions[k][1..]}";
            var op = Operation(instructions[k]);
            if (value is null || modulus is null or < 2 || op is null) return goal;
            var result = op.Apply(value.Value, modulus.Value);
            return string.Create(Invariant, $"{goal[..^1]}: {value}{op.Operator}{op.Operand}={result}.");
        }
        return value is null || k > instructions.Count
            ? "The step should state the final answer."
            : string.Create(Invariant, $"The step should state the final answer: {value}.");
    }

    /// <summary>The operations of a problem statement as sentences ("Add 5.", "Multiply by 3.").</summary>
    public static IReadOnlyList<string> Instructions(string problem) =>
        problem.Split(". ", StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(s => s.StartsWith("Add ", StringComparison.Ordinal) || s.StartsWith("Subtract ", StringComparison.Ordinal) || s.StartsWith("Multiply ", StringComparison.Ordinal))
            .Select(s => s.EndsWith('.') ? s : s + ".").ToArray();

    private static long? StartValue(string problem) => Number(StartPattern().Match(problem));

    private static int? Modulus(string problem) => (int?)Number(ModulusPattern().Match(problem));

    private static long? LastResult(string chunk)
    {
        var lines = chunk.Split("\n\n", StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (lines.Length == 0) return null;
        var m = ArithmeticChainWorld.EquationPattern().Match(lines[^1]);
        return m.Success && long.TryParse(m.Groups[4].Value, NumberStyles.AllowLeadingSign, Invariant, out var v) ? v : null;
    }

    private static ChainOperation? Operation(string instruction)
    {
        var m = InstructionPattern().Match(instruction);
        if (!m.Success || !int.TryParse(m.Groups[2].Value, NumberStyles.None, Invariant, out var operand)) return null;
        return new ChainOperation(m.Groups[1].Value switch { "Add" => '+', "Subtract" => '-', _ => '*' }, operand);
    }

    private static long? Number(Match m) =>
        m.Success && long.TryParse(m.Groups[1].Value, NumberStyles.AllowLeadingSign, Invariant, out var v) ? v : null;

    [GeneratedRegex(@"^Start with (\d+)\.")]
    private static partial Regex StartPattern();

    [GeneratedRegex(@"Work modulo (\d+)\.")]
    private static partial Regex ModulusPattern();

    [GeneratedRegex(@"^(Add|Subtract|Multiply by) (\d+)\.$")]
    private static partial Regex InstructionPattern();
}
