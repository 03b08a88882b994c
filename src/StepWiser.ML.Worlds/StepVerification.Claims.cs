using StepWiser.ML.Judging;

namespace StepWiser.ML.Worlds;

public static partial class StepVerification
{
    /// <summary>
    /// The built-in world's result-first template: <see cref="JudgeTemplate.Numbered"/> with each step's claimed result
    /// located by <see cref="Claim"/>.
    /// </summary>
    public static ResultFirstTemplate ResultFirst { get; } = new(JudgeTemplate.Numbered, Claim, name: "result-first-numbered-world-claims");

    /// <summary>
    /// The turn-2 template of this world's result-first judges of that name (<see cref="ResultFirst"/>,
    /// <see cref="ResultFirstInPolicyContext"/>, <see cref="WorldIndependentResultFirst"/>), or null: what a saved judge's
    /// manifest names, to pass to <c>StepwiseJudgeTransformer.Load</c>.
    /// </summary>
    public static JudgeTemplate? TemplateNamed(string name) =>
        new[] { ResultFirst, ResultFirstInPolicyContext, WorldIndependentResultFirst }.Select(t => t.TurnTwo).FirstOrDefault(t => t.Name == name);

    /// <summary>
    /// The policy's own text as a judge prompt: the policy prompt of the problem, the history in chunk tags, then the new
    /// step after an open chunk tag — where a model initialised from the policy computes a step's result the way it
    /// learned to (<see cref="ResultFirstInPolicyContext"/>).
    /// </summary>
    public static JudgeTemplate PolicyContext { get; } = new("policy-context", input => WorldJudging.PolicyPrefix(input) + Chunking.ChunkParser.OpenTag + input.Chunk);

    /// <summary>
    /// The built-in world's result-first template in the policy's own text (<see cref="PolicyContext"/>): turn 1 is the
    /// step cut before its result where the policy would write it, so a judge initialised from the policy recomputes the
    /// step's own operation with the policy's own skill, untrained; its turn-1 line can be the policy's own greedy
    /// continuation (self-distillation: written by the model itself, no label).
    /// </summary>
    public static ResultFirstTemplate ResultFirstInPolicyContext { get; } = new(PolicyContext, Claim, name: "result-first-policy-context-world-claims");

    /// <summary>
    /// The result-first template in the policy's own text (<see cref="PolicyContext"/>) with the library's generic claim
    /// locator (<see cref="ResultFirstTemplate.LastResult"/>: the number after a step's last "=", "->" or in
    /// <c>\boxed{}</c>) instead of this world's <see cref="Claim"/>: nothing in it encodes a rule of the world beyond the
    /// policy's own prompt. The main job's StepWiser judge.
    /// </summary>
    public static ResultFirstTemplate WorldIndependentResultFirst { get; } = new(PolicyContext);

