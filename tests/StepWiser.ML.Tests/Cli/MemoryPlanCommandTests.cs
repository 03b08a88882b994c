using System.Text.RegularExpressions;
using StepWiser.ML.Models;
using StepWiser.ML.Tests.Infrastructure;
using StepWiser.ML.Tokenization;

namespace StepWiser.ML.Tests.Cli;

/// <summary>
/// The <c>plan</c> command prints a model's memory plan from its config alone; <c>train-judge</c> checks the plan before
/// it loads the model, refuses a run over <c>--memory</c> in one line naming the largest part and the micro-batch that
/// would fit (exit 2, nothing written), and with <c>--micro-batch auto</c> trains with that micro-batch.
/// </summary>
[TestClass]
public sealed partial class MemoryPlanCommandTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(3);

    [TestMethod]
    public void PlanPrintsThePartsOfARealModelFromItsConfigAlone()
    {
        var config = Repository.PathOf("docs", "examples", "configs", "qwen2.5-7b-instruct.json");
        var (code, stdout, stderr) = SamplesApp.Run(["plan", "--model", config, "--micro-batch", "2", "--optimizer", "split", "--checkpointing", "--memory", "75"], Timeout);
        Assert.AreEqual(0, code, stderr);
        StringAssert.Contains(stdout, "7,615,616,512 parameters");
        foreach (var part in new[] { "| weights |", "| gradients |", "| optimizer state |", "| master weights |", "| activations |", "| KV cache |", "predicted peak:" })
            StringAssert.Contains(stdout, part);
        StringAssert.Matches(stdout, new Regex(@"in 75 GiB: (fits|does not fit); the largest micro-batch that fits \(at most 256\): (none|\d+)"));
    }

    [TestMethod]
    [DataRow("--micro-batch", "0", "--micro-batch must be at least 1")]
    [DataRow("--task", "pretrain", "--task: unknown 'pretrain'")]
    [DataRow("--optimizer", "sgd", "--optimizer: unknown 'sgd'")]
    [DataRow("--dtype", "int8", "--dtype: unknown type 'int8'")]
    [DataRow("--memory", "-4", "--memory must be greater than 0")]
    public void PlanRefusesBadOptionsInOneLine(string option, string value, string expected)
    {
        var config = Repository.PathOf("docs", "examples", "configs", "qwen3-1.7b.json");
        var (code, stdout, stderr) = SamplesApp.Run(["plan", "--model", config, option, value], Timeout);
        Assert.AreEqual(2, code, stdout + stderr);
        Assert.AreEqual(1, stderr.Trim().Split('\n').Length, stderr);
        StringAssert.Contains(stderr, expected);
    }

    [TestMethod]
    public void PlanRefusesAMissingModelInOneLine()
    {
        var missing = Path.Combine(Path.GetTempPath(), $"no-such-model-{Guid.NewGuid():N}");
        var (code, _, stderr) = SamplesApp.Run(["plan", "--model", missing], Timeout);
        Assert.AreEqual(2, code);
        StringAssert.Contains(stderr, "no such file or folder");
    }

    [TestMethod]
    public void PlanRefusesAConfigWhoseSizesOverflowInOneLine()
    {
        var file = Path.Combine(Path.GetTempPath(), $"huge-config-{Guid.NewGuid():N}.json");
        try
        {
            var text = File.ReadAllText(Repository.PathOf("docs", "examples", "configs", "qwen2.5-1.5b-instruct.json")).Replace("\"hidden_size\": 1536", "\"hidden_size\": 1200000000");
            File.WriteAllText(file, text);
            var (code, _, stderr) = SamplesApp.Run(["plan", "--model", file], Timeout);
            Assert.AreEqual(2, code, stderr);
            StringAssert.Contains(stderr, "hidden_size 1200000000");
            StringAssert.Contains(stderr, "overflows a 64-bit count of bytes");
        }
        finally
        {
            File.Delete(file);
        }
    }

    [GeneratedRegex(@"a micro-batch of (\d+) would fit \(--micro-batch \d+, or --micro-batch auto\)")]
    private static partial Regex WouldFit();

    [TestMethod]
    [TestCategory("Slow")]
    public void TrainJudgeRefusesARunOverItsMemoryBeforeLoadingAndTrainsWithTheMicroBatchThatFits()
    {
        var d = Directory.CreateTempSubdirectory("plan-train-judge").FullName;
        try
        {
            var checkpoint = Path.Combine(d, "base");
            using (var model = CausalLM.CreateRandom(BuiltInModels.Tiny, seed: 1)) HuggingFaceCheckpoint.Save(model, checkpoint);
            BuiltInTokenizer.Save(checkpoint);
            var labels = Path.Combine(d, "labels.jsonl");
            File.WriteAllLines(labels, Enumerable.Range(0, 8).Select(i => $"{{\"prompt\":\"Start with {i}.\",\"completions\":[\"Add 1.\",\"Add 2.\"],\"labels\":[true,false]}}"));
            var output = Path.Combine(d, "judge");
            // 16 MiB: the Tiny judge's weights, state and a KV cache of 4 rows fit, its activations for a mini-batch of 64
            // responses of 512 tokens do not.
            string[] Args(params string[] more) => ["train-judge", "--input", labels, "--base", checkpoint, "--output", output, "--steps", "1", "--prompts-per-step", "4",
                "--max-new-tokens", "512", "--mini-batch", "64", "--generation-rows", "4", "--memory", "0.016", .. more];

            var (code, stdout, stderr) = SamplesApp.Run(Args(), Timeout);
            Assert.AreEqual(2, code, stdout + stderr);
            Assert.AreEqual(1, stderr.Trim().Split('\n').Length, "one line: " + stderr);
            StringAssert.Contains(stderr, "the largest part is activations");
            var fits = WouldFit().Match(stderr);
            Assert.IsTrue(fits.Success, stderr);
            Assert.IsFalse(Directory.Exists(output), "nothing written");

            (code, stdout, stderr) = SamplesApp.Run(Args("--micro-batch", "auto"), Timeout);
            Assert.AreEqual(0, code, stdout + stderr);
            StringAssert.Contains(stdout, $"micro-batch {fits.Groups[1].Value},");
            Assert.IsTrue(File.Exists(Path.Combine(output, "config.json")), "the judge was trained and saved");
        }
        finally
        {
            Directory.Delete(d, recursive: true);
        }
    }
}
