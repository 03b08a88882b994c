using System.Text.Json.Nodes;
using Microsoft.ML;
using StepWiser.ML.AnswerChecking;
using StepWiser.ML.Generation;
using StepWiser.ML.Judging;
using StepWiser.ML.Models;
using StepWiser.ML.Search;
using StepWiser.ML.Selection;
using StepWiser.ML.Serving;
using StepWiser.ML.Tests.FaultInjection;
using StepWiser.ML.Tests.Infrastructure;
using StepWiser.ML.Tokenization;

namespace StepWiser.ML.Tests.Cli;

/// <summary>
/// The <c>search</c> and <c>select</c> commands on the built-in world's policy and a saved judge: what they write is what
/// the library's <see cref="ChunkResetSearch"/> and <see cref="JudgeDataSelection"/> compute with the same models and
/// options, and the same again when policy and judge are served over the OpenAI-compatible API.
/// </summary>
[TestClass]
public sealed class SearchAndSelectCommandTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(3);

    [TestMethod]
    [TestCategory("Slow")]
    public async Task SearchAndSelectWriteWhatTheLibraryComputesLocallyAndOverServers()
    {
        using var w = Workspace.Create("search-select");
        var judgeDir = w.Judge("judge", maxNewTokens: 6);
        var problems = WorldPolicyFixture.World.Generate("search-cli", 5, 3);
        var input = w.Write("problems.jsonl", string.Join("\n", problems.Select((p, i) => new JsonObject { ["id"] = i, ["prompt"] = p.Prompt, ["answer"] = p.AnswerText }.ToJsonString())) + "\n");
        string[] searchOptions = ["--prompt-format", "raw", "--max-tries", "2", "--max-chunks", "6", "--chunk-max-new-tokens", "40", "--seed", "3"];
        string[] selectOptions = ["--prompt-format", "raw", "--samples", "3", "--max-new-tokens", "120", "--seed", "3"];

        JsonObject[] Run(string command, string output, params string[] more)
        {
            var (code, stdout, stderr) = SamplesApp.Run([command, "--input", input, "--output", w.PathOf(output), .. more], Limit);
            Assert.AreEqual(0, code, stderr);
            StringAssert.Contains(stdout, command == "search" ? "searched 5 problems" : "of 5 problems");
            return File.ReadAllLines(w.PathOf(output)).Select(l => JsonNode.Parse(l)!.AsObject()).ToArray();
        }
        var searched = Run("search", "searched.jsonl", ["--policy", WorldPolicyFixture.Directory, "--judge", judgeDir, .. searchOptions]);
        var alone = Run("search", "alone.jsonl", ["--policy", WorldPolicyFixture.Directory, "--policy-alone", .. searchOptions]);
        var selected = Run("select", "selected.jsonl", ["--policy", WorldPolicyFixture.Directory, "--judge", judgeDir, .. selectOptions]);

        // The library with the same models and options.
        var ml = new MLContext();
        using var policy = ModelBundle.Load(WorldPolicyFixture.Directory);
        using var judge = StepwiseJudgeTransformer.Load(judgeDir);
        var rows = ml.Data.LoadFromEnumerable(problems.Select(p => new Row { Prompt = p.Prompt, Problem = p.Prompt, Answer = p.AnswerText }));
        var options = new ChunkResetOptions { MaxTries = 2, MaxChunks = 6, ChunkMaxNewTokens = 40, Seed = 3 };
        var expected = ml.Data.CreateEnumerable<SearchRow>(ml.StepWiser().Search.ChunkReset(new LocalTextGenerator(policy), judge.Judge, options).Fit(rows).Transform(rows), false).ToArray();
        var verifier = new MathAnswerVerifier();
        for (var i = 0; i < problems.Count; i++)
        {
            Assert.AreEqual(i, searched[i]["id"]!.GetValue<int>(), "the input's fields are kept, in order");
            Assert.AreEqual(expected[i].SearchedSolution, searched[i]["solution"]!.GetValue<string>(), $"problem {i}");
            Assert.AreEqual(expected[i].RejectedTokens, searched[i]["rejected_tokens"]!.GetValue<int>());
            Assert.AreEqual(expected[i].JudgeCalls, searched[i]["judge_calls"]!.GetValue<int>());
            Assert.AreEqual(verifier.Verify(expected[i].SearchedSolution, problems[i].AnswerText).IsCorrect, searched[i]["correct"]!.GetValue<bool>());
            Assert.AreEqual(0, alone[i]["judge_calls"]!.GetValue<int>(), "the policy alone calls no judge");
        }
        Assert.IsGreaterThan(0, searched.Sum(s => s["judge_calls"]!.GetValue<int>()));
        Assert.IsGreaterThan(0, searched.Sum(s => s["resets"]!.GetValue<int>()), "this judge rejects chunks, so the search resets");
        var selection = new JudgeDataSelectionOptions { Sampling = new SamplingOptions { NumSamples = 3, MaxNewTokens = 120, Temperature = 1, Seed = 3 }, Seed = 3 };
        var picked = ml.Data.CreateEnumerable<SelectionRow>(ml.StepWiser().Selection.ByJudge(new LocalTextGenerator(policy), judge.Judge, verifier, selection).Fit(rows).Transform(rows), false).ToArray();
        for (var i = 0; i < problems.Count; i++)
        {
            Assert.AreEqual(picked[i].CorrectCount, selected[i]["correct_count"]!.GetValue<int>(), $"problem {i}");
            CollectionAssert.AreEqual(picked[i].CorrectSolutions, selected[i]["correct_solutions"]!.AsArray().Select(s => s!.GetValue<string>()).ToArray());
            Assert.AreEqual(picked[i].CorrectCount == 0 ? null : picked[i].JudgeSelected, selected[i]["judge_selected"]?.GetValue<string>());
        }
        Assert.IsGreaterThan(0, picked.Sum(p => p.CorrectCount), "some samples are right, so there is something to select");

        // Policy and judge served: the same output.
        var policyServer = OpenAICompatibleServer.Build(new LocalTextGenerator(policy), ChatTemplate.ChatML, new OpenAIServerOptions { Url = "http://127.0.0.1:0", ModelName = "world" });
        using var judgeBundle = ModelBundle.Load(judgeDir);
        var judgeServer = OpenAICompatibleServer.Build(new LocalTextGenerator(judgeBundle), ChatTemplate.ChatML, new OpenAIServerOptions { Url = "http://127.0.0.1:0", ModelName = "judge" });
        await policyServer.StartAsync();
        await judgeServer.StartAsync();
        try
        {
            string[] remote = ["--policy-url", OpenAICompatibleServer.Addresses(policyServer)[0] + "/v1", "--judge-url", OpenAICompatibleServer.Addresses(judgeServer)[0] + "/v1", "--judge", judgeDir, "--retries", "0"];
            var searchedRemotely = Run("search", "searched-remote.jsonl", [.. remote, .. searchOptions]);
            var selectedRemotely = Run("select", "selected-remote.jsonl", [.. remote, .. selectOptions]);
            for (var i = 0; i < problems.Count; i++)
            {
                Assert.AreEqual(searched[i]["solution"]!.GetValue<string>(), searchedRemotely[i]["solution"]!.GetValue<string>(), $"problem {i}");
                Assert.AreEqual(selected[i]["correct_solutions"]!.ToJsonString(), selectedRemotely[i]["correct_solutions"]!.ToJsonString(), $"problem {i}");
            }
        }
        finally
        {
            await policyServer.StopAsync();
            await judgeServer.StopAsync();
            await policyServer.DisposeAsync();
            await judgeServer.DisposeAsync();
        }
    }

    private sealed class Row
    {
        public string Prompt { get; set; } = "";
        public string Problem { get; set; } = "";
        public string Answer { get; set; } = "";
    }
}
