using StepWiser.ML.Annotation;
using StepWiser.ML.Evaluation;
using StepWiser.ML.Generation;
using StepWiser.ML.Judging;
using StepWiser.ML.Models;
using StepWiser.ML.Tokenization;
using StepWiser.ML.Training;
using StepWiser.ML.Worlds;

namespace StepWiser.ML.Tests.Judging;

/// <summary>
/// The result-first judge in the policy's own text learns from a real policy (Fixtures/several-paths) through the
/// library's recipe trainer (<c>Trainers.StepwiseJudge</c> over <see cref="ResultFirstTemplate.TurnTwo"/>): one model,
/// initialised from the policy's weights; turn 1's target is the untrained policy's own greedy line (self-distillation,
/// no label); the analysis stage teaches the comparison on unlabelled steps of the policy's own samples (no label); the
/// verdict stage teaches comparison + verdict against the Monte-Carlo labels (no gold). On the fixture's dev benchmark,
/// where gold labels only score, it beats always-Positive on gold steps and in ProcessBench F1, and its verdict follows
/// its comparison on most steps.
/// </summary>
[TestClass]
public sealed class ResultFirstJudgeLearningTests
{
    private static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "Judging", "Fixtures", "several-paths", name);

    [TestMethod]
    [TestCategory("Slow")]
    [Timeout(900_000)]
    public async Task AJudgeThatComputesBeforeItReadsLearnsFromMonteCarloLabelsAboveAlwaysPositive()
    {
        var ml = new Microsoft.ML.MLContext(seed: 1);
        using var policy = ml.StepWiser().LoadModel(Fixture("policy"));
        var engine = new LocalTextGenerator(policy.Model, policy.Tokenizer);
        var template = StepVerification.ResultFirstInPolicyContext;
        var world = new ArithmeticChainWorld(ArithmeticChainOptions.SeveralPaths(0.5));
        var unlabelled = await WorldJudging.UnlabelledStepsAsync(engine, world, 300, default, 1.3f);
        var labelled = JudgeRecipe.SelectSteps(TrlStepwiseFormat.Read(Fixture("labels-absoluteq.jsonl")), StepSelection.UpToFirstNegative);

        // Turn 1's target: the policy's own line, written before any judge training.
        var unlabelledLines = await template.SelfDistilledAsync(engine, unlabelled);
        var labelledLines = await template.SelfDistilledAsync(engine, labelled.Select(e => e.Input));

        // The library's recipe trainer, analysis and verdict stages (300 updates each at 1e-3, the labels as they come).
        using var fitted = ml.StepWiser().Trainers.StepwiseJudge(new StepwiseJudgeTrainerOptions
        {
            Model = policy, Template = template.TurnTwo,
            Recipe = new JudgeRecipeOptions { Stages = JudgeRecipeStages.Analysis | JudgeRecipeStages.Verdicts, PretrainSteps = 300, PretrainLearningRate = 1e-3, WarmupSteps = 300, WarmupBalance = false },
            Analysis = new JudgeAnalysis(x => unlabelledLines(x) is { Length: > 0 } line ? line : labelledLines(x), unlabelled),
            Judge = new StepwiseJudgeOptions { MaxNewTokens = 40, StopAtFirstNegative = false },
        }).Fit(StepwiseJudgeTrainer.ToDataView(ml, labelled));

        var benchmark = ProcessBench.Read(Fixture("world-benchmark-dev.json")).ToArray();
        var result = await JudgeBenchmark.EvaluateAsync(fitted.Judge, benchmark);
        var alwaysPositive = await JudgeBenchmark.EvaluateAsync(StepWiser.ML.Search.ChunkResetSearch.AcceptEveryChunk, benchmark);

        var g = result.GoldSteps;
        int negatives = benchmark.Count(r => r.Label >= 0), positives = g.Count - negatives;
        double se = 0.5 * Math.Sqrt(g.PositiveAccuracy * (1 - g.PositiveAccuracy) / positives + g.NegativeAccuracy * (1 - g.NegativeAccuracy) / negatives);
        var rationales = result.Judgments.SelectMany(j => j.Rationales.Zip(j.Verdicts)).Where(p => p.First.Contains(" same ", StringComparison.Ordinal) || p.First.Contains(" differs ", StringComparison.Ordinal)).ToArray();
        var followed = rationales.Count(p => p.First.Contains(" same ", StringComparison.Ordinal) == p.Second) / (double)Math.Max(1, rationales.Length);
        var summary = $"balanced {g.Balanced:P1} ± {se:P1} (right steps {g.PositiveAccuracy:P1} of {positives}, wrong {g.NegativeAccuracy:P1} of {negatives}), Avg. F1 {result.Metrics.AverageF1:P1}; verdict follows the comparison on {followed:P1} of {rationales.Length}; always Positive F1 {alwaysPositive.Metrics.AverageF1:P1}";
        Console.WriteLine(summary);
        Assert.IsGreaterThan(100, rationales.Length, summary);
        Assert.IsGreaterThan(0.5 + 2 * se, g.Balanced, summary);
        Assert.IsGreaterThan(alwaysPositive.Metrics.AverageF1, result.Metrics.AverageF1, summary);
        Assert.IsGreaterThan(0.8, followed, summary);
    }
}
