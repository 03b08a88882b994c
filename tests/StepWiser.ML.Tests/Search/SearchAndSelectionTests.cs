using Microsoft.ML;
using Microsoft.ML.Data;
using StepWiser.ML.Generation;
using StepWiser.ML.Judging;
using StepWiser.ML.AnswerChecking;
using StepWiser.ML.Search;
using StepWiser.ML.Selection;
using StepWiser.ML.Tests.Infrastructure;
using StepWiser.ML.Worlds;

namespace StepWiser.ML.Tests.Search;

[TestClass]
public sealed class SearchAndSelectionTests
{
    private static readonly IReadOnlyList<WorldProblem> Problems = WorldPolicyFixture.World.Generate("search", 40, 8);

    [TestMethod]
    public async Task ChunkResetWithAnExactJudgeBeatsThePolicyAlone_OracleJudge()
    {
        var policy = WorldPolicyFixture.Engine();
        var alone = await policy.GenerateAsync(Problems.Select(p => GenerationRequest.FromText(p.Prompt, new SamplingOptions { MaxNewTokens = 120, Temperature = 1, Seed = 3 })).ToArray());
        var aloneAccuracy = Problems.Zip(alone).Average(x => ArithmeticChainWorld.IsCorrect(x.First, x.Second.Samples[0].Text) ? 1.0 : 0.0);

        var search = new ChunkResetSearch(policy, new OracleJudge(Problems), new ChunkResetOptions { ChunkMaxNewTokens = 40, MaxChunks = 8, Seed = 3 });
        var results = await search.SearchAsync(Problems.Select(p => (p.Prompt, p.Problem)).ToArray());
        var searchAccuracy = Problems.Zip(results).Average(x => ArithmeticChainWorld.IsCorrect(x.First, x.Second.Solution) ? 1.0 : 0.0);

        Assert.IsGreaterThan(aloneAccuracy + 0.1, searchAccuracy, $"policy alone {aloneAccuracy:P0}, with resets {searchAccuracy:P0}");
        Assert.IsGreaterThan(0, results.Sum(r => r.Resets));
        Assert.IsGreaterThan(0, results.Sum(r => r.RejectedTokens));
        foreach (var r in results)
            Assert.IsTrue((r.Chunks.Count == 0 || r.AcceptedTokens > 0) && r.JudgeCalls == r.Chunks.Count + r.Resets, $"{r}: {string.Join(" | ", r.Chunks)}");
        foreach (var (problem, result) in Problems.Zip(results))
        {
            var check = ArithmeticChainWorld.Check(problem, result.Solution);
            // Every chunk the exact judge accepted is correct; only chunks kept after five rejections can be wrong.
            Assert.IsTrue(check.FirstErrorIndex == -1 || result.KeptAfterMaxTries > 0, result.Solution);
        }
    }

