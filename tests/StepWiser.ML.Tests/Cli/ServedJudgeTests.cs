using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using StepWiser.ML.Evaluation;
using StepWiser.ML.Generation;
using StepWiser.ML.Judging;
using StepWiser.ML.Models;
using StepWiser.ML.Serving;
using StepWiser.ML.Tests.Infrastructure;
using StepWiser.ML.Tokenization;

namespace StepWiser.ML.Tests.Cli;

/// <summary>
/// A judge served over the OpenAI-compatible API: a saved judge's template and settings run on any generator, a Llama 3
/// chat judge loads by its template's name, and <c>evaluate --judge-url</c> gives what the same judge gives locally,
/// with Maj@k sent to the server as <c>n</c>.
/// </summary>
[TestClass]
public sealed class ServedJudgeTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(2);

    /// <summary>A small judge taught in seconds to call a step with "ok" in it Positive and one with "bad" Negative, saved to <paramref name="dir"/>.</summary>
    private static void TrainJudge(string dir)
    {
        var model = CausalLM.CreateRandom(BuiltInModels.Tiny, seed: 7);
        var tokenizer = BuiltInTokenizer.Create();
        var random = new Random(5);
        var examples = Enumerable.Range(0, 128).Select(i =>
        {
            var history = Enumerable.Range(1, i % 3).Select(k => $"Step {k} ok.").ToArray();
            var good = random.Next(2) == 0;
            return new JudgeExample(new JudgeInput($"Start with {i}.", history, $"Step {history.Length + 1} {(good ? "ok" : "bad")}."), good);
        }).ToArray();
        JudgeRecipe.WarmUp(model, tokenizer, JudgeTemplate.Compact, examples, analysis: null, new JudgeRecipeOptions { WarmupSteps = 120, BatchSize = 16, WarmupLearningRate = 3e-3 });
        using var judge = new StepwiseJudgeTransformer(ModelBundle.BuiltIn(model), JudgeTemplate.Compact, new StepwiseJudgeOptions { MaxNewTokens = 24, BatchSize = 4 });
        judge.Save(dir);
    }

    private static string Benchmark(string dir) => WriteBenchmark(Path.Combine(dir, "bench.json"), Enumerable.Range(0, 8).Select(i => new ProcessBenchRecord
    {
        Id = $"r{i}", Subset = "gsm8k", Problem = $"Start with {i}.", Steps = ["Step 1 ok.", i % 3 == 0 ? "Step 2 bad." : "Step 2 ok.", "Step 3 ok."], Label = i % 3 == 0 ? 1 : -1,
    }));

    private static string WriteBenchmark(string path, IEnumerable<ProcessBenchRecord> records)
    {
        ProcessBench.Write(path, records);
        return path;
    }

    [TestMethod]
    [TestCategory("Slow")]
    public void ASavedJudgeRunByAGeneratorUsesItsManifestAndAChatJudgeLoadsByItsTemplatesName()
    {
        var dir = Directory.CreateTempSubdirectory("judge-generator").FullName;
        try
        {
            var saved = Path.Combine(dir, "judge");
            TrainJudge(saved);
            using var local = StepwiseJudgeTransformer.Load(saved);
            using var bundle = ModelBundle.Load(saved);
            using var remote = StepwiseJudgeTransformer.Load(saved, new LocalTextGenerator(bundle), configure: o => o with { Votes = 3 });
            Assert.AreEqual("compact", remote.Judge.Template.Name);
            Assert.AreEqual(24, remote.Judge.Options.MaxNewTokens, "the saved settings");
            Assert.AreEqual(3, remote.Judge.Options.Votes, "then configure");
            Assert.IsNull(remote.Model, "no weights are loaded");
            JudgeInput[] inputs = [new("Start with 4.", [], "Step 4 ok."), new("Start with 5.", [], "Step 5 bad.")];
            var greedy = StepwiseJudgeTransformer.Load(saved, new LocalTextGenerator(bundle));
            CollectionAssert.AreEqual(local.Judge.JudgeStepsAsync(inputs).Result.Select(v => v.Rationale).ToArray(), greedy.Judge.JudgeStepsAsync(inputs).Result.Select(v => v.Rationale).ToArray());

            // A judge whose template is a Llama 3 chat template (not among the built-in names) loads from its own folder.
            var llama = Path.Combine(dir, "llama-judge");
            using (var chatJudge = new StepwiseJudgeTransformer(new ModelBundle(CausalLM.CreateRandom(BuiltInModels.Tiny, seed: 1), BuiltInTokenizer.ToJson(), ChatTemplate.Llama31),
                       JudgeTemplate.Chat(ChatTemplate.Llama31)))
                chatJudge.Save(llama);
            using var loaded = StepwiseJudgeTransformer.Load(llama);
            Assert.AreEqual("chat-Llama3", loaded.Judge.Template.Name);
            var input = new JudgeInput("p", [], "c");
            Assert.AreEqual(JudgeTemplate.Chat(ChatTemplate.Llama31).Render(input), loaded.Judge.Template.Render(input), "the folder's own template, with its dated system turn");
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [TestMethod]
    [TestCategory("Slow")]
    public async Task EvaluateWithAJudgeUrlGivesTheLocalJudgesPredictionsAndSendsVotesAsN()
    {
        var dir = Directory.CreateTempSubdirectory("evaluate-url").FullName;
        try
        {
            var judge = Path.Combine(dir, "judge");
            TrainJudge(judge);
            var bench = Benchmark(dir);
            using var bundle = ModelBundle.Load(judge);
            var counts = new ConcurrentBag<int>();
            var app = OpenAICompatibleServer.Build(new LocalTextGenerator(bundle), ChatTemplate.ChatML, new OpenAIServerOptions { Url = "http://127.0.0.1:0", ModelName = "my-judge" },
                a => a.Use(async (context, next) =>
                {
                    if (context.Request.Path.StartsWithSegments("/v1/completions"))
                    {
                        context.Request.EnableBuffering();
                        var body = JsonNode.Parse(await new StreamReader(context.Request.Body).ReadToEndAsync());
                        context.Request.Body.Position = 0;
                        counts.Add(body?["n"]?.GetValue<int>() ?? 1);
                    }
                    await next(context);
                }));
            await app.StartAsync();
            try
            {
                var url = OpenAICompatibleServer.Addresses(app)[0] + "/v1";
                string[] Predictions(string file) => File.ReadAllLines(Path.Combine(dir, file)).Select(l => { var o = JsonNode.Parse(l)!; return $"{o["predicted"]}:{o["verdicts"]!.ToJsonString()}"; }).ToArray();
                var local = SamplesApp.Run(["evaluate", "--judge", judge, "--input", bench, "--output", Path.Combine(dir, "local.jsonl")], Limit);
                Assert.AreEqual(0, local.Code, local.Stderr);
                var served = SamplesApp.Run(["evaluate", "--judge-url", url, "--judge", judge, "--input", bench, "--output", Path.Combine(dir, "served.jsonl"), "--retries", "0"], Limit);
                Assert.AreEqual(0, served.Code, served.Stderr);
                StringAssert.Contains(served.Stderr, "'my-judge' served at");
                CollectionAssert.AreEqual(Predictions("local.jsonl"), Predictions("served.jsonl"), "the served judge judges as the local one");
                Assert.IsGreaterThan(1, Predictions("local.jsonl").Distinct().Count(), "the judge tells steps apart, so the comparison means something: " + string.Join(" ", Predictions("local.jsonl")));
                Assert.AreEqual(local.Stdout, served.Stdout, "the same ProcessBench table");
                Assert.IsTrue(counts.All(n => n == 1));

                counts.Clear();
                var voted = SamplesApp.Run(["evaluate", "--judge-url", url, "--template", "compact", "--votes", "3", "--judge-max-new-tokens", "24", "--input", bench, "--limit", "2"], Limit);
                Assert.AreEqual(0, voted.Code, voted.Stderr);
                Assert.IsNotEmpty(counts);
                Assert.IsTrue(counts.All(n => n == 3), "Maj@3 reaches the server as n = 3: " + string.Join(",", counts));

                await app.StopAsync();
                var down = SamplesApp.Run(["evaluate", "--judge-url", url, "--judge", judge, "--input", bench, "--output", Path.Combine(dir, "down.jsonl"), "--retries", "0"], Limit);
                Assert.AreEqual(4, down.Code, down.Stderr);
                StringAssert.Contains(down.Stderr, "error: ");
                Assert.IsFalse(File.Exists(Path.Combine(dir, "down.jsonl")), "no result from a judge that did not answer");
            }
            finally
            {
                await app.DisposeAsync();
            }
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
