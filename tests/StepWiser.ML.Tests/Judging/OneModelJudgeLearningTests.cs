using StepWiser.ML.Annotation;
using StepWiser.ML.Evaluation;
using StepWiser.ML.Generation;
using StepWiser.ML.Judging;
using StepWiser.ML.Models;
using StepWiser.ML.Tokenization;
using StepWiser.ML.Worlds;

namespace StepWiser.ML.Tests.Judging;

/// <summary>
/// The StepWiser judge as the paper has it learns its verdicts from Monte-Carlo labels: one model, initialised from a real
/// policy of the several-paths world and taught the verification analysis on unlabelled steps of that policy's own
/// samples (Fixtures/several-paths, written by the main job: the policy, that analysis stage, the policy's Abs-Q labels
/// and the dev benchmark), prompted with problem, history and step, then trained on analysis + verdict against the
/// Monte-Carlo labels (no gold) for the main job's 150 updates, beats always-Positive on the benchmark's gold steps,
/// where gold labels only score. The label-free analysis stage (1,000 updates, about six minutes on this machine's CPU)
/// is the fixture's; the stage trained here is the one that reads labels.
/// </summary>
[TestClass]
public sealed class OneModelJudgeLearningTests
{
    private static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "Judging", "Fixtures", "several-paths", name);

    [TestMethod]
    [TestCategory("Slow")]
    [Timeout(900_000)]
    public async Task TheVerdictStageOnMonteCarloLabelsGivesAJudgeAboveAlwaysPositiveOnHeldOutGoldSteps()
    {
        var tokenizer = BuiltInTokenizer.Create();
        using var judgeModel = HuggingFaceCheckpoint.Load(Fixture("analysis"));   // the policy's weights after the label-free analysis stage
        var options = new JudgeRecipeOptions { WarmupSteps = 150, Seed = 1 };
        var labelled = JudgeRecipe.SelectSteps(TrlStepwiseFormat.Read(Fixture("labels-absoluteq.jsonl")), options.StepSelection);
        JudgeRecipe.WarmUp(judgeModel, tokenizer, JudgeTemplate.Numbered, labelled, StepVerification.Analysis, options);

        var benchmark = ProcessBench.Read(Fixture("world-benchmark-dev.json")).ToArray();
        var judge = new StepwiseJudge(new LocalTextGenerator(judgeModel, tokenizer), JudgeTemplate.Numbered, new StepwiseJudgeOptions { MaxNewTokens = 96, StopAtFirstNegative = false });
        var result = await JudgeBenchmark.EvaluateAsync(judge, benchmark);
        var alwaysPositive = await JudgeBenchmark.EvaluateAsync(StepWiser.ML.Search.ChunkResetSearch.AcceptEveryChunk, benchmark);

        var g = result.GoldSteps;
        int negatives = benchmark.Count(r => r.Label >= 0), positives = g.Count - negatives;
        double se = 0.5 * Math.Sqrt(g.PositiveAccuracy * (1 - g.PositiveAccuracy) / positives + g.NegativeAccuracy * (1 - g.NegativeAccuracy) / negatives);
        var summary = $"balanced {g.Balanced:P1} ± {se:P1} (right steps {g.PositiveAccuracy:P1} of {positives}, wrong {g.NegativeAccuracy:P1} of {negatives}), Avg. F1 {result.Metrics.AverageF1:P1}; always Positive {alwaysPositive.GoldSteps.Balanced:P1}, F1 {alwaysPositive.Metrics.AverageF1:P1}";
        Console.WriteLine(summary);
        Assert.AreEqual(0.5, alwaysPositive.GoldSteps.Balanced, 1e-9, "always Positive is right on every right step and on no wrong one");
        Assert.IsGreaterThan(0.5 + 2 * se, g.Balanced, summary);
        Assert.IsGreaterThan(alwaysPositive.Metrics.AverageF1, result.Metrics.AverageF1, summary);
    }
}
