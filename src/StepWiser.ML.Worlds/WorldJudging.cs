using System.Globalization;
using System.Text.RegularExpressions;
using StepWiser.ML.Chunking;
using StepWiser.ML.Generation;
using StepWiser.ML.Judging;

namespace StepWiser.ML.Worlds;

/// <summary>
/// Judge analyses for the built-in world's format warm-up, the analogue of the arithmetic an instruct model brings to
/// the paper's judge: the analysis states the step's goal as the problem gives it and works the step out from the
/// value the history ends with ("The step should subtract 62: 07-62=45."). It reads only what the judge sees (the problem text
/// and the history), never the exact checker or the gold chain: when the history itself is wrong, the analysis builds
/// on the wrong value, exactly as a reader of that history would. The verdict of a warm-up example still comes from its
/// Monte-Carlo label, so the warm-up never learns a gold label.
/// </summary>
public static partial class WorldJudging
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    /// <summary>
    /// The text this world's chunked policy continues to write the step of <paramref name="input"/>: the policy prompt of
    /// its problem, then its history in chunk tags. What a <see cref="ReferenceWriter"/> or a re-derivation reads (never the step).
    /// </summary>
    public static string PolicyPrefix(JudgeInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        return RederivationAnalysis.ChunkedPrefix(ArithmeticChainWorld.PolicyPrompt(input.Problem), input.History);
    }

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
        var r = Read(problem, history);
        if (r.K < r.Instructions.Count)
        {
            var goal = $"The step should {char.ToLowerInvariant(r.Instructions[r.K][0])}{r.Instructions[r.K][1..]}";
            return r.Equation is null ? goal : $"{goal[..^1]}: {r.Equation}.";
        }
        return r.Value is null || r.K > r.Instructions.Count
            ? "The step should state the final answer."
            : $"The step should state the final answer: {ChainOperation.Render(r.Value.Value, r.Digits)}.";
    }

    /// <summary>
    /// The "find, recompute, compare" analysis of a step (the recipe's default analysis teacher for this world): it
    /// names the instruction that comes next in the problem after the one the history ends with, works that instruction
    /// out from the value the history ends with, quotes the step, and says whether the two are the same:
    /// "After Add 13. comes Subtract 62. 07-62=45. Step: Subtract 62. 07-62=45. Same." (for the last step: "After …
    /// comes the answer: \boxed{45}. Step: The answer is \boxed{45}. Same."). It reads only what the judge sees (problem,
    /// history, chunk), never the exact checker or a label, but it <b>encodes this world's rules</b> (where the k-th
    /// instruction is and how to apply it), so on steps up to a first error its "Same/Different" coincides with the
    /// checker. The world-independent alternative is <see cref="Judging.RederivationAnalysis"/> (the policy re-derives the
    /// step). Verdicts trained after it still come from Monte-Carlo labels.
    /// </summary>
    public static string CompareAnalysis(JudgeInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var r = Read(input.Problem, input.History);
        var k = r.K;
        var previous = k == 0 ? (r.Start.Success ? r.Start.Value : "the start") : k - 1 < r.Instructions.Count ? r.Instructions[k - 1] : "the answer";
        var step = RederivationAnalysis.Flatten(input.Chunk).TrimEnd('.');
        string expected;
        if (k < r.Instructions.Count)
        {
            var equation = r.Equation ?? "?";
            expected = $"{r.Instructions[k]} {equation}";
            var same = Same(expected, step) || (r.Equation is not null && Same(equation, step));   // the instruction line is optional
            return $"After {previous} comes {expected}. Step: {step}. {(same ? "Same." : "Different.")}";
        }
        var answer = r.Value is null || k > r.Instructions.Count ? "?" : ChainOperation.Render(r.Value.Value, r.Digits);
        expected = $"The answer is \\boxed{{{answer}}}.";
        return $"After {previous} comes the answer: \\boxed{{{answer}}}. Step: {step}. {(Same(expected, step) ? "Same." : "Different.")}";
    }

    /// <summary>
    /// The "look up, check each part" analysis of a step, written for <see cref="JudgeTemplate.Numbered"/> prompts, in
    /// which every comparison is local (the expected part is written just before the step's part it is compared with):
    /// it copies the problem's sentence for this step by its number, checks the step's instruction against it, works the
    /// instruction out from the value the history ends with, checks the step's equation against that, and concludes:
    /// "(3) Subtract 62. Step: Subtract 62, same. 10-62=58. Step: 10-62=58, same. Same." (last step: "(4) Work digit
    /// by digit modulo 10. The answer is \boxed{58}. Step: The answer is \boxed{58}, same. Same."). Like <see cref="CompareAnalysis"/> it reads only what the
    /// judge sees (problem, history, chunk), never the checker or a label, and it <b>encodes this world's rules</b>
    /// (sentence k + 2 is step k + 1's instruction, how to apply it); its conclusion equals <see cref="CompareAnalysis"/>'s.
    /// </summary>
    public static string CheckAnalysis(JudgeInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var r = Read(input.Problem, input.History);
        var k = r.K;
        var step = JudgeTemplate.OneLine(input.Chunk).TrimEnd('.');
        var text = new System.Text.StringBuilder();
        bool same;
        if (k < r.Instructions.Count)
        {
            var instruction = r.Instructions[k].TrimEnd('.');
            var equation = r.Equation ?? "?";
            text.Append($"({k + 2}) {instruction}. ");
            var dot = step.IndexOf(". ", StringComparison.Ordinal);
            var (stepInstruction, stepEquation) = InstructionPattern().IsMatch(step[..Math.Max(0, dot)] + ".")
                ? (step[..dot], step[(dot + 2)..]) : (null, step);
            bool instructionSame = stepInstruction is null || stepInstruction == instruction;   // the instruction line is optional
            if (stepInstruction is not null) text.Append($"Step: {stepInstruction}, {(instructionSame ? "same" : "different")}. ");
            bool equationSame = r.Equation is not null && stepEquation == equation;
            text.Append($"{equation}. Step: {stepEquation}, {(equationSame ? "same" : "different")}. ");
            same = instructionSame && equationSame;
        }
        else
        {
            var answer = r.Value is null || k > r.Instructions.Count ? "?" : ChainOperation.Render(r.Value.Value, r.Digits);
            var expected = $"The answer is \\boxed{{{answer}}}";
            same = answer != "?" && step == expected;
            // After the last instruction the sentence read is the one that ends the problem ("Work … modulo 10."): what is left is the answer.
            var sentences = JudgeTemplate.Sentences(input.Problem);
            var sentence = k + 1 < sentences.Count ? sentences[k + 1].TrimEnd('.') : "(none)";
            text.Append($"({k + 2}) {sentence}. The answer is \\boxed{{{answer}}}. Step: {step}, {(same ? "same" : "different")}. ");
        }
        return text.Append(same ? "Same." : "Different.").ToString();
    }

    /// <summary>
    /// What both analyses read from the problem and the history: the instructions, the step's index, the start, the
    /// digits per number, the value the history ends with, and the next instruction worked out from it (null when it
    /// cannot be: no value, no usable modulus, or past the last instruction).
    /// </summary>
    private sealed record Reading(IReadOnlyList<string> Instructions, int K, Match Start, int Digits, long? Value, string? Equation);

    private static Reading Read(string problem, IReadOnlyList<string> history)
    {
        var instructions = Instructions(problem);
        var k = history.Count;
        var start = StartPattern().Match(problem);
        var modulus = ModulusPattern().Match(problem);
        var digits = start.Success && modulus.Success && modulus.Groups[1].Success ? start.Groups[1].Length : 1;
        var value = k == 0 ? Number(start) : LastResult(history[^1]);
        string? equation = null;
        if (k < instructions.Count && value is { } v && Operation(instructions[k], digits) is { } op
            && Number(modulus, 2) is { } m && m >= 2 && ChainOperation.IsWritable(digits, (int)m))
            equation = ArithmeticChainWorld.Equation(v, op, op.Apply(v, (int)m));
        return new Reading(instructions, k, start, digits, value, equation);
    }

    /// <summary>
    /// How well Monte-Carlo labels find the exact checker's errors (evaluation only; no label is ever taken from the
    /// checker): over each solution's steps up to its first error, the share of right steps labelled positive and the
    /// share of first errors labelled negative (NaN where there is no such step).
    /// </summary>
    /// <param name="checks">The checker's verdict on each solution.</param>
    /// <param name="labels">Each solution's step labels, in the same order.</param>
    public static (double RightPositive, double ErrorNegative) LabelAgreement(IReadOnlyList<StepCheck> checks, IReadOnlyList<IReadOnlyList<bool>> labels)
    {
        ArgumentNullException.ThrowIfNull(checks);
        ArgumentNullException.ThrowIfNull(labels);
        if (checks.Count != labels.Count) throw new ArgumentException($"{checks.Count} checks but {labels.Count} label lists", nameof(labels));
        int right = 0, rightPositive = 0, errors = 0, errorNegative = 0;
        for (var i = 0; i < checks.Count; i++)
        {
            var first = checks[i].FirstErrorIndex;
            var last = first < 0 ? labels[i].Count - 1 : first;
            for (var k = 0; k <= last && k < labels[i].Count; k++)
            {
                if (k == first) { errors++; if (!labels[i][k]) errorNegative++; }
                else { right++; if (labels[i][k]) rightPositive++; }
            }
        }
        return (right == 0 ? double.NaN : rightPositive / (double)right, errors == 0 ? double.NaN : errorNegative / (double)errors);
    }

    /// <summary>
    /// Unlabelled steps for the judge's analysis stage: the policy's samples (2 per problem at
    /// <paramref name="temperature"/>, seed 3) on <paramref name="problems"/> problems of the world's own
    /// "judge-pretrain" split, every chunk with the history before it. No label and no checker output is attached. A
    /// temperature above 1 gives more of the policy's own kind of slip (the main job samples at 1.3).
    /// </summary>
    public static async Task<IReadOnlyList<JudgeInput>> UnlabelledStepsAsync(ITextGenerator policy, ArithmeticChainWorld world, int problems, CancellationToken cancellationToken = default, float temperature = 1f)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(world);
        var list = world.Generate("judge-pretrain", problems, 1);
        var sampled = await policy.GenerateAsync(list.Select(p => GenerationRequest.FromText(p.Prompt, new SamplingOptions { NumSamples = 2, MaxNewTokens = world.Options.SolutionTokenBudget, Temperature = temperature, Seed = 3 })).ToArray(), cancellationToken).ConfigureAwait(false);
        return list.SelectMany((p, i) => sampled[i].Samples.SelectMany(s =>
        {
            var chunks = ChunkParser.ParseTags(s.Text, MalformedChunkPolicy.Repair).Chunks;
            return chunks.Select((c, k) => new JudgeInput(p.Problem, chunks.Take(k).ToArray(), c));
        })).ToArray();
    }

    private static bool Same(string expected, string step) =>
        string.Equals(expected.TrimEnd('.'), step.TrimEnd('.'), StringComparison.Ordinal);

    /// <summary>The operations of a problem statement as sentences ("Add 5.", "Multiply by 3.").</summary>
    public static IReadOnlyList<string> Instructions(string problem) =>
        problem.Split(". ", StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(s => s.StartsWith("Add ", StringComparison.Ordinal) || s.StartsWith("Subtract ", StringComparison.Ordinal) || s.StartsWith("Multiply ", StringComparison.Ordinal))
            .Select(s => s.EndsWith('.') ? s : s + ".").ToArray();

    private static long? LastResult(string chunk)
    {
        var lines = chunk.Split("\n\n", StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (lines.Length == 0) return null;
        var m = ArithmeticChainWorld.EquationPattern().Match(lines[^1]);
        return m.Success && long.TryParse(m.Groups[4].Value, NumberStyles.AllowLeadingSign, Invariant, out var v) ? v : null;
    }

    private static ChainOperation? Operation(string instruction, int digits)
    {
        var m = InstructionPattern().Match(instruction);
        if (!m.Success || !int.TryParse(m.Groups[2].Value, NumberStyles.None, Invariant, out var operand)) return null;
        return new ChainOperation(m.Groups[1].Value switch { "Add" => '+', "Subtract" => '-', _ => '*' }, operand, digits);
    }

    private static long? Number(Match m, int group = 1) =>
        m.Success && long.TryParse(m.Groups[group].Value, NumberStyles.AllowLeadingSign, Invariant, out var v) ? v : null;

    [GeneratedRegex(@"^Start with (\d+)\.")]
    private static partial Regex StartPattern();

    /// <summary>"Work modulo 9." or "Work digit by digit modulo 10.": group 1 is the digit-by-digit phrase, group 2 the modulus.</summary>
    [GeneratedRegex(@"Work (digit by digit )?modulo (\d+)\.")]
    private static partial Regex ModulusPattern();

    [GeneratedRegex(@"^(Add|Subtract|Multiply by) (\d+)\.$")]
    private static partial Regex InstructionPattern();
}