    /// <summary>
    /// Where a step of this world states the result a result-first judge computes first (<see cref="ResultFirstTemplate"/>):
    /// the result of its equation line when it adds, subtracts or multiplies; of a division's check line (the product
    /// that must give back the division's input: checking a division needs only the forward table); of a set line; of
    /// the answer line. Null for a division without a check line (its inverse is as hard to compute as to write) and for
    /// text that is not a step of this world.
    /// </summary>
    public static Range? Claim(string chunk)
    {
        ArgumentNullException.ThrowIfNull(chunk);
        var lines = chunk.Split("\n\n", StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (lines.Length == 0) return null;
        var last = ArithmeticChainWorld.EquationLine(chunk);
        if (lines[^1].StartsWith("Check:", StringComparison.Ordinal))
            return CheckPattern().Match(lines[^1]) is { Success: true } check ? At(chunk, lines[^1], check.Groups[3]) : null;
        if (AnswerPattern().Match(last) is { Success: true } answer) return At(chunk, last, answer.Groups[1]);
        if (ArithmeticChainWorld.EquationPattern().Match(last) is { Success: true } equation)
            return equation.Groups[2].Value == "/" ? null : At(chunk, last, equation.Groups[4]);
        return ArithmeticChainWorld.SetPattern().Match(last) is { Success: true } set ? At(chunk, last, set.Groups[2]) : null;
    }

    /// <summary>
    /// What the result located by <see cref="Claim"/> should be, computed from the problem, the history and the step's
    /// text before it (never from the exact checker or a label): the equation or check line recomputed digit by digit the
    /// way the policy writes one, the set line's input with the instruction's digit set, the answer the history's last
    /// value. Null when the step states no such result or it cannot be computed (a digit that is not one, an
    /// instruction that does not name the position).
    /// </summary>
    public static string? ExpectedClaim(JudgeInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        return Computation(input)?.Expected;
    }

    /// <summary>
    /// Turn 1 of the built-in world's result-first judge (<see cref="ResultFirst"/>): the working of the result located by
    /// <see cref="Claim"/>, one digit at a time, then the result — <c>9+8=7 4+8=2 72</c> for <c>94+88=</c>,
    /// <c>1*9=9 6*9=4 94</c> for <c>16*9=</c> — so that each digit is computed from the two digits just written; a set
    /// line's and the answer's result alone (nothing to compute). Computed as <see cref="ExpectedClaim"/> (never from the
    /// exact checker or a label); null where that is null.
    /// </summary>
    public static string? ResultWork(JudgeInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (Computation(input) is not { } c) return null;
        if (c.Operation is not { } operation) return c.Expected;
        var (op, a, b) = operation;
        var work = Enumerable.Range(0, a.Length).Select(j => $"{a[j]}{op}{(op == '*' ? b : j < b.Length ? b[j].ToString() : "?")}={(j < c.Expected.Length ? c.Expected[j] : '?')}");
        return string.Join(' ', work) + " " + c.Expected;
    }

    /// <summary>
    /// The claim's expected value and, for an equation or check line, the operation that computes it (null for a set
    /// line or the answer); null when the step states no claim or its value cannot be computed.
    /// </summary>
    private static (string Expected, (char Op, string A, string B)? Operation)? Computation(JudgeInput input)
    {
        if (Claim(input.Chunk) is null) return null;
        var lines = input.Chunk.Split("\n\n", StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        var last = ArithmeticChainWorld.EquationLine(input.Chunk);
        (char Op, string A, string B)? operation = null;
        string? expected;
        if (lines[^1].StartsWith("Check:", StringComparison.Ordinal))
        {
            var check = CheckPattern().Match(lines[^1]);
            operation = ('*', check.Groups[1].Value, check.Groups[2].Value);
            expected = Recompute('*', check.Groups[1].Value, check.Groups[2].Value);
        }
        else if (AnswerPattern().IsMatch(last))
            expected = input.History.Count == 0
                ? StartPattern().Match(input.Problem) is { Success: true } start ? start.Groups[1].Value : null
                : ArithmeticChainWorld.StatedResult(input.History[^1]);
        else if (ArithmeticChainWorld.EquationPattern().Match(last) is { Success: true } equation)
        {
            operation = (equation.Groups[2].Value[0], equation.Groups[1].Value, equation.Groups[3].Value);
            expected = Recompute(operation.Value.Op, operation.Value.A, operation.Value.B);
        }
        else
        {
            var set = ArithmeticChainWorld.SetPattern().Match(last);
            var instruction = lines.Length >= 2 && lines[0] != last ? InstructionPattern().Match(lines[0]) : System.Text.RegularExpressions.Match.Empty;
            var position = instruction.Success && instruction.Groups[2].Success ? Array.IndexOf(PositionWords, instruction.Groups[2].Value) : -1;
            var input0 = set.Groups[1].Value;
            expected = position < 0 || position >= input0.Length || instruction.Groups[3].Value.Length != 1 ? null
                : input0[..position] + instruction.Groups[3].Value + input0[(position + 1)..];
        }
        return expected is { Length: > 0 } && expected.All(char.IsAsciiDigit) ? (expected, operation) : null;
    }

    private static Range At(string chunk, string line, System.Text.RegularExpressions.Group group)
    {
        var start = chunk.LastIndexOf(line, StringComparison.Ordinal) + group.Index;
        return start..(start + group.Length);
    }
}
