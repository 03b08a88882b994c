using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using StepWiser.ML.Models;
using StepWiser.ML.Tests.Infrastructure;

namespace StepWiser.ML.Tests.FaultInjection;

/// <summary>
/// Inputs that used to give a result that was not one: text past the model's context, a ProcessBench record with no
/// steps or a repeated id, bytes that are not UTF-8, a lone surrogate. Each is refused before any work with exit 2
/// and one line naming the file and record; and <c>evaluate --output</c> writes null, not false, for a step the judge
/// never looked at.
/// </summary>
[TestClass]
public sealed class FalseResultTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(90);

    [TestMethod]
    public void InputsThatCannotGiveATrueResultAreRefusedNamingTheRecord()
    {
        using var w = Workspace.Create("false");
        var shortContext = BuiltInModels.Tiny with { MaxPositionEmbeddings = 128 };
        var policy = w.Checkpoint("policy", shortContext);
        var judge = w.Judge("judge");
        var good = "{\"prompt\":\"Start with 3. Add 4.\",\"chunks\":[\"Add 4.\",\"The answer is \\\\boxed{7}.\"],\"answer\":\"7\"}";
        var longSolution = w.Write("long.jsonl", good + "\n\n" + $"{{\"prompt\":\"Start with 3. Add 4.\",\"chunks\":[\"{new string('4', 200)}\",\"The answer is \\\\boxed{{7}}.\"],\"answer\":\"7\"}}\n");
        var badBytes = w.WriteBytes("badutf8.jsonl", [.. Encoding.UTF8.GetBytes("{\"prompt\":\"Start with 3"), 0xFF, .. Encoding.UTF8.GetBytes(". Add 4.\",\"chunks\":[\"a\"],\"answer\":\"7\"}\n")]);
        string Record(string id, string steps) => $"{{\"id\":\"{id}\",\"problem\":\"Start with 1. Add 2.\",\"steps\":{steps},\"label\":-1,\"final_answer_correct\":true}}";
        var noSteps = w.Write("nosteps.json", $"[{Record("r0", "[\"a\"]")},{Record("r1", "[]")}]");
        var duplicate = w.Write("dup.json", $"[{Record("r0", "[\"a\"]")},{Record("r1", "[\"b\"]")},{Record("r0", "[\"c\"]")}]");
        var surrogate = w.Write("surrogate.json", $"[{Record("r0", "[\"a\\ud800b\"]")}]");
        var longStep = w.Write("longstep.json", $"[{Record("r0", "[\"a\"]")},{Record("r1", $"[\"a\",\"{new string('5', 3000)}\"]")}]");
        var hugeStep = w.Write("hugestep.json", $"[{Record("r0", $"[\"{new string('5', 3_000_000)}\"]")}]");
        var benchmark = w.Benchmark("bench.json", 2);
        var output = w.Write("out.jsonl", "EARLIER OUTPUT\n");
        var before = w.Snapshot();
        string[] Annotate(string input) => ["annotate", "--input", input, "--output", output, "--policy", policy, "--prompt-format", "raw", "--rollouts", "2", "--max-new-tokens", "8"];
        string[] Evaluate(params string[] inputs) => ["evaluate", "--judge", judge, "--input", .. inputs, "--output", output];
        var cases = new (string[] Args, string[] Expected)[]
        {
            (Annotate(longSolution), ["long.jsonl:3", "context", "128"]),
            (Annotate(badBytes), ["badutf8.jsonl:1", "UTF-8"]),
            (Evaluate(noSteps), ["nosteps.json", "record 1", "steps"]),
            (Evaluate(duplicate), ["dup.json", "record 2", "\"r0\""]),
            (Evaluate(benchmark, benchmark), ["bench.json", "\"r0\""]),
            (Evaluate(surrogate), ["surrogate.json", "record 0"]),
            (Evaluate(longStep), ["longstep.json", "\"r1\"", "context"]),
            (Evaluate(hugeStep), ["hugestep.json", "\"r0\"", "context"]),
        };
        var failures = new ConcurrentBag<string>();
        Parallel.ForEach(cases, new ParallelOptions { MaxDegreeOfParallelism = 2 }, c =>
        {
            var clock = Stopwatch.StartNew();
            try { Workspace.ExpectFailure(c.Args, 2, Limit, c.Expected); }
            catch (AssertFailedException e) { failures.Add(e.Message.Replace(w.Root, "…", StringComparison.Ordinal)); }
            if (clock.Elapsed > TimeSpan.FromSeconds(45)) failures.Add($"{c.Args[0]} {c.Args[^3]}: took {clock.Elapsed.TotalSeconds:F0} s");
        });
        Assert.IsEmpty(failures, $"{failures.Count} of {cases.Length} cases failed:\n" + string.Join("\n", failures.Order()));
        Assert.IsEmpty(w.AssertUnchanged(before, "refused inputs"), "nothing was created");
    }

    [TestMethod]
    public void EvaluateOutputMarksStepsTheJudgeNeverLookedAtAsNull()
    {
        using var w = Workspace.Create("unjudged");
        var judge = w.Judge("judge");
        var benchmark = w.Benchmark("bench.json", 4);
        var output = w.PathOf("predictions.jsonl");
        var (code, _, stderr) = SamplesApp.Run(["evaluate", "--judge", judge, "--input", benchmark, "--output", output], Limit);
        Assert.AreEqual(0, code, stderr);
        var unjudged = 0;
        foreach (var line in File.ReadAllLines(output))
        {
            var record = JsonNode.Parse(line)!.AsObject();
            var predicted = record["predicted"]!.GetValue<int>();
            var verdicts = record["verdicts"]!.AsArray();
            Assert.HasCount(3, verdicts, line);
            for (var k = 0; k < verdicts.Count; k++)
            {
                var judged = predicted < 0 || k <= predicted;
                Assert.AreEqual(judged, verdicts[k] is not null, $"step {k}: {line}");
                if (k == predicted) Assert.IsFalse(verdicts[k]!.GetValue<bool>(), line);
                if (!judged) unjudged++;
            }
        }
        Assert.IsGreaterThan(0, unjudged, "the random judge rejects early, so some steps were never judged");
    }
}
