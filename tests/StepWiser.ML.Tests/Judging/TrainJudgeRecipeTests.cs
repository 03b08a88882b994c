using System.CommandLine;
using System.Text.Json.Nodes;
using StepWiser.ML.Judging;
using StepWiser.ML.Models;
using StepWiser.ML.Samples.Commands;
using StepWiser.ML.Tests.FaultInjection;
using StepWiser.ML.Tests.Infrastructure;

namespace StepWiser.ML.Tests.Judging;

/// <summary>
/// <c>train-judge</c> runs the judge recipe: the steps of each solution up to its first negative one, a verdict warm-up
/// on them (or with the base's own re-derivation as the analysis), then GRPO; the defaults are the paper's settings; a
/// run with checkpoints keeps its warm-up, so a rerun resumes from it, and refuses a warm-up of other settings.
/// </summary>
[TestClass]
public sealed class TrainJudgeRecipeTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(4);

    /// <summary>
    /// Solutions whose steps say "ok" until one says "bad" (labelled negative) and, in some, further steps after it:
    /// what a judge must learn is in the chunk's last word.
    /// </summary>
    private static (string Path, int All, int UpToFirstNegative) Labels(Workspace w)
    {
        var random = new Random(1);
        var lines = new List<string>();
        int all = 0, selected = 0;
        for (var i = 0; i < 48; i++)
        {
            var count = random.Next(1, 5);
            int? bad = random.Next(3) == 0 ? null : random.Next(count);
            var chunks = Enumerable.Range(0, count).Select(k => $"Step {k + 1} {(bad is { } b && k >= b ? "bad" : "ok")}.").ToArray();
            all += count;
            selected += bad is { } first ? first + 1 : count;
            lines.Add(new JsonObject
            {
                ["prompt"] = $"Start with {i}.", ["completions"] = new JsonArray(chunks.Select(c => (JsonNode)c).ToArray()),
                ["labels"] = new JsonArray(chunks.Select(c => (JsonNode)c.EndsWith("ok.", StringComparison.Ordinal)).ToArray()),
            }.ToJsonString());
        }
        return (w.Write("labels.jsonl", string.Join("\n", lines) + "\n"), all, selected);
    }

    private static string[] Small(int warmupSteps, string warmupLr = "3e-3", int maxNewTokens = 24, params string[] more) =>
        ["--steps", "2", "--prompts-per-step", "4", "--group-size", "2", "--mini-batch", "8", "--max-new-tokens", $"{maxNewTokens}", "--lr", "1e-5", "--warmup-lr", warmupLr,
         "--warmup-batch-size", "16", "--warmup-steps", $"{warmupSteps}", .. more];

    /// <summary>Held-out steps the judge gives a verdict a parser can read.</summary>
    private static int Parseable(string judgeDir)
    {
        using var judge = StepwiseJudgeTransformer.Load(judgeDir);
        JudgeInput[] held = [new("Start with 100.", [], "Step 1 ok."), new("Start with 101.", ["Step 1 ok."], "Step 2 bad."), new("Start with 102.", ["Step 1 ok."], "Step 2 ok."), new("Start with 103.", [], "Step 1 bad.")];
        return judge.Judge.JudgeStepsAsync(held).GetAwaiter().GetResult().Count(v => v.Unparseable == 0);
    }

    [TestMethod]
    [TestCategory("Slow")]
    public void TrainJudgeSelectsStepsUpToTheFirstNegativeWarmsUpTheVerdictThenRunsGrpo()
    {
        using var w = Workspace.Create("train-recipe");
        var policy = w.Checkpoint("base");
        var (labels, all, selected) = Labels(w);
        Assert.IsLessThan(all, selected, "some solutions go on after their first negative step");

        var (code, stdout, stderr) = SamplesApp.Run(["train-judge", "--input", labels, "--base", policy, "--output", w.PathOf("judge"), .. Small(60)], Limit);
        Assert.AreEqual(0, code, stderr);
        StringAssert.Contains(stdout, $"{selected} labelled steps (up-to-first-negative, of {all})");
        StringAssert.Contains(stdout, "warm-up step 60/60");
        StringAssert.Contains(stdout, "step 2/2: reward");
        var manifest = JsonNode.Parse(File.ReadAllText(w.PathOf("judge", "stepwiser-judge.json")))!["Metadata"]!;
        Assert.AreEqual("up-to-first-negative", manifest["step_selection"]!.GetValue<string>());
        Assert.AreEqual("60", manifest["warmup_steps"]!.GetValue<string>());
        Assert.AreEqual("grpo", manifest["trainer"]!.GetValue<string>());
        Assert.AreEqual(selected.ToString(System.Globalization.CultureInfo.InvariantCulture), manifest["training_examples"]!.GetValue<string>());
        Assert.AreEqual(4, Parseable(w.PathOf("judge")), "the warm-up taught the verdict format: every held-out step gets one");

        // Without the warm-up the same random base writes no verdict a parser can read.
        (code, stdout, stderr) = SamplesApp.Run(["train-judge", "--input", labels, "--base", policy, "--output", w.PathOf("judge-cold"), .. Small(0, more: ["--step-selection", "all"])], Limit);
        Assert.AreEqual(0, code, stderr);
        StringAssert.Contains(stdout, $"{all} labelled steps (all, of {all})");
        Assert.DoesNotContain("warm-up step", stdout);
        Assert.AreEqual(0, Parseable(w.PathOf("judge-cold")));
    }

    [TestMethod]
    [TestCategory("Slow")]
    public void ARunWithCheckpointsKeepsItsWarmUpResumesFromItAndRefusesOneOfOtherSettings()
    {
        using var w = Workspace.Create("train-resume");
        var policy = w.Checkpoint("base");
        var (labels, _, _) = Labels(w);
        string[] Args(string output, string warmupLr = "3e-3") =>
            ["train-judge", "--input", labels, "--base", policy, "--output", w.PathOf(output), "--checkpoints", w.PathOf("ckpt"), .. Small(20, warmupLr)];
        var first = SamplesApp.Run(Args("a"), Limit);
        Assert.AreEqual(0, first.Code, first.Stderr);
        Assert.IsTrue(File.Exists(w.PathOf("ckpt", "warmup", "model.safetensors")), "the warmed-up judge is kept");
        var second = SamplesApp.Run(Args("b"), Limit);
        Assert.AreEqual(0, second.Code, second.Stderr);
        StringAssert.Contains(second.Stderr, "warm-up: taken from");
        Assert.DoesNotContain("warm-up step", second.Stdout);
        CollectionAssert.AreEqual(File.ReadAllBytes(w.PathOf("a", "model.safetensors")), File.ReadAllBytes(w.PathOf("b", "model.safetensors")), "the resumed run ends where the first did");

        var refused = SamplesApp.Run(Args("c", warmupLr: "1e-3"), Limit);
        Assert.AreEqual(2, refused.Code, refused.Stderr);
        StringAssert.Contains(refused.Stderr, "holds a warm-up made with other settings (learning_rate");
        Assert.IsFalse(Directory.Exists(w.PathOf("c")));
    }

    [TestMethod]
    [TestCategory("Slow")]
    public void TheAnalysisCanBeTheBasesOwnRederivationAndTheJudgeTrainsInBf16()
    {
        using var w = Workspace.Create("train-analysis");
        var problems = WorldPolicyFixture.World.Generate("train-analysis", 12, 2);
        var labels = w.Write("labels.jsonl", string.Join("\n", problems.Select((p, i) => new JsonObject
        {
            ["prompt"] = p.Prompt, ["completions"] = new JsonArray(p.Chunks.Select(c => (JsonNode)c).ToArray()),
            ["labels"] = new JsonArray(p.Chunks.Select((_, k) => (JsonNode)(k != 1 || i % 2 == 0)).ToArray()),
        }.ToJsonString())) + "\n");
        var (code, stdout, stderr) = SamplesApp.Run(["train-judge", "--input", labels, "--base", WorldPolicyFixture.Directory, "--output", w.PathOf("judge"),
            "--analysis", "rederivation", "--prompt-format", "raw", "--dtype", "bf16", .. Small(40, maxNewTokens: 160)], Limit);
        Assert.AreEqual(0, code, stderr);
        StringAssert.Contains(stderr, "base loaded on cpu in BFloat16");
        StringAssert.Contains(stderr, "the base re-derives");
        Assert.AreEqual("bfloat16", JsonNode.Parse(File.ReadAllText(w.PathOf("judge", "config.json")))!["torch_dtype"]!.GetValue<string>(), "trained and saved in bf16");
        using var judge = StepwiseJudgeTransformer.Load(w.PathOf("judge"));
        var first = problems[0];
        var verdict = judge.Judge.JudgeStepsAsync([new JudgeInput(first.Prompt, [], first.Chunks[0])]).GetAwaiter().GetResult()[0];
        StringAssert.StartsWith(verdict.Rationale.TrimStart(), "Expected:", "the judge writes the re-derivation it was warmed up on: " + verdict.Rationale);
    }

    [TestMethod]
    public void TheDefaultsAreThePapersSettings()
    {
        var options = new TrainJudgeOptions();
        var command = new Command("train-judge");
        foreach (var option in options.All) command.Options.Add(option);
        var recipe = options.Check(command.Parse(["--input", "x", "--base", "y", "--output", "z"]));
        Assert.AreEqual(StepSelection.UpToFirstNegative, recipe.StepSelection);
        Assert.AreEqual(1e-6, recipe.Grpo.LearningRate);
        Assert.AreEqual(4, recipe.Grpo.GroupSize);
        Assert.AreEqual(1024, recipe.Grpo.PromptsPerStep);
        Assert.AreEqual(256, recipe.Grpo.MiniBatchSize);
        Assert.AreEqual(800, recipe.Grpo.Steps);
        Assert.AreEqual(0.2, recipe.Grpo.ClipLow);
        Assert.AreEqual(0.28, recipe.Grpo.ClipHigh);
        Assert.AreEqual(0, recipe.Grpo.KlCoefficient);
        Assert.IsTrue(recipe.Grpo.BalancePrompts && recipe.Balance, "balanced, as the paper found essential");
        Assert.IsGreaterThan(0, recipe.WarmupSteps, "the warm-up runs by default");
        var help = string.Join("\n", options.All.Select(o => o.Description));
        foreach (var said in new[] { "the paper: 1e-6", "the paper: 4", "the paper: 1024", "the paper: 0.2", "the paper: 0.28", "the paper: 800" })
            StringAssert.Contains(help, said, "--help says where each default comes from");
    }
}
