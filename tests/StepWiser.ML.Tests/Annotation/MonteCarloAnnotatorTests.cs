using Microsoft.ML;
using Microsoft.ML.Data;
using StepWiser.ML.Annotation;
using StepWiser.ML.Generation;
using StepWiser.ML.Reasoning;
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
        using var annotator = new MonteCarloAnnotator(flaky, new MathAnswerVerifier(), Options());
        var results = await annotator.AnnotateAsync(inputs);
        for (var i = 0; i < inputs.Length; i++)
        {
            var failing = inputs[i].Prompt.Contains("Subtract", StringComparison.Ordinal);
            Assert.AreEqual(failing, float.IsNaN(results[i]!.InitialValue), $"row {i}");
            Assert.AreEqual(failing ? inputs[i].Chunks.Count : 0, results[i]!.FailedPrefixes, $"row {i}");
        }
        Assert.IsGreaterThan(0, annotator.FailedPrefixes);
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

    private sealed class FailingPolicy(ITextGenerator inner, Func<GenerationRequest, bool> fails) : ITextGenerator
    {
        public Task<IReadOnlyList<GenerationResult>> GenerateAsync(IReadOnlyList<GenerationRequest> requests, CancellationToken cancellationToken = default) =>
            requests.Any(fails) ? throw new HttpRequestException("injected: server keeps failing") : inner.GenerateAsync(requests, cancellationToken);
    }
}
