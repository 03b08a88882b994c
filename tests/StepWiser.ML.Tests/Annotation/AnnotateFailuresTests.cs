using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using StepWiser.ML.Serving;
using StepWiser.ML.Tests.Infrastructure;
using StepWiser.ML.Tokenization;

namespace StepWiser.ML.Tests.Annotation;

/// <summary>
/// <c>annotate</c> against a policy server that fails: a failed rollout never becomes a label, the run says why and
/// exits non-zero, and a rerun against a working server completes from the store.
/// </summary>
[TestClass]
public sealed class AnnotateFailuresTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(4);
    [TestMethod]
    public async Task AFailingServerGivesNoLabelForAStepWithoutAValueAndARerunCompletesFromTheStore()
    {
        var dir = Directory.CreateTempSubdirectory("annotate-fail").FullName;
        var mode = "subtract"; // "subtract": requests with "Subtract" fail; "all": every completion fails; "none": all work
        var app = OpenAICompatibleServer.Build(WorldPolicyFixture.Engine(), ChatTemplate.ChatML, new OpenAIServerOptions { Url = "http://127.0.0.1:0", ModelName = "world" },
            a => a.Use(async (context, next) =>
            {
                if (context.Request.Path.StartsWithSegments("/v1/completions") && mode != "none")
                {
                    context.Request.EnableBuffering();
                    var body = await new StreamReader(context.Request.Body).ReadToEndAsync();
                    context.Request.Body.Position = 0;
                    if (mode == "all" || body.Contains("Subtract", StringComparison.Ordinal))
                    {
                        context.Response.StatusCode = 500;
                        await context.Response.WriteAsync("injected failure");
                        return;
                    }
                }
                await next(context);
            }));
        await app.StartAsync();
        try
        {
            var url = OpenAICompatibleServer.Addresses(app)[0] + "/v1";
            var input = Path.Combine(dir, "in.jsonl");
            var problems = WorldPolicyFixture.World.Generate("annotate-fail", 10, 3);
            File.WriteAllLines(input, problems.Select(p => new JsonObject { ["prompt"] = p.Prompt, ["solution"] = p.ChunkedSolution, ["answer"] = p.AnswerText }.ToJsonString()));
            Assert.IsTrue(problems.Any(p => p.Prompt.Contains("Subtract", StringComparison.Ordinal)) && problems.Any(p => !p.Prompt.Contains("Subtract", StringComparison.Ordinal)), "both kinds of rows");
            string[] Args(string output, string trl) =>
                ["annotate", "--input", input, "--output", output, "--trl", trl, "--policy-url", url, "--policy-model", "world", "--prompt-format", "raw", "--store", Path.Combine(dir, "store"),
                 "--rollouts", "4", "--max-new-tokens", "80", "--batch-size", "2", "--retries", "0", "--max-consecutive-failures", "0"];

            // 1. Some requests fail: exit 3, the reason printed, null labels for the failed rows, none in the TRL file.
            var (code, stdout, stderr) = SamplesApp.Run(Args(Path.Combine(dir, "a.jsonl"), Path.Combine(dir, "a.trl.jsonl")), Limit);
            Assert.AreEqual(3, code, stderr);
            StringAssert.Contains(stderr, "first failure");
            StringAssert.Contains(stderr, "500");
            Assert.DoesNotContain("   at ", stderr);
            var rows = File.ReadAllLines(Path.Combine(dir, "a.jsonl")).Select(l => JsonNode.Parse(l)!.AsObject()).ToArray();
            Assert.HasCount(problems.Count, rows);
            foreach (var row in rows)
            {
                var failed = row["prompt"]!.GetValue<string>().Contains("Subtract", StringComparison.Ordinal);
                Assert.AreEqual(failed, row["labels_AbsoluteQ"] is null, row.ToJsonString());
                Assert.AreEqual(failed, row["labels_RelativeRatio"] is null, row.ToJsonString());
                if (failed) Assert.IsTrue(row["values"]!.AsArray().Take(row["values"]!.AsArray().Count - 1).All(v => v is null), "no value was made up: " + row.ToJsonString());
            }
            var trl = File.ReadAllLines(Path.Combine(dir, "a.trl.jsonl"));
            Assert.HasCount(problems.Count(p => !p.Prompt.Contains("Subtract", StringComparison.Ordinal)), trl);
            Assert.IsFalse(trl.Any(l => l.Contains("Subtract", StringComparison.Ordinal)));

            // 2. The server is down: the run stops with the reason (exit 4) and writes nothing over the earlier output.
            mode = "all";
            var before = File.ReadAllText(Path.Combine(dir, "a.jsonl"));
            var down = Args(Path.Combine(dir, "a.jsonl"), Path.Combine(dir, "a.trl.jsonl")).ToList();
            down[^1] = "3";
            (code, _, stderr) = SamplesApp.Run([.. down, "--seed", "9"], Limit);   // another seed: nothing in the store, every prefix asks the server
            Assert.AreEqual(4, code, stderr);
            StringAssert.Contains(stderr, "in a row");
            Assert.AreEqual(1, stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries).Count(l => l.StartsWith("error:", StringComparison.Ordinal)), stderr);
            Assert.AreEqual(before, File.ReadAllText(Path.Combine(dir, "a.jsonl")), "the earlier output is untouched");

            // 3. The server works again: the rerun completes, taking the finished prefixes from the store.
            mode = "none";
            (code, stdout, stderr) = SamplesApp.Run(Args(Path.Combine(dir, "b.jsonl"), Path.Combine(dir, "b.trl.jsonl")), Limit);
            Assert.AreEqual(0, code, stderr);
            Assert.IsTrue(File.ReadAllLines(Path.Combine(dir, "b.jsonl")).All(l => JsonNode.Parse(l)!["labels_AbsoluteQ"] is JsonArray), "every row labelled");
            Assert.HasCount(problems.Count, File.ReadAllLines(Path.Combine(dir, "b.trl.jsonl")));
            Assert.DoesNotContain(" 0 prefixes from the store", stdout, stdout);
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
            Directory.Delete(dir, recursive: true);
        }
    }
}
