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
/// The result-first judge in the policy's own text learns from a real policy (Fixtures/several-paths): one model,
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
        var tokenizer = BuiltInTokenizer.Create();
        using var model = HuggingFaceCheckpoint.Load(Fixture("policy"));
        var engine = new LocalTextGenerator(model, tokenizer);
        var template = StepVerification.ResultFirstInPolicyContext;
        var world = new ArithmeticChainWorld(ArithmeticChainOptions.SeveralPaths(0.5));
        var unlabelled = await WorldJudging.UnlabelledStepsAsync(engine, world, 300, default, 1.3f);
        var labelled = JudgeRecipe.SelectSteps(TrlStepwiseFormat.Read(Fixture("labels-absoluteq.jsonl")), StepSelection.UpToFirstNegative);

        // Turn 1's target: the policy's own line, written before any judge training.
        var all = unlabelled.Concat(labelled.Select(e => e.Input)).ToArray();
        var (own, _) = await template.WithOwnResultsAsync(engine, all);
        var lines = new Dictionary<string, string>();
        for (var i = 0; i < all.Length; i++)
            if (template.TurnOne(all[i]) is { } prompt && own[i].Reference is { Length: > 0 } line) lines[prompt] = line;
        string? TurnOneOf(JudgeInput x) => template.TurnOne(x) is { } p && lines.TryGetValue(p, out var l) ? l : null;

        var analysis = template.AnalysisExamples(unlabelled, TurnOneOf);
        var turnOne = analysis.Where(e => !e.Prompt.Contains(ResultFirstTemplate.StatedMarker, StringComparison.Ordinal)).ToArray();
        new SftTrainer(model, tokenizer, new SftOptions { Steps = 300, BatchSize = 32, LearningRate = 1e-3, WarmupSteps = 20, Seed = 1 }).Train(analysis);
        var verdicts = template.VerdictExamples(labelled, TurnOneOf);
        new SftTrainer(model, tokenizer, new SftOptions { Steps = 300, BatchSize = 32, LearningRate = 1e-3, WarmupSteps = 15, Seed = 1 })
            .Train(verdicts.Concat(turnOne.Take(verdicts.Count)).ToArray());

        var benchmark = ProcessBench.Read(Fixture("world-benchmark-dev.json")).ToArray();
        var judge = new ResultFirstJudge(engine, template, new StepwiseJudgeOptions { MaxNewTokens = 40, StopAtFirstNegative = false });
        var result = await JudgeBenchmark.EvaluateAsync(judge, benchmark);
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
