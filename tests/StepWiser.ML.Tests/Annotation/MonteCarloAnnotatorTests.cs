using Microsoft.ML;
using Microsoft.ML.Data;
using StepWiser.ML.Annotation;
using StepWiser.ML.Generation;
using StepWiser.ML.AnswerChecking;
using StepWiser.ML.Tests.Infrastructure;
using StepWiser.ML.Worlds;

namespace StepWiser.ML.Tests.Annotation;

[TestClass]
public sealed class MonteCarloAnnotatorTests
{
    private static AnnotationInput[] Inputs(int count, int seed = 4) =>
        WorldPolicyFixture.World.Generate("annotate", count, seed)
            .Select(p => new AnnotationInput(p.Prompt, p.Chunks, p.AnswerText)).ToArray();

    private static MonteCarloOptions Options(string? store = null) => new() { Rollouts = 8, MaxNewTokens = 80, BatchSize = 4, Seed = 11, StoreDirectory = store };

    [TestMethod]
    public async Task ValuesAreSharesOfCorrectContinuationsAndDoNotDependOnBatching()
    {
        var inputs = Inputs(6);
        using var a = new MonteCarloAnnotator(WorldPolicyFixture.Engine(), new MathAnswerVerifier(), Options());
        var first = await a.AnnotateAsync(inputs);
        var rebatched = Options();
        rebatched.BatchSize = 1;
        using var b = new MonteCarloAnnotator(WorldPolicyFixture.Engine(), new MathAnswerVerifier(), rebatched);
        var second = await b.AnnotateAsync(inputs);

        for (var i = 0; i < inputs.Length; i++)
        {
            Assert.HasCount(inputs[i].Chunks.Count, first[i]!.Values);
            CollectionAssert.AreEqual(first[i]!.Values.ToArray(), second[i]!.Values.ToArray(), $"row {i}: same seed, same values, any batching");
            Assert.AreEqual(first[i]!.InitialValue, second[i]!.InitialValue);
            Assert.IsTrue(first[i]!.Values.All(v => v * 8 == MathF.Round(v * 8)), "a value is a count of 8 rollouts");
            Assert.AreEqual(1f, first[i]!.Values[^1], "a correct complete solution is scored by its own answer");
        }
        var all = first.SelectMany(r => r!.Values.SkipLast(1).Prepend(r.InitialValue)).ToArray();
        Assert.IsTrue(all.Distinct().Count() > 1, "the policy's continuations sometimes succeed and sometimes fail: " + string.Join(",", all));
        // Identical prefixes are sampled once: the six problems' bare prompts and prefixes are all different, so
        // rollouts = 8 per prefix of H chunks (k = 0..H-1; the full solution is scored directly).
        Assert.AreEqual(inputs.Sum(x => x.Chunks.Count) * 8L, a.RolloutsSampled);
    }

    [TestMethod]
    public async Task ARestartReadsFinishedPrefixesFromTheStoreAndSamplesNothingAgain()
    {
        var store = Directory.CreateTempSubdirectory("mc-store").FullName;
        try
        {
            var inputs = Inputs(5);
            IReadOnlyList<AnnotationResult?> first;
            using (var a = new MonteCarloAnnotator(WorldPolicyFixture.Engine(), new MathAnswerVerifier(), Options(store)))
                first = await a.AnnotateAsync(inputs);
            using var b = new MonteCarloAnnotator(WorldPolicyFixture.Engine(), new MathAnswerVerifier(), Options(store));
            var second = await b.AnnotateAsync(inputs);
            Assert.AreEqual(0, b.RolloutsSampled);
            Assert.IsGreaterThan(0, b.CachedPrefixes);
            for (var i = 0; i < inputs.Length; i++) CollectionAssert.AreEqual(first[i]!.Values.ToArray(), second[i]!.Values.ToArray());

            // A record cut short by a crash is dropped, and only that prefix is sampled again.
            var file = Directory.GetFiles(store, "*" + RolloutStore.Extension).Single();
            var bytes = File.ReadAllBytes(file);
            File.WriteAllBytes(file, bytes[..^10]);
            using var c = new MonteCarloAnnotator(WorldPolicyFixture.Engine(), new MathAnswerVerifier(), Options(store));
            var third = await c.AnnotateAsync(inputs);
            Assert.AreEqual(8, c.RolloutsSampled);
            for (var i = 0; i < inputs.Length; i++) CollectionAssert.AreEqual(first[i]!.Values.ToArray(), third[i]!.Values.ToArray());
        }
        finally
        {
            Directory.Delete(store, recursive: true);
        }
    }

