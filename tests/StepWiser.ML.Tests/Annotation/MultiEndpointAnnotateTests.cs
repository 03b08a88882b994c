using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using StepWiser.ML.Tests.Infrastructure;

namespace StepWiser.ML.Tests.Annotation;

/// <summary>
/// <c>annotate</c> over two policy servers (the samples app's <c>serve</c>, as processes), one killed part-way: the run
/// finishes on the other, and its values and labels are exactly those of a run against one healthy server, so no value
/// came from a request the killed server did not answer in full.
/// </summary>
[TestClass]
public sealed partial class MultiEndpointAnnotateTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(4);

    private static SamplesApp.Running Serve(out string url)
    {
        var server = SamplesApp.Start(["serve", "--model", WorldPolicyFixture.Directory, "--port", "0", "--served-model-name", "world"]);
        var line = server.WaitForLine(l => l.StartsWith("Serving", StringComparison.Ordinal), TimeSpan.FromMinutes(1));
        url = Address().Match(line).Value;
        Assert.IsFalse(string.IsNullOrEmpty(url), line);
        return server;
    }

    [GeneratedRegex(@"http://127\.0\.0\.1:\d+/v1")]
    private static partial Regex Address();

    [TestMethod]
    [TestCategory("Slow")]
    public void AServerKilledPartWayLeavesTheRunAndTheLabelsAreThoseOfOneHealthyServer()
    {
        var dir = Directory.CreateTempSubdirectory("multi-endpoint").FullName;
        try
        {
            var input = Path.Combine(dir, "in.jsonl");
            // Enough solutions that the run is far from done when the kill lands: on a loaded machine the progress line the
            // kill waits for can arrive late, and with 16 solutions the run once finished its requests before the kill.
            var problems = WorldPolicyFixture.World.Generate("multi-endpoint", 48, 4);
            File.WriteAllLines(input, problems.Select(p => new JsonObject { ["prompt"] = p.Prompt, ["solution"] = p.ChunkedSolution, ["answer"] = p.AnswerText }.ToJsonString()));
            using var healthy = Serve(out var a);
            using var doomed = Serve(out var b);
            string[] Args(string output, params string[] urls) =>
                ["annotate", "--input", input, "--output", Path.Combine(dir, output), .. urls.SelectMany(u => new[] { "--policy-url", u }), "--prompt-format", "raw",
                 "--rollouts", "4", "--max-new-tokens", "60", "--batch-size", "1", "--concurrency", "2", "--retries", "0", "--timeout", "60", "--max-consecutive-failures", "0"];

            var one = SamplesApp.Run(Args("one.jsonl", a), Limit);
            Assert.AreEqual(0, one.Code, one.Stderr);

            using var run = SamplesApp.Start(Args("two.jsonl", a, b));
            run.WaitForLine(l => l.Contains(" 2/48 solutions", StringComparison.Ordinal), Limit);
            doomed.Kill();
            Assert.AreEqual(0, run.WaitForExit(Limit), run.Stderr);
            var summary = run.WaitForLine(l => l.StartsWith("policy servers:", StringComparison.Ordinal) && l.Contains(" answered ", StringComparison.Ordinal), TimeSpan.FromSeconds(5));
            var served = Regex.Match(summary, Regex.Escape(b.TrimEnd('/')) + @"/? answered (\d+) requests");
            Assert.IsTrue(served.Success, "the summary names the killed server: " + summary);
            var servedByB = int.Parse(served.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
            Assert.IsGreaterThan(0, servedByB, "the killed server answered part of the run before it went: " + summary);
            StringAssert.Contains(summary, "then failed and left the run", summary);
            StringAssert.Contains(run.Stderr, "still in the pool", "the failure and the move are reported as they happen");

            string[] Fields(string file, string field) => File.ReadAllLines(Path.Combine(dir, file)).Select(l => JsonNode.Parse(l)![field]?.ToJsonString() ?? "missing").ToArray();
            foreach (var field in new[] { "q0", "values", "labels_AbsoluteQ", "labels_RelativeRatio", "labels_RelativeEffective" })
                CollectionAssert.AreEqual(Fields("one.jsonl", field), Fields("two.jsonl", field), $"{field}: the same as with one healthy server");
            Assert.IsTrue(Fields("two.jsonl", "labels_AbsoluteQ").All(l => l.StartsWith('[')), "every solution got its labels");
            Assert.IsGreaterThan(1, Fields("one.jsonl", "values").Distinct().Count(), "values that differ between solutions, so the comparison means something");
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
