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
    [TestCategory("Slow")]
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
            Assert.IsTrue(check.FirstErrorIndex == -1 || result.ExhaustedChunks > 0, result.Solution);
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
        ITextGenerator searched = new ChunkResetSearch(WorldPolicyFixture.Engine(), new RejectAll(), new ChunkResetOptions { MaxTries = 2, AfterMaxTries = AfterMaxTries.Stop, ChunkMaxNewTokens = 40 },
            problemOf: prompt => prompt.Trim());
        var result = await searched.GenerateAsync([GenerationRequest.FromText(Problems[0].Prompt, new SamplingOptions { NumSamples = 2 })]);
        Assert.HasCount(2, result[0].Samples);
        Assert.IsTrue(result[0].Samples.All(s => s.Text.Length == 0), "every chunk rejected twice, and the solution stops there");
    }

    [TestMethod]
    public async Task ThePolicyAloneBaselineIsPairedWithTheSearch_OracleJudge()
    {
        // The same options, so both draw the same first attempt of every chunk: wherever the search reached a point the
        // baseline also reached (the same accepted chunks before it), its first attempt there is the baseline's chunk,
        // whatever the other problems in the batch were doing.
        var policy = WorldPolicyFixture.Engine();
        var options = new ChunkResetOptions { ChunkMaxNewTokens = 40, MaxChunks = 8, Seed = 5 };
        var problems = Problems.Select(p => (p.Prompt, p.Problem)).ToArray();
        var alone = await ChunkResetSearch.PolicyAlone(policy, options).SearchAsync(problems);
        var judge = new Recording(new OracleJudge(Problems));
        var searched = await new ChunkResetSearch(policy, judge, options).SearchAsync(problems);
        Assert.IsTrue(alone.All(r => r.Resets == 0 && r.RejectedTokens == 0 && r.JudgeCalls == 0 && r.Chunks.Count > 0), "the baseline judges nothing");
        Assert.IsTrue(searched.Any(r => r.Resets > 0), "the exact judge rejected something");
        var (shared, differ) = (0, 0);
        for (var i = 0; i < Problems.Count; i++)
        {
            var attempts = judge.Seen.Where(x => x.Problem == Problems[i].Problem).ToArray();
            for (var c = 0; c < alone[i].Chunks.Count; c++)
            {
                var history = alone[i].Chunks.Take(c).ToArray();
                var first = attempts.FirstOrDefault(x => x.History.SequenceEqual(history));
                if (first is null) break; // the search went elsewhere before this chunk
                Assert.AreEqual(alone[i].Chunks[c], first.Chunk, $"problem {i}, chunk {c}: the first attempt");
                shared++;
            }
            if (searched[i].Solution != alone[i].Solution) differ++;
        }
        Assert.IsGreaterThanOrEqualTo(Problems.Count, shared, "every problem's first chunk is drawn alike");
        Assert.IsGreaterThan(0, differ, "the judge changed some solutions");
    }

    [TestMethod]
    public async Task AttemptSeedsDoNotDependOnTheOtherProblems_StubPolicy()
    {
        // The stub writes its seed into each chunk. Problem 0's first chunk is rejected and, with Stop, it leaves the
        // search at once, so from the second round on the others are fewer in the batch than in the baseline: their
        // chunks (their seeds) must not change. Under the old round-and-batch-place seeds they did.
        var problems = Enumerable.Range(0, 4).Select(i => ($"prompt {i}", $"P{i}")).ToArray();
        var options = new ChunkResetOptions { MaxTries = 1, AfterMaxTries = AfterMaxTries.Stop, Seed = 3 };
        var alone = await ChunkResetSearch.PolicyAlone(new SeedEchoPolicy(), options).SearchAsync(problems);
        var searched = await new ChunkResetSearch(new SeedEchoPolicy(), new RejectProblem("P0"), options).SearchAsync(problems);
        Assert.IsEmpty(searched[0].Chunks);
        Assert.AreEqual(1, searched[0].ExhaustedChunks);
        for (var i = 1; i < problems.Length; i++)
        {
            Assert.HasCount(SeedEchoPolicy.Chunks, searched[i].Chunks);
            CollectionAssert.AreEqual(alone[i].Chunks.ToArray(), searched[i].Chunks.ToArray(), $"problem {i}");
        }
        var seeds = alone.SelectMany(r => r.Chunks).ToArray();
        Assert.HasCount(seeds.Length, seeds.Distinct().ToArray(), "every (problem, chunk) draws its own seed");

        // As a transformer, the seeds follow the row's index in the input, not its batch.
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(problems.Select(p => new PromptRow { Prompt = p.Item1, Problem = p.Item2 }).ToArray());
        string[] Solutions(int batch) => ml.StepWiser().Search.PolicyAlone(new SeedEchoPolicy(), new ChunkResetOptions { Seed = 3, BatchSize = batch }).Fit(data).Transform(data).GetColumn<string>("SearchedSolution").ToArray();
        CollectionAssert.AreEqual(Solutions(4), Solutions(1));
        CollectionAssert.AreEqual(alone.Select(r => r.Solution).ToArray(), Solutions(3));
    }

    [TestMethod]
    public async Task AfterMaxTriesKeepBestKeepsTheAttemptTheJudgeScoredHighest_ScriptedJudge()
    {
        var judge = new RejectAllScoringByHash();
        var problems = Problems.Take(6).Select(p => (p.Prompt, p.Problem)).ToArray();
        var results = await new ChunkResetSearch(new SeedEchoPolicy(), judge,
            new ChunkResetOptions { MaxTries = 3, AfterMaxTries = AfterMaxTries.KeepBest, Seed = 2 }).SearchAsync(problems);
        foreach (var (problem, result) in problems.Zip(results))
        {
            Assert.HasCount(SeedEchoPolicy.Chunks, result.Chunks);
            for (var c = 0; c < result.Chunks.Count; c++)
            {
                var history = string.Join("\u0001", result.Chunks.Take(c));
                var attempts = judge.Seen.Where(x => x.Problem == problem.Problem && x.History == history).Select(x => x.Chunk).ToArray();
                Assert.HasCount(3, attempts, $"three attempts at chunk {c}");
                var best = attempts.Select((a, i) => (a, i)).OrderByDescending(x => RejectAllScoringByHash.Score(x.a)).ThenByDescending(x => x.i).First().a;
                Assert.AreEqual(best, result.Chunks[c]);
            }
            var all = judge.Seen.Where(x => x.Problem == problem.Problem).Select(x => SeedEchoPolicy.Tokens(x.Chunk)).Sum();
            Assert.AreEqual(result.Chunks.Sum(SeedEchoPolicy.Tokens), result.AcceptedTokens, "accepted tokens are the kept attempts'");
            Assert.AreEqual(all - result.AcceptedTokens, result.RejectedTokens, "rejected tokens are every other attempt's");
            Assert.AreEqual(result.Chunks.Count, result.ExhaustedChunks);
            Assert.AreEqual(2 * result.Chunks.Count, result.Resets);
            Assert.AreEqual(3 * result.Chunks.Count, result.JudgeCalls);
        }
        Assert.IsTrue(judge.Seen.GroupBy(x => (x.Problem, x.History)).Any(g => g.Count() == 3 && RejectAllScoringByHash.Score(g.Last().Chunk) < g.Max(x => RejectAllScoringByHash.Score(x.Chunk))),
            "on some chunk the best attempt is not the last one, so KeepBest differs from KeepLast");
        var invalid = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new ChunkResetOptions { AfterMaxTries = (AfterMaxTries)7 }.Validate());
        StringAssert.Contains(invalid.Message, "AfterMaxTries");
    }

    [TestMethod]
    public async Task ReusedVerdictsGiveTheSameSearchWithFewerJudgeCalls_OracleJudge()
    {
        // The world policy redraws some rejected chunks word for word; with a deterministic judge, reusing the verdict
        // such a redraw got before changes nothing but the number of calls.
        var problems = Problems.Select(p => (p.Prompt, p.Problem)).ToArray();
        ChunkResetOptions Options(bool reuse) => new() { ChunkMaxNewTokens = 40, MaxChunks = 8, Seed = 3, ReuseVerdicts = reuse };
        var plainJudge = new CountingJudge(new OracleJudge(Problems));
        var plain = await new ChunkResetSearch(WorldPolicyFixture.Engine(), plainJudge, Options(false)).SearchAsync(problems);
        var reusingJudge = new CountingJudge(new OracleJudge(Problems));
        var reusing = await new ChunkResetSearch(WorldPolicyFixture.Engine(), reusingJudge, Options(true)).SearchAsync(problems);
        for (var i = 0; i < problems.Length; i++)
        {
            Assert.AreEqual(plain[i].Solution, reusing[i].Solution);
            Assert.AreEqual((plain[i].AcceptedTokens, plain[i].RejectedTokens, plain[i].Resets, plain[i].ExhaustedChunks),
                (reusing[i].AcceptedTokens, reusing[i].RejectedTokens, reusing[i].Resets, reusing[i].ExhaustedChunks));
        }
        Assert.AreEqual(plain.Sum(r => r.JudgeCalls), plainJudge.Steps, "without reuse every attempt is judged");
        Assert.AreEqual(reusing.Sum(r => r.JudgeCalls), reusingJudge.Steps, "JudgeCalls counts the calls made");
        Assert.IsLessThan(plainJudge.Steps, reusingJudge.Steps, $"{reusingJudge.Steps} judged steps with reuse, {plainJudge.Steps} without");
    }

    /// <summary>Counts the steps a judge is asked about.</summary>
    private sealed class CountingJudge(IStepJudge inner) : IStepJudge
    {
        public int Steps;

        public Task<IReadOnlyList<StepVerdict>> JudgeStepsAsync(IReadOnlyList<JudgeInput> inputs, CancellationToken cancellationToken = default)
        {
            Steps += inputs.Count;
            return inner.JudgeStepsAsync(inputs, cancellationToken);
        }
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
            new JudgeDataSelectionOptions { AnswerColumnName = "Gold" }).Fit(data));
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

    /// <summary>
    /// A scripted policy: chunk n of a solution is "c{n} s{seed}" with (seed mod 5) + 1 token ids, and the solution ends
    /// after <see cref="Chunks"/> chunks (a stub for an engine, so seeds and token counts are visible).
    /// </summary>
    private sealed class SeedEchoPolicy : ITextGenerator
    {
        public const int Chunks = 3;

        public static int Tokens(string chunk) => (int)(long.Parse(chunk[(chunk.IndexOf(" s", StringComparison.Ordinal) + 2)..]) % 5) + 1;

        public Task<IReadOnlyList<GenerationResult>> GenerateAsync(IReadOnlyList<GenerationRequest> requests, CancellationToken cancellationToken = default) =>
            Task.FromResult<IReadOnlyList<GenerationResult>>(requests.Select(r =>
            {
                var written = r.Prompt!.Split("</chunk>").Length - 1;
                var text = written >= Chunks ? "" : $"<chunk>c{written} s{r.Options.Seed}";
                return new GenerationResult([new GeneratedSample(text, text.Length == 0 ? [] : Enumerable.Range(0, Tokens(text)).ToArray(), FinishReason.Stop)]);
            }).ToArray());
    }

    /// <summary>Rejects the steps of one problem, accepts all others (a scripted judge).</summary>
    private sealed class RejectProblem(string problem) : IStepJudge
    {
        public Task<IReadOnlyList<StepVerdict>> JudgeStepsAsync(IReadOnlyList<JudgeInput> inputs, CancellationToken cancellationToken = default) =>
            Task.FromResult<IReadOnlyList<StepVerdict>>(inputs.Select(i => new StepVerdict(i.Problem != problem, i.Problem != problem ? 1f : 0f, "", 0)).ToArray());
    }

    /// <summary>Records every input it passes on to the judge it wraps.</summary>
    private sealed class Recording(IStepJudge inner) : IStepJudge
    {
        public List<JudgeInput> Seen { get; } = [];

        public Task<IReadOnlyList<StepVerdict>> JudgeStepsAsync(IReadOnlyList<JudgeInput> inputs, CancellationToken cancellationToken = default)
        {
            Seen.AddRange(inputs);
            return inner.JudgeStepsAsync(inputs, cancellationToken);
        }
    }

    /// <summary>Rejects every step and scores it by a hash of its text (a scripted judge).</summary>
    private sealed class RejectAllScoringByHash : IStepJudge
    {
        public List<(string Problem, string History, string Chunk)> Seen { get; } = [];

        public Task<IReadOnlyList<StepVerdict>> JudgeStepsAsync(IReadOnlyList<JudgeInput> inputs, CancellationToken cancellationToken = default)
        {
            foreach (var i in inputs) Seen.Add((i.Problem, string.Join("\u0001", i.History), i.Chunk));
            return Task.FromResult<IReadOnlyList<StepVerdict>>(inputs.Select(i => new StepVerdict(false, Score(i.Chunk), @"\boxed{Negative}", 0)).ToArray());
        }

        /// <summary>A score in [0, 1) from the chunk's characters (deterministic, unrelated to its correctness).</summary>
        public static float Score(string chunk)
        {
            var h = 17;
            foreach (var c in chunk) h = unchecked(h * 31 + c);
            return (h & 0xFFFF) / 65536f;
        }
    }

    private sealed class RejectAll : IStepJudge
    {
        public Task<IReadOnlyList<StepVerdict>> JudgeStepsAsync(IReadOnlyList<JudgeInput> inputs, CancellationToken cancellationToken = default) =>
            Task.FromResult<IReadOnlyList<StepVerdict>>(inputs.Select(_ => new StepVerdict(false, 0, @"\boxed{Negative}", 0)).ToArray());
    }
}