    [TestMethod]
    public async Task TheSearchAsATransformerGivesTheSameResultsAsSearchAsyncPerBatch_OracleJudge()
    {
        var ml = new MLContext(seed: 1);
        var problems = Problems.Take(12).ToArray();
        var data = ArithmeticChainWorld.ToDataView(ml, problems);
        var options = new ChunkResetOptions { ChunkMaxNewTokens = 40, MaxChunks = 8, Seed = 3, BatchSize = 12 };
        var estimator = ml.StepWiser().Search.ChunkReset(WorldPolicyFixture.Engine(), new OracleJudge(Problems), options);
        var input = ml.Transforms.CustomMapping<NoColumns, PromptRow>((_, _) => { }, null).GetOutputSchema(new SchemaShape([]));
        var shape = estimator.GetOutputSchema(input);
        Assert.IsTrue(shape.Any(c => c.Name == "SearchedChunks" && c.Kind == SchemaShape.Column.VectorKind.VariableVector));
        Assert.IsTrue(shape.Any(c => c.Name == "Resets" && c.ItemType == NumberDataViewType.Int32));
        var searched = estimator.Fit(data).Transform(data);
        var fitted = estimator.Fit(data);
        options.BatchSize = 1;          // the fitted transformer keeps the options it was fitted with ...
        fitted.Options.MaxTries = 1;    // ... and hands out a copy of them
        Assert.AreEqual(12, fitted.Options.BatchSize);
        Assert.AreEqual(5, fitted.Options.MaxTries);

        var expected = await new ChunkResetSearch(WorldPolicyFixture.Engine(), new OracleJudge(Problems), new ChunkResetOptions { ChunkMaxNewTokens = 40, MaxChunks = 8, Seed = 3 }).SearchAsync(problems.Select(p => (p.Prompt, p.Problem)).ToArray());
        CollectionAssert.AreEqual(expected.Select(r => r.Solution).ToArray(), searched.GetColumn<string>("SearchedSolution").ToArray());
        CollectionAssert.AreEqual(expected.Select(r => r.Resets).ToArray(), searched.GetColumn<int>("Resets").ToArray());
        CollectionAssert.AreEqual(expected.Select(r => r.RejectedTokens).ToArray(), searched.GetColumn<int>("RejectedTokens").ToArray());
        Assert.AreEqual(expected.Sum(r => r.Chunks.Count), searched.GetColumn<string[]>("SearchedChunks").Sum(c => c.Length));

        var missing = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() =>
            ml.StepWiser().Search.ChunkReset(WorldPolicyFixture.Engine(), new OracleJudge(Problems), new ChunkResetOptions { ProblemColumnName = "Question" }).Fit(data));
        StringAssert.Contains(missing.Message, "Question");
    }

    [TestMethod]
    public async Task TheSearchIsAnITextGeneratorAndStopsOnRequestAfterMaxTries_OracleJudge()
    {
        ITextGenerator searched = new ChunkResetSearch(WorldPolicyFixture.Engine(), new RejectAll(), new ChunkResetOptions { MaxTries = 2, KeepLastAttempt = false, ChunkMaxNewTokens = 40 },
            problemOf: prompt => prompt.Trim());
        var result = await searched.GenerateAsync([GenerationRequest.FromText(Problems[0].Prompt, new SamplingOptions { NumSamples = 2 })]);
        Assert.HasCount(2, result[0].Samples);
        Assert.IsTrue(result[0].Samples.All(s => s.Text.Length == 0), "every chunk rejected twice, and the solution stops there");
    }

    [TestMethod]
    public async Task JudgeSelectionPrefersFlawlessCorrectSolutions_OracleJudge()
    {
        var policy = WorldPolicyFixture.Engine();
        var prompts = Problems.Select(p => (p.Prompt, p.Problem, p.AnswerText)).ToArray();
        var selected = await JudgeDataSelection.SelectAsync(policy, new OracleJudge(Problems), new MathAnswerVerifier(), prompts,
            new SamplingOptions { NumSamples = 8, MaxNewTokens = 120, Temperature = 1, Seed = 4 }, seed: 1);
        var withPick = selected.Select((s, i) => (s, p: Problems[i])).Where(x => x.s.JudgeSelected is not null).ToArray();
        Assert.IsNotEmpty(withPick);
        foreach (var (s, p) in withPick)
        {
            Assert.IsTrue(ArithmeticChainWorld.IsCorrect(p, s.JudgeSelected!) && ArithmeticChainWorld.IsCorrect(p, s.OutcomeSelected!));
            if (s.JudgeScore == 1f) Assert.AreEqual(-1, ArithmeticChainWorld.Check(p, s.JudgeSelected!).FirstErrorIndex);
        }
        var judgeFlawless = withPick.Average(x => ArithmeticChainWorld.Check(x.p, x.s.JudgeSelected!).FirstErrorIndex == -1 ? 1.0 : 0.0);
        var outcomeFlawless = withPick.Average(x => ArithmeticChainWorld.Check(x.p, x.s.OutcomeSelected!).FirstErrorIndex == -1 ? 1.0 : 0.0);
        Assert.IsGreaterThanOrEqualTo(outcomeFlawless, judgeFlawless);
        Assert.IsTrue(selected.Where(s => s.CorrectCount == 0).All(s => s.JudgeSelected is null));
    }

    [TestMethod]
    public async Task SelectionAsATransformerGivesTheSameRowsAsSelectAsync_OracleJudge()
    {
        var ml = new MLContext(seed: 1);
        var problems = Problems.Take(10).ToArray();
        var data = ArithmeticChainWorld.ToDataView(ml, problems);
        var sampling = new SamplingOptions { NumSamples = 4, MaxNewTokens = 120, Temperature = 1, Seed = 4 };
        var selected = ml.StepWiser().Selection.ByJudge(WorldPolicyFixture.Engine(), new OracleJudge(Problems), new MathAnswerVerifier(),
            new JudgeDataSelectionOptions { Sampling = sampling, Seed = 2, BatchSize = problems.Length }).Fit(data).Transform(data);
        var expected = await JudgeDataSelection.SelectAsync(WorldPolicyFixture.Engine(), new OracleJudge(Problems), new MathAnswerVerifier(),
            problems.Select(p => (p.Prompt, p.Problem, p.AnswerText)).ToArray(), sampling, seed: 2);
        CollectionAssert.AreEqual(expected.Select(r => r.JudgeSelected ?? "").ToArray(), selected.GetColumn<string>("JudgeSelected").ToArray());
        CollectionAssert.AreEqual(expected.Select(r => r.OutcomeSelected ?? "").ToArray(), selected.GetColumn<string>("OutcomeSelected").ToArray());
        CollectionAssert.AreEqual(expected.Select(r => r.CorrectCount).ToArray(), selected.GetColumn<int>("CorrectCount").ToArray());
        Assert.IsTrue(expected.Any(r => r.JudgeSelected is not null), "some prompt has a correct sample");

        var missing = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.StepWiser().Selection.ByJudge(WorldPolicyFixture.Engine(), new OracleJudge(Problems), new MathAnswerVerifier(),
            new JudgeDataSelectionOptions { ReferenceColumnName = "Gold" }).Fit(data));
        StringAssert.Contains(missing.Message, "Gold");
    }

    private sealed class NoColumns;

    private sealed class PromptRow
    {
        public string Prompt { get; set; } = "";
        public string Problem { get; set; } = "";
    }

    /// <summary>A judge that knows the answer key: the world's exact checker (a test double for a trained judge).</summary>
    private sealed class OracleJudge(IReadOnlyList<WorldProblem> problems) : IStepJudge
    {
        private readonly Dictionary<string, WorldProblem> _byText = problems.GroupBy(p => p.Problem).ToDictionary(g => g.Key, g => g.First());

        public Task<IReadOnlyList<StepVerdict>> JudgeStepsAsync(IReadOnlyList<JudgeInput> inputs, CancellationToken cancellationToken = default)
        {
            IReadOnlyList<StepVerdict> verdicts = inputs.Select(i =>
            {
                var check = ArithmeticChainWorld.Check(_byText[i.Problem], [.. i.History, i.Chunk]);
                var ok = check.ChunkIsCorrect[^1];
                return new StepVerdict(ok, ok ? 1f : 0f, ok ? @"\boxed{Positive}" : @"\boxed{Negative}", 0);
            }).ToArray();
            return Task.FromResult(verdicts);
        }
    }

    private sealed class RejectAll : IStepJudge
    {
        public Task<IReadOnlyList<StepVerdict>> JudgeStepsAsync(IReadOnlyList<JudgeInput> inputs, CancellationToken cancellationToken = default) =>
            Task.FromResult<IReadOnlyList<StepVerdict>>(inputs.Select(_ => new StepVerdict(false, 0, @"\boxed{Negative}", 0)).ToArray());
    }
}
