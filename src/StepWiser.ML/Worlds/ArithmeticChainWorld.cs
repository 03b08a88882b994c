using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.ML;
using StepWiser.ML.Chunking;
using StepWiser.ML.Data;

namespace StepWiser.ML.Worlds;

/// <summary>
/// The built-in reasoning world: digit-wise arithmetic chains ("Start with 07. Subtract 62. Multiply by 9. Work digit
/// by digit modulo 10.": every digit is its own counter, no carries) whose solutions take one chunk per operation plus
/// a conclusion chunk, with exactly checkable steps. Small enough that a model trained from scratch on a laptop CPU in
/// minutes solves a fair share of them, with natural mistakes (misremembered facts, copying slips); every operation is
/// invertible and the answer space has 10^digits values, so a wrong step leads to a wrong answer unless another
/// mistake undoes it, and Monte-Carlo values, judges, search and selection all have something to show. With one
/// digit it is the plain modular chain ("Start with 7. Add 5. Work modulo 9."). Deterministic under a seed.
/// </summary>
public sealed partial class ArithmeticChainWorld
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    /// <summary>Creates the world.</summary>
    public ArithmeticChainWorld(ArithmeticChainOptions? options = null) => Options = options ?? new ArithmeticChainOptions();

    /// <summary>The options (difficulty).</summary>
    public ArithmeticChainOptions Options { get; }

    /// <summary>The prompt a policy continues for <paramref name="problem"/>.</summary>
    public static string PolicyPrompt(string problem) => problem + "\n";

    /// <summary>
    /// <paramref name="count"/> problems of a named split ("train", "test", …). The same split, count and seed give the
    /// same problems; different splits are independent streams (a problem may recur by chance, as in any generator).
    /// </summary>
    public IReadOnlyList<WorldProblem> Generate(string split, int count, int seed = 0)
    {
        ArgumentException.ThrowIfNullOrEmpty(split);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        var random = new Random(StableHash(split) ^ (seed * 7919));
        return Enumerable.Range(0, count).Select(i => Create($"{split}-{i:D6}", random)).ToArray();
    }

    /// <summary>Builds one problem and its canonical solution from <paramref name="random"/>.</summary>
    public WorldProblem Create(string id, Random random)
    {
        ArgumentNullException.ThrowIfNull(random);
        var o = Options;
        var m = o.Modulus;
        var digits = o.Digits;
        ChainOperation.EnsureWritable(digits, m);
        var value = digits == 1 ? random.Next(0, m) : DigitRow(random, m, digits, allowZero: true);
        var start = value;
        var operationCount = random.Next(o.MinOperations, o.MaxOperations + 1);
        var multipliers = Enumerable.Range(2, Math.Max(0, m - 2)).Where(x => Gcd(x, m) == 1).ToArray();
        var operations = new List<ChainOperation>();
        var chunks = new List<string>();
        for (var i = 0; i < operationCount; i++)
        {
            var roll = random.NextDouble();
            var op = roll < o.MultiplyRate && multipliers.Length > 0 ? new ChainOperation('*', multipliers[random.Next(multipliers.Length)], digits)
                : new ChainOperation(roll < o.MultiplyRate + (1 - o.MultiplyRate) / 2 ? '+' : '-', Operand(random, m, digits), digits);
            var next = op.Apply(value, m);
            var equation = Equation(value, op, next);
            chunks.Add(random.NextDouble() < o.ExplanationRate ? Explanation(op, 0) + "\n\n" + equation : equation);
            operations.Add(op);
            value = next;
        }
        chunks.Add(AnswerChunk(value, digits));
        var problem = $"Start with {ChainOperation.Render(start, digits)}. " + string.Join(" ", operations.Select(x => x.Instruction))
            + (digits == 1 ? $" Work modulo {m}." : $" Work digit by digit modulo {m}.");
        var chunked = ChunkParser.Wrap(chunks);
        return new WorldProblem(id, start, m, operations, problem, value, chunked, string.Join("\n\n", chunks), chunks, digits);
    }

    private static int Operand(Random random, int modulus, int digits) =>
        digits == 1 ? random.Next(1, modulus) : (int)DigitRow(random, modulus, digits, allowZero: false);

    /// <summary>A random row of digits below the modulus, as its decimal number (not all zero unless allowed).</summary>
    private static long DigitRow(Random random, int modulus, int digits, bool allowZero)
    {
        while (true)
        {
            long row = 0;
            for (var i = 0; i < digits; i++) row = row * 10 + random.Next(0, modulus);
            if (allowZero || row != 0) return row;
        }
    }

    private static int Gcd(int a, int b) => b == 0 ? a : Gcd(b, a % b);

    /// <summary>The problems as an <see cref="IDataView"/> of <see cref="WorldProblemRow"/> (columns Id, Problem, Prompt, Solution, RawSolution, Answer, StepCount).</summary>
    public static IDataView ToDataView(MLContext mlContext, IEnumerable<WorldProblem> problems)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        return mlContext.Data.LoadFromEnumerable(problems.Select(ToRow).ToArray());
    }

    /// <summary>The ML.NET row of a problem.</summary>
    public static WorldProblemRow ToRow(WorldProblem p) => new()
    {
        Id = p.Id, Problem = p.Problem, Prompt = p.Prompt, Solution = p.ChunkedSolution, RawSolution = p.RawSolution,
        Answer = p.AnswerText, StepCount = p.Chunks.Count,
    };

    /// <summary>Writes problems as JSON lines (every field of <see cref="WorldProblem"/>).</summary>
    public static void WriteJsonl(string path, IEnumerable<WorldProblem> problems)
    {
        JsonLines.Write(path, problems, p => JsonSerializer.Serialize(p));
    }

    /// <summary>Reads problems written by <see cref="WriteJsonl"/>; a bad line is an error naming the file and line.</summary>
    public static IReadOnlyList<WorldProblem> ReadJsonl(string path) => JsonLines.Read(path, line =>
    {
        try
        {
            var p = JsonSerializer.Deserialize<JsonProblem>(line) ?? throw new InvalidDataException("null record");
            var digits = p.Digits ?? 1;
            return new WorldProblem(p.Id, p.Start, p.Modulus, p.Operations.Select(o => new ChainOperation(o.Operator, o.Operand, o.Digits ?? digits)).ToArray(), p.Problem, p.Answer, p.ChunkedSolution, p.RawSolution, p.Chunks, digits);
        }
        catch (Exception e) when (e is JsonException or InvalidDataException or ArgumentNullException)
        {
            throw new InvalidDataException($"not a world problem ({e.Message})", e);
        }
    });

    private sealed record JsonOperation(char Operator, int Operand, int? Digits);

    private sealed record JsonProblem(string Id, long Start, int Modulus, JsonOperation[] Operations, string Problem, long Answer, string ChunkedSolution, string RawSolution, string[] Chunks, int? Digits);

    /// <summary>
    /// Checks a policy-written solution step by step (tagged text; malformed markup is repaired, and a repaired piece
    /// is checked like any chunk). See <see cref="Check(WorldProblem, IReadOnlyList{string})"/>.
    /// </summary>
    public static StepCheck Check(WorldProblem problem, string solution)
    {
        ArgumentNullException.ThrowIfNull(solution);
        var chunks = solution.Contains(ChunkParser.OpenTag, StringComparison.Ordinal)
            ? ChunkParser.ParseTags(solution, MalformedChunkPolicy.Repair).Chunks
            : ChunkParser.SplitBlankLines(solution);
        return Check(problem, chunks);
    }

    /// <summary>
    /// Checks chunks exactly: chunk k (k &lt; number of operations) is correct when it states operation k applied to the
    /// correct running value with the correct result modulo the problem's modulus (and any explanation line names that operation); the chunk after
    /// the last operation is correct when it states the right answer in <c>\boxed{}</c>. Missing, extra and premature
    /// chunks are wrong. This defines gold labels for evaluation only; training labels come from rollouts.
    /// </summary>
    public static StepCheck Check(WorldProblem problem, IReadOnlyList<string> chunks)
    {
        ArgumentNullException.ThrowIfNull(problem);
        ArgumentNullException.ThrowIfNull(chunks);
        var verdicts = new bool[chunks.Count];
        var value = problem.Start;
        var complete = false;
        for (var k = 0; k < chunks.Count; k++)
        {
            var isAnswer = AnswerPattern().Match(chunks[k].Trim());
            complete |= isAnswer.Success;
            if (k < problem.Operations.Count)
            {
                var op = problem.Operations[k];
                verdicts[k] = !isAnswer.Success && IsCorrectStep(chunks[k], value, op, problem.Modulus);
                value = op.Apply(value, problem.Modulus);
            }
            else if (k == problem.Operations.Count)
            {
                verdicts[k] = isAnswer.Success && isAnswer.Groups[1].Value == problem.AnswerText;
            }
        }
        var finalAnswer = ExtractBoxed(string.Join("\n\n", chunks));
        var first = Array.IndexOf(verdicts, false);
        return new StepCheck(chunks, verdicts, first, finalAnswer, finalAnswer == problem.AnswerText, complete);
    }

    /// <summary>
    /// True when the last <c>\boxed{}</c> of <paramref name="solution"/> holds the problem's answer exactly as the world
    /// writes it (with its leading zeros when the value has several digits).
    /// </summary>
    public static bool IsCorrect(WorldProblem problem, string solution)
    {
        ArgumentNullException.ThrowIfNull(problem);
        return ExtractBoxed(solution) == problem.AnswerText;
    }

    /// <summary>The integer text in the last <c>\boxed{…}</c> of the text (leading zeros kept), or null.</summary>
    public static string? ExtractBoxed(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var matches = BoxedInteger().Matches(text);
        return matches.Count == 0 ? null : matches[^1].Groups[1].Value;
    }

    /// <summary>The integer in the last <c>\boxed{…}</c> of the text, or null.</summary>
    public static long? ExtractBoxedInteger(string text) =>
        ExtractBoxed(text) is { } boxed && long.TryParse(boxed, NumberStyles.AllowLeadingSign, Invariant, out var v) ? v : null;

    private static bool IsCorrectStep(string chunk, long value, ChainOperation op, int modulus)
    {
        var lines = chunk.Split("\n\n", StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (lines.Length is 0 or > 2) return false;
        if (lines.Length == 2 && lines[0] != Explanation(op, 0) && lines[0] != Explanation(op, 1)) return false;
        return lines[^1] == Equation(value, op, op.Apply(value, modulus));
    }

    /// <summary>The equation of one step as the world writes it, e.g. "7+5=3" or "0482+1302=1784".</summary>
    public static string Equation(long value, ChainOperation op, long result) =>
        ChainOperation.Render(value, op.Digits) + op.Operator + op.OperandText + "=" + ChainOperation.Render(result, op.Digits);

    private static string Explanation(ChainOperation op, int variant)
    {
        var text = op.Instruction;
        return variant == 0 ? text : "Now " + char.ToLowerInvariant(text[0]) + text[1..];
    }

    private static string AnswerChunk(long value, int digits) => $"The answer is \\boxed{{{ChainOperation.Render(value, digits)}}}.";

    private static int StableHash(string s)
    {
        unchecked
        {
            var h = (int)2166136261;
            foreach (var ch in s) h = (h ^ ch) * 16777619;
            return h;
        }
    }

    /// <summary>One step's equation, "a op b=c": groups 1 (a), 2 (op), 3 (b), 4 (c).</summary>
    [GeneratedRegex(@"^(\d+)([+\-*])(\d+)=(-?\d+)$")]
    internal static partial Regex EquationPattern();

    [GeneratedRegex(@"^The answer is \\boxed\{(-?\d+)\}\.?$")]
    private static partial Regex AnswerPattern();

    [GeneratedRegex(@"\\boxed\{(-?\d+)\}")]
    private static partial Regex BoxedInteger();
}