    [TestMethod]
    public async Task ShardsCoverDisjointRowsAndTheirMergedStoresEqualOneRun()
    {
        var root = Directory.CreateTempSubdirectory("mc-shards").FullName;
        try
        {
            var inputs = Inputs(7);
            using var whole = new MonteCarloAnnotator(WorldPolicyFixture.Engine(), new MathAnswerVerifier(), Options());
            var expected = await whole.AnnotateAsync(inputs);
            for (var s = 0; s < 3; s++)
            {
                var o = Options(Path.Combine(root, $"machine{s}"));
                o.ShardIndex = s;
                o.ShardCount = 3;
                using var shard = new MonteCarloAnnotator(WorldPolicyFixture.Engine(), new MathAnswerVerifier(), o);
                var part = await shard.AnnotateAsync(inputs);
                for (var i = 0; i < inputs.Length; i++) Assert.AreEqual(i % 3 == s, part[i] is not null, $"shard {s} row {i}");
            }
            RolloutStore.Merge(Enumerable.Range(0, 3).Select(s => Path.Combine(root, $"machine{s}")), Path.Combine(root, "merged"));
            using var merged = new MonteCarloAnnotator(WorldPolicyFixture.Engine(), new MathAnswerVerifier(), Options(Path.Combine(root, "merged")));
            var result = await merged.AnnotateAsync(inputs);
            Assert.AreEqual(0, merged.RolloutsSampled, "the merged stores hold every prefix");
            for (var i = 0; i < inputs.Length; i++) CollectionAssert.AreEqual(expected[i]!.Values.ToArray(), result[i]!.Values.ToArray(), $"row {i}");
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [TestMethod]
    public async Task FailingPrefixesAreReportedAsFailedNotCountedAsWrong_MockPolicy()
    {
        // A mock policy that fails every request containing "Subtract" (a server that keeps failing for those prompts).
        var inner = WorldPolicyFixture.Engine();
        var flaky = new FailingPolicy(inner, r => r.Prompt!.Contains("Subtract", StringComparison.Ordinal));
        var inputs = Inputs(8);
        var options = Options();
        options.MaxConsecutiveFailures = 0; // keep going: this test is about what failed rows look like
        using var annotator = new MonteCarloAnnotator(flaky, new MathAnswerVerifier(), options);
        var results = await annotator.AnnotateAsync(inputs);
        for (var i = 0; i < inputs.Length; i++)
        {
            var failing = inputs[i].Prompt.Contains("Subtract", StringComparison.Ordinal);
            Assert.AreEqual(failing, float.IsNaN(results[i]!.InitialValue), $"row {i}");
            Assert.AreEqual(failing ? inputs[i].Chunks.Count : 0, results[i]!.FailedPrefixes, $"row {i}");
            Assert.AreEqual(!failing, results[i]!.IsComplete, $"row {i}");
            // A step without a value never gets a label, under any scheme.
            if (failing) Assert.ThrowsExactly<ArgumentException>(() => results[i]!.Labels(LabelScheme.AbsoluteQ));
        }
        Assert.IsGreaterThan(0, annotator.FailedPrefixes);
        StringAssert.Contains(annotator.FirstFailure, "injected", "the first failure's reason is kept for the summary");

        // As an ML.NET stage: a failed row's labels column is empty (no label), never a vector of false.
        var ml = new MLContext();
        var rows = ml.Data.LoadFromEnumerable(inputs.Select(x => new Row { Prompt = x.Prompt, Chunks = x.Chunks.ToArray(), Answer = x.Answer }));
        var o = Options();
        o.MaxConsecutiveFailures = 0;
        using var stage = ml.StepWiser().Transforms.AnnotateMonteCarlo(flaky, new MathAnswerVerifier(), o).Fit(rows);
        var labels = stage.Transform(rows).GetColumn<bool[]>("StepLabels").ToArray();
        for (var i = 0; i < inputs.Length; i++)
            Assert.AreEqual(inputs[i].Prompt.Contains("Subtract", StringComparison.Ordinal) ? 0 : inputs[i].Chunks.Count, labels[i].Length, $"row {i}");
    }

    [TestMethod]
    public async Task APolicyThatIsDownStopsAnnotationWithItsReasonAndKeepsFinishedPrefixes_MockPolicy()
    {
        // A mock policy that works for the first 3 requests and then fails every one (a server that went down).
        var down = new DownAfterPolicy(WorldPolicyFixture.Engine(), workingCalls: 3);
        var store = Directory.CreateTempSubdirectory("mc-down").FullName;
        try
        {
            var options = Options(store);
            options.BatchSize = 1;
            options.MaxConsecutiveFailures = 5;
            using (var annotator = new MonteCarloAnnotator(down, new MathAnswerVerifier(), options))
            {
                var e = await Assert.ThrowsExactlyAsync<PolicyFailedException>(() => annotator.AnnotateAsync(Inputs(6)));
                StringAssert.Contains(e.Message, "5 prefixes in a row");
                StringAssert.Contains(e.Message, "injected");
            }
            var kept = File.ReadAllLines(Directory.GetFiles(store, "*" + RolloutStore.Extension).Single()).Length;
            Assert.IsGreaterThan(0, kept, "the prefixes finished before the failure are in the store");
        }
        finally
        {
            Directory.Delete(store, recursive: true);
        }
    }

    [TestMethod]
    [DataRow("{\"key\":\"a\",\"rewards\":[1,0]}\n{\"key\":\"b\",\"rewards\":[1,2]}\n{\"key\":\"c\",\"rewards\":[0]}\n", ":2: corrupt rollout record (reward 2")]
    [DataRow("{\"key\":\"a\",\"rewards\":[1,0]}\n{\"key\":\"b\",\"rewards\":[]}\n", ":2: corrupt rollout record")]
    [DataRow("{\"key\":\"a\",\"rewards\":[1,0]}\n{\"key\":\"b\",\"rew\n{\"key\":\"c\",\"rewards\":[0]}\n", ":2: corrupt rollout record")]
    [DataRow("{\"rewards\":[1]}\n", ":1: corrupt rollout record")]
    public void ADamagedStoreRecordIsAnErrorNamingFileAndLine(string content, string expected)
    {
        var store = Directory.CreateTempSubdirectory("mc-corrupt").FullName;
        try
        {
            File.WriteAllText(Path.Combine(store, "other" + RolloutStore.Extension), content);
            var e = Assert.ThrowsExactly<InvalidDataException>(() => new RolloutStore(store));
            StringAssert.Contains(e.Message, "other" + RolloutStore.Extension + expected);
        }
        finally
        {
            Directory.Delete(store, recursive: true);
        }
    }

    [TestMethod]
    public void AsAnMLNetStageItAddsValuesLabelsAndQ0Columns()
    {
        var ml = new MLContext();
        var problems = WorldPolicyFixture.World.Generate("annotate", 5, 4);
        var data = ml.Data.LoadFromEnumerable(problems.Select(p => new Row { Prompt = p.Prompt, Chunks = p.Chunks.ToArray(), Answer = p.AnswerText }));
        var options = Options();
        options.Scheme = LabelScheme.RelativeRatio;
        using var transformer = ml.StepWiser().Transforms.AnnotateMonteCarlo(WorldPolicyFixture.Engine(), new MathAnswerVerifier(), options).Fit(data);
        var view = transformer.Transform(data);
        var values = view.GetColumn<float[]>("StepValues").ToArray();
        var q0 = view.GetColumn<float>("InitialValue").ToArray();
        var labels = view.GetColumn<bool[]>("StepLabels").ToArray();
        for (var i = 0; i < problems.Count; i++)
        {
            Assert.HasCount(problems[i].Chunks.Count, values[i]);
            CollectionAssert.AreEqual(StepLabels.Compute(q0[i], values[i], LabelScheme.RelativeRatio), labels[i]);
        }
        var wrong = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.StepWiser().Transforms.AnnotateMonteCarlo(WorldPolicyFixture.Engine(), new MathAnswerVerifier(), new MonteCarloOptions { ChunksColumnName = "Prompt" }).Fit(data));
        StringAssert.Contains(wrong.Message, "vector");
    }

    private sealed class Row
    {
        public string Prompt { get; set; } = "";
        [VectorType] public string[] Chunks { get; set; } = [];
        public string Answer { get; set; } = "";
    }

    private sealed class DownAfterPolicy(ITextGenerator inner, int workingCalls) : ITextGenerator
    {
        private int _calls;

        public Task<IReadOnlyList<GenerationResult>> GenerateAsync(IReadOnlyList<GenerationRequest> requests, CancellationToken cancellationToken = default) =>
            Interlocked.Increment(ref _calls) > workingCalls ? throw new HttpRequestException("injected: connection refused") : inner.GenerateAsync(requests, cancellationToken);
    }

    private sealed class FailingPolicy(ITextGenerator inner, Func<GenerationRequest, bool> fails) : ITextGenerator
    {
        public Task<IReadOnlyList<GenerationResult>> GenerateAsync(IReadOnlyList<GenerationRequest> requests, CancellationToken cancellationToken = default) =>
            requests.Any(fails) ? throw new HttpRequestException("injected: server keeps failing") : inner.GenerateAsync(requests, cancellationToken);
    }
}
