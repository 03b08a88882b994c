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
        var start = digits == 1 ? random.Next(0, m) : DigitRow(random, m, digits, allowZero: true);
        var operationCount = random.Next(o.MinOperations, o.MaxOperations + 1);
        var units = Enumerable.Range(2, Math.Max(0, m - 2)).Where(x => Gcd(x, m) == 1).ToArray();
        // Each operation with whether its chunk states the instruction (drawn here, so the stream of draws is the same whatever the order).
        var operations = new List<(ChainOperation Op, bool Explained)>();
        for (var i = 0; i < operationCount; i++)
        {
            ChainOperation op;
            if (o.DivideRate > 0 && units.Length > 0 && random.NextDouble() < o.DivideRate)
                op = new ChainOperation('/', units[random.Next(units.Length)], digits);
            else if (random.NextDouble() is var roll && roll < o.MultiplyRate && units.Length > 0)
                op = new ChainOperation('*', units[random.Next(units.Length)], digits);
            else op = new ChainOperation(roll < o.MultiplyRate + (1 - o.MultiplyRate) / 2 ? '+' : '-', Operand(random, m, digits), digits);
            operations.Add((op, Wording(random)));
        }
        if (digits > 1 && o.OverwriteRate > 0 && random.NextDouble() < o.OverwriteRate)
        {
            var at = operationCount / 2 + random.Next(operationCount - operationCount / 2 + 1);   // the second half, possibly last
            var set = new ChainOperation('=', random.Next(0, m), digits, random.Next(digits));
            operations.Insert(at, (set, Wording(random)));
        }
        // The teacher varies the order of neighbouring multiplications and divisions (the checker accepts every order of
        // any commuting run); additions and subtractions keep the problem's order in canonical solutions.
        var order = Runs(operations.Select(x => x.Op).ToArray())
            .SelectMany(run => o.AnyOrder && run.Length > 1 && operations[run[0]].Op.Operator is '*' or '/' ? Shuffled(run, random) : run).ToArray();
        var chunks = new List<string>();
        var value = start;
        foreach (var i in order)
        {
            var (op, explained) = operations[i];
            var next = op.Apply(value, m);
            var equation = op.Equation(value, next);
            if (op.Operator == '/' && o.CheckRate > 0 && random.NextDouble() < o.CheckRate) equation += "\n\n" + CheckLine(op, value, next);
            chunks.Add(explained ? op.Instruction + "\n\n" + equation : equation);
            value = next;
        }
        chunks.Add(AnswerChunk(value, digits));
        var problem = $"Start with {ChainOperation.Render(start, digits)}. " + string.Join(" ", operations.Select(x => x.Op.Instruction))
            + (digits == 1 ? $" Work modulo {m}." : $" Work digit by digit modulo {m}.");
        var chunked = ChunkParser.Wrap(chunks);
        return new WorldProblem(id, start, m, operations.Select(x => x.Op).ToArray(), problem, value, chunked, string.Join("\n\n", chunks), chunks, digits, o.AnyOrder);

        bool Wording(Random r) => r.NextDouble() < o.ExplanationRate;
    }

    /// <summary>
    /// The runs of a problem's operations that may be carried out in any order (with <see cref="ArithmeticChainOptions.AnyOrder"/>):
    /// maximal stretches of neighbouring operations that commute (additions with subtractions, multiplications with
    /// divisions), as indices into <paramref name="operations"/>; a set digit is a run of its own.
    /// </summary>
    public static IReadOnlyList<int[]> Runs(IReadOnlyList<ChainOperation> operations)
    {
        ArgumentNullException.ThrowIfNull(operations);
        var runs = new List<int[]>();
        var current = new List<int>();
        for (var i = 0; i < operations.Count; i++)
        {
            if (current.Count > 0 && !operations[current[^1]].CommutesWith(operations[i]))
            {
                runs.Add(current.ToArray());
                current.Clear();
            }
            current.Add(i);
        }
        if (current.Count > 0) runs.Add(current.ToArray());
        return runs;
    }

    private static int[] Shuffled(int[] run, Random random)
    {
        var copy = (int[])run.Clone();
        for (var i = copy.Length - 1; i > 0; i--)
        {
            var j = random.Next(i + 1);
            (copy[i], copy[j]) = (copy[j], copy[i]);
        }
        return copy;
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
            return new WorldProblem(p.Id, p.Start, p.Modulus, p.Operations.Select(o => new ChainOperation(o.Operator, o.Operand, o.Digits ?? digits, o.Position ?? 0)).ToArray(), p.Problem, p.Answer, p.ChunkedSolution, p.RawSolution, p.Chunks, digits, p.AnyOrder ?? false);
        }
        catch (Exception e) when (e is JsonException or InvalidDataException or ArgumentNullException)
        {
            throw new InvalidDataException($"not a world problem ({e.Message})", e);
        }
    });

    private sealed record JsonOperation(char Operator, int Operand, int? Digits, int? Position);

    private sealed record JsonProblem(string Id, long Start, int Modulus, JsonOperation[] Operations, string Problem, long Answer, string ChunkedSolution, string RawSolution, string[] Chunks, int? Digits, bool? AnyOrder);

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
    /// Checks chunks exactly. Each chunk before the answer must carry out one operation the problem still has to do:
    /// the next one in the problem's order, or, when the problem's options allow any order, any operation of the current
    /// run of commuting neighbours (<see cref="Runs"/>) not yet done. It is correct when its equation applies that
    /// operation to the correct running value with the correct result (and its instruction line, if any, is one of the
    /// wordings of that operation). The chunk after the last operation is correct when it states the right answer in
    /// <c>\boxed{}</c>. Missing, extra and premature chunks are wrong. This defines gold labels for evaluation only;
    /// training labels come from rollouts.
    /// </summary>
    public static StepCheck Check(WorldProblem problem, IReadOnlyList<string> chunks)
    {
        ArgumentNullException.ThrowIfNull(problem);
        ArgumentNullException.ThrowIfNull(chunks);
        var verdicts = new bool[chunks.Count];
        var operations = problem.Operations;
        // Any order is allowed exactly when the problem's own canonical solution may take one (the world's option),
        // which the runs record: without it every operation is a run of its own.
        var runs = problem.AnyOrder ? Runs(operations) : operations.Select((_, i) => new[] { i }).ToArray();
        var value = problem.Start;
        var run = 0;
        var remaining = runs.Count > 0 ? runs[0].ToList() : [];
        var answerAt = -1;
        var complete = false;
        for (var k = 0; k < chunks.Count; k++)
        {
            var isAnswer = AnswerPattern().Match(chunks[k].Trim());
            complete |= isAnswer.Success;
            if (run < runs.Count)
            {
                var chosen = isAnswer.Success ? -1 : remaining.FirstOrDefault(i => IsCorrectStep(chunks[k], value, operations[i], problem.Modulus), -1);
                verdicts[k] = chosen >= 0;
                // After a wrong chunk, the operation it names (when it is one still to do) counts as done, else the next one.
                var done = chosen >= 0 ? chosen : remaining.FirstOrDefault(i => NamesOperation(chunks[k], operations[i]), remaining[0]);
                value = operations[done].Apply(value, problem.Modulus);
                remaining.Remove(done);
                if (remaining.Count == 0 && ++run < runs.Count) remaining = runs[run].ToList();
            }
            else if (answerAt < 0)
            {
                answerAt = k;
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
        var lines = chunk.Split("\n\n", StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).ToList();
        var result = op.Apply(value, modulus);
        // A division may end with its check line; it must be the right one.
        if (op.Operator == '/' && lines.Count > 1 && lines[^1].StartsWith("Check:", StringComparison.Ordinal))
        {
            if (lines[^1] != CheckLine(op, value, result)) return false;
            lines.RemoveAt(lines.Count - 1);
        }
        if (lines.Count is 0 or > 2) return false;
        if (lines.Count == 2 && lines[0] != Explanation(op, 0) && lines[0] != Explanation(op, 1)) return false;
        return lines[^1] == op.Equation(value, result);
    }

    /// <summary>Whether the equation of <paramref name="chunk"/> (its last line) applies <paramref name="op"/>, right or wrong.</summary>
    private static bool NamesOperation(string chunk, ChainOperation op)
    {
        var line = EquationLine(chunk);
        var m = EquationPattern().Match(line);
        if (op.Operator == '=') return SetPattern().IsMatch(line);
        return m.Success && m.Groups[2].Value[0] == op.Operator && m.Groups[3].Value == op.OperandText;
    }

    /// <summary>The equation of one step as the world writes it, e.g. "7+5=3", "0482+1302=1784" or "72->42".</summary>
    public static string Equation(long value, ChainOperation op, long result)
    {
        ArgumentNullException.ThrowIfNull(op);
        return op.Equation(value, result);
    }

    /// <summary>
    /// The result a chunk's equation states (the number after "=" or "->" of its last line that is not a check line),
    /// as written (leading zeros kept), or null when that line is not an equation of this world.
    /// </summary>
    public static string? StatedResult(string chunk)
    {
        ArgumentNullException.ThrowIfNull(chunk);
        var line = EquationLine(chunk);
        var m = EquationPattern().Match(line);
        if (m.Success) return m.Groups[4].Value;
        var set = SetPattern().Match(line);
        return set.Success ? set.Groups[2].Value : null;
    }

    /// <summary>The line of a chunk that states its equation: the last one that is not a check line ("" when none).</summary>
    internal static string EquationLine(string chunk) =>
        chunk.Split("\n\n", StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).LastOrDefault(l => !l.StartsWith("Check:", StringComparison.Ordinal)) ?? "";

    /// <summary>The wording <paramref name="variant"/> (0–1) of an operation's instruction line: "Add 35." or "Now add 35.".</summary>
    private static string Explanation(ChainOperation op, int variant)
    {
        var text = op.Instruction;
        return variant == 0 ? text : "Now " + char.ToLowerInvariant(text[0]) + text[1..];
    }

    /// <summary>A division's check line: its result multiplied back gives its input ("Check: 42*7=84.").</summary>
    private static string CheckLine(ChainOperation division, long value, long result) =>
        $"Check: {ChainOperation.Render(result, division.Digits)}*{division.OperandText}={ChainOperation.Render(value, division.Digits)}.";

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
    [GeneratedRegex(@"^(\d+)([+\-*/])(\d+)=(-?\d+)$")]
    internal static partial Regex EquationPattern();

    /// <summary>A set digit's equation, "a->c": groups 1 (a), 2 (c).</summary>
    [GeneratedRegex(@"^(\d+)->(\d+)$")]
    internal static partial Regex SetPattern();

    [GeneratedRegex(@"^The answer is \\boxed\{(-?\d+)\}\.?$")]
    private static partial Regex AnswerPattern();

    [GeneratedRegex(@"\\boxed\{(-?\d+)\}")]
    private static partial Regex BoxedInteger();
}
