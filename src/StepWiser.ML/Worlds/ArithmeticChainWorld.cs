using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.ML;
using StepWiser.ML.Data;
using StepWiser.ML.Reasoning;

namespace StepWiser.ML.Worlds;

/// <summary>
/// The built-in reasoning world: modular arithmetic chains ("Start with 7. Add 5. Multiply by 3. Subtract 4. Work
/// modulo 9.") whose solutions take one chunk per operation plus a conclusion chunk, with exactly checkable steps.
/// Small enough that a model trained from scratch on a laptop CPU in minutes solves a fair share of them, with
/// natural mistakes (misremembered facts, copying slips), so that Monte-Carlo values, judges, search and selection
/// all have something to show. Deterministic under a seed.
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
        var o = Options;
        var m = o.Modulus;
        long value = random.Next(0, m);
        var start = value;
        var operationCount = random.Next(o.MinOperations, o.MaxOperations + 1);
        var operations = new List<ChainOperation>();
        var chunks = new List<string>();
        for (var i = 0; i < operationCount; i++)
        {
            var roll = random.NextDouble();
            var op = roll < o.MultiplyRate ? new ChainOperation('*', random.Next(2, m))
                : roll < o.MultiplyRate + (1 - o.MultiplyRate) / 2 ? new ChainOperation('+', random.Next(1, m))
                : new ChainOperation('-', random.Next(1, m));
            var next = op.Apply(value, m);
            var equation = Equation(value, op, next);
            chunks.Add(random.NextDouble() < o.ExplanationRate ? Explanation(op, random.Next(2)) + "\n\n" + equation : equation);
            operations.Add(op);
            value = next;
        }
        chunks.Add(AnswerChunk(value));
        var problem = $"Start with {start}. " + string.Join(" ", operations.Select(x => x.Instruction)) + $" Work modulo {m}.";
        var chunked = ChunkParser.Wrap(chunks);
        return new WorldProblem(id, start, m, operations, problem, value, chunked, string.Join("\n\n", chunks), chunks);
    }

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
        Answer = p.Answer.ToString(Invariant), StepCount = p.Chunks.Count,
    };

    /// <summary>Writes problems as JSON lines (every field of <see cref="WorldProblem"/>).</summary>
    public static void WriteJsonl(string path, IEnumerable<WorldProblem> problems)
    {
        AtomicFile.WriteText(path, writer =>
        {
            foreach (var p in problems) writer.WriteLine(JsonSerializer.Serialize(p));
        });
    }

    /// <summary>Reads problems written by <see cref="WriteJsonl"/>; a bad line is an error naming the file and line.</summary>
    public static IReadOnlyList<WorldProblem> ReadJsonl(string path)
    {
        var problems = new List<WorldProblem>();
        var number = 0;
        foreach (var line in File.ReadLines(path))
        {
            number++;
            if (line.Length == 0) continue;
            try
            {
                var p = JsonSerializer.Deserialize<JsonProblem>(line) ?? throw new InvalidDataException("null record");
                problems.Add(new WorldProblem(p.Id, p.Start, p.Modulus, p.Operations.Select(o => new ChainOperation(o.Operator, o.Operand)).ToArray(), p.Problem, p.Answer, p.ChunkedSolution, p.RawSolution, p.Chunks));
            }
            catch (Exception e) when (e is JsonException or InvalidDataException or ArgumentNullException)
            {
                throw new InvalidDataException($"{path}:{number}: not a world problem ({e.Message})", e);
            }
        }
        return problems;
    }

    private sealed record JsonOperation(char Operator, int Operand);

    private sealed record JsonProblem(string Id, long Start, int Modulus, JsonOperation[] Operations, string Problem, long Answer, string ChunkedSolution, string RawSolution, string[] Chunks);

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
                verdicts[k] = isAnswer.Success && long.TryParse(isAnswer.Groups[1].Value, NumberStyles.AllowLeadingSign, Invariant, out var v) && v == problem.Answer;
            }
        }
        var finalAnswer = ExtractBoxedInteger(string.Join("\n\n", chunks));
        var first = Array.IndexOf(verdicts, false);
        return new StepCheck(chunks, verdicts, first, finalAnswer, finalAnswer == problem.Answer, complete);
    }

    /// <summary>True when the last <c>\boxed{}</c> of <paramref name="solution"/> holds the problem's answer.</summary>
    public static bool IsCorrect(WorldProblem problem, string solution) => ExtractBoxedInteger(solution) == problem.Answer;

    /// <summary>The integer in the last <c>\boxed{…}</c> of the text, or null.</summary>
    public static long? ExtractBoxedInteger(string text)
    {
        var matches = BoxedInteger().Matches(text);
        if (matches.Count == 0) return null;
        return long.TryParse(matches[^1].Groups[1].Value, NumberStyles.AllowLeadingSign, Invariant, out var v) ? v : null;
    }

    private static bool IsCorrectStep(string chunk, long value, ChainOperation op, int modulus)
    {
        var lines = chunk.Split("\n\n", StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (lines.Length is 0 or > 2) return false;
        if (lines.Length == 2 && lines[0] != Explanation(op, 0) && lines[0] != Explanation(op, 1)) return false;
        var m = EquationPattern().Match(lines[^1]);
        if (!m.Success) return false;
        return long.TryParse(m.Groups[1].Value, Invariant, out var a) && a == value
            && m.Groups[2].Value[0] == op.Operator
            && long.TryParse(m.Groups[3].Value, Invariant, out var b) && b == op.Operand
            && long.TryParse(m.Groups[4].Value, NumberStyles.AllowLeadingSign, Invariant, out var c) && c == op.Apply(value, modulus);
    }

    private static string Equation(long value, ChainOperation op, long result) =>
        string.Create(Invariant, $"{value}{op.Operator}{op.Operand}={result}");

    private static string Explanation(ChainOperation op, int variant)
    {
        var text = op.Instruction;
        return variant == 0 ? text : "Now " + char.ToLowerInvariant(text[0]) + text[1..];
    }

    private static string AnswerChunk(long value) => string.Create(Invariant, $"The answer is \\boxed{{{value}}}.");

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
