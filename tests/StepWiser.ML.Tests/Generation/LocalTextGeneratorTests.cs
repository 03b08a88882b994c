using StepWiser.ML.Generation;
using StepWiser.ML.Models;
using StepWiser.ML.Tokenization;
using StepWiser.ML.Tests.Infrastructure;

namespace StepWiser.ML.Tests.Generation;

[TestClass]
public sealed class LocalTextGeneratorTests
{
    private static readonly int[][] Prompts =
    [
        [5, 17, 42, 99, 3, 64, 8],
        [11, 12],
        [7, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 44, 45, 46, 47],
        [60],
    ];

    private static LocalTextGenerator Engine(string checkpoint, bool cache = true, int maxBatchRows = 64) =>
        new(HuggingFaceCheckpoint.Load(TestData.PathOf("reference-models", checkpoint)), BuiltInTokenizer.Create(),
            new LocalGeneratorOptions { UseKvCache = cache, MaxBatchRows = maxBatchRows });

    private static GenerationRequest Request(int[] prompt, SamplingOptions options) => new() { PromptTokenIds = prompt, Options = options };

    [TestMethod]
    [DataRow("qwen2-tiny")]
    [DataRow("qwen2-tiny-tied-bf16")]
    [DataRow("llama-tiny")]
    public void CachedGreedyEqualsNoCacheGreedy(string checkpoint)
    {
        var options = SamplingOptions.Greedy(40) with { ReturnLogProbs = true };
        var cached = Engine(checkpoint).Generate(Prompts.Select(p => Request(p, options)).ToArray());
        var uncached = Engine(checkpoint, cache: false).Generate(Prompts.Select(p => Request(p, options)).ToArray());
        for (int i = 0; i < Prompts.Length; i++)
        {
            CollectionAssert.AreEqual(uncached[i].Samples[0].TokenIds.ToArray(), cached[i].Samples[0].TokenIds.ToArray(), $"prompt {i}");
            var a = cached[i].Samples[0].LogProbs!;
            var b = uncached[i].Samples[0].LogProbs!;
            for (int t = 0; t < a.Count; t++) Assert.AreEqual(b[t], a[t], 1e-4, $"prompt {i} token {t} log-prob");
        }
    }

    [TestMethod]
    public void TheProfileCountsDecodeStepsAndSplitsTheirTime()
    {
        var engine = Engine("qwen2-tiny");
        Assert.AreEqual(0, engine.Profile.Steps);
        var results = engine.Generate(Prompts.Select(p => Request(p, SamplingOptions.Greedy(12))).ToArray());
        var profile = engine.Profile;
        // One decode step per token after the first (the first comes from the prefill's logits), for the longest row.
        Assert.AreEqual(results.Max(r => r.Samples[0].TokenIds.Count) - 1, profile.Steps);
        Assert.IsTrue(profile.Prefill > TimeSpan.Zero && profile.Forward > TimeSpan.Zero && profile.Sampling > TimeSpan.Zero && profile.Bookkeeping >= TimeSpan.Zero, profile.ToString());
        Assert.AreEqual(profile.Prefill + profile.Forward + profile.Sampling + profile.Bookkeeping, profile.Total);
        engine.ResetProfile();
        Assert.AreEqual(GenerationProfile.Empty, engine.Profile);
    }

    [TestMethod]
    public void MixedLengthBatchEqualsEachPromptAlone()
    {
        var engine = Engine("qwen2-tiny");
        var options = SamplingOptions.Greedy(30);
        var batched = engine.Generate(Prompts.Select(p => Request(p, options)).ToArray());
        for (int i = 0; i < Prompts.Length; i++)
        {
            var alone = engine.Generate([Request(Prompts[i], options)]);
            CollectionAssert.AreEqual(alone[0].Samples[0].TokenIds.ToArray(), batched[i].Samples[0].TokenIds.ToArray(), $"prompt {i}");
        }
    }

    [TestMethod]
    public void ForkedSamplesEqualIndependentSamplesWithTheSameSeeds()
    {
        var engine = Engine("llama-tiny");
        var sampling = new SamplingOptions { NumSamples = 6, MaxNewTokens = 25, Temperature = 1.0f, TopP = 0.9f, TopK = 50, Seed = 1234 };
        var forked = engine.Generate([Request(Prompts[0], sampling), Request(Prompts[2], sampling with { Seed = 99 })]);
        var distinct = forked[0].Samples.Select(s => string.Join(",", s.TokenIds)).Distinct().Count();
        Assert.IsTrue(distinct > 1, "temperature-1 samples should differ from one another");
        var independent = engine.Generate(Enumerable.Range(0, 6).Select(j => Request(Prompts[0], sampling with { NumSamples = 1, Seed = 1234 + j })).ToArray());
        var noCache = Engine("llama-tiny", cache: false).Generate([Request(Prompts[0], sampling)]);
        for (int j = 0; j < 6; j++)
        {
            CollectionAssert.AreEqual(independent[j].Samples[0].TokenIds.ToArray(), forked[0].Samples[j].TokenIds.ToArray(), $"sample {j}");
            CollectionAssert.AreEqual(noCache[0].Samples[j].TokenIds.ToArray(), forked[0].Samples[j].TokenIds.ToArray(), $"sample {j} without cache");
        }
        // Splitting the same work into smaller batches changes nothing either.
        var small = Engine("llama-tiny", maxBatchRows: 4).Generate([Request(Prompts[0], sampling), Request(Prompts[2], sampling with { Seed = 99 })]);
        for (int r = 0; r < 2; r++)
            for (int j = 0; j < 6; j++)
                CollectionAssert.AreEqual(forked[r].Samples[j].TokenIds.ToArray(), small[r].Samples[j].TokenIds.ToArray());
    }

    [TestMethod]
    public void EachSequenceStopsOnItsOwnStopStringWhileOthersContinue()
    {
        var engine = Engine("qwen2-tiny");
        var free = engine.Generate([Request(Prompts[0], SamplingOptions.Greedy(30))])[0].Samples[0];
        Assert.AreEqual(FinishReason.Length, free.Finish);
        string stop = free.Text.Substring(10, 2);
        int expectedCut = free.Text.IndexOf(stop, StringComparison.Ordinal);

        var results = engine.Generate([
            Request(Prompts[0], SamplingOptions.Greedy(30) with { Stop = [stop] }),
            Request(Prompts[1], SamplingOptions.Greedy(30)),
        ]);
        var stopped = results[0].Samples[0];
        Assert.AreEqual(FinishReason.Stop, stopped.Finish);
        Assert.AreEqual(stop, stopped.StopString);
        Assert.AreEqual(free.Text[..expectedCut], stopped.Text);
        Assert.IsTrue(stopped.TokenIds.Count < 30);
        var other = engine.Generate([Request(Prompts[1], SamplingOptions.Greedy(30))])[0].Samples[0];
        CollectionAssert.AreEqual(other.TokenIds.ToArray(), results[1].Samples[0].TokenIds.ToArray(), "the other row must run on unchanged");
        Assert.AreEqual(30, results[1].Samples[0].TokenIds.Count);
    }

    [TestMethod]
    public void EndOfSequenceTokenEndsTheSequenceAndIsNotInTheText()
    {
        // Make token 2 (the config's eos) the greedy choice after a few steps by reading what greedy produces.
        var engine = Engine("qwen2-tiny");
        var free = engine.Generate([Request(Prompts[2], SamplingOptions.Greedy(20))])[0].Samples[0];
        int eos = free.TokenIds[5];
        var model = HuggingFaceCheckpoint.Load(TestData.PathOf("reference-models", "qwen2-tiny"));
        var withEos = new LocalTextGenerator(model, BuiltInTokenizer.Create(), new LocalGeneratorOptions { ExtraEosTokenIds = [eos] });
        var sample = withEos.Generate([Request(Prompts[2], SamplingOptions.Greedy(20))])[0].Samples[0];
        int first = free.TokenIds.ToList().IndexOf(eos);
        Assert.AreEqual(FinishReason.EndOfSequence, sample.Finish);
        Assert.AreEqual(first + 1, sample.TokenIds.Count);
        Assert.AreEqual(BuiltInTokenizer.Create().Decode(free.TokenIds.Take(first)), sample.Text);
    }

    [TestMethod]
    [TestCategory("Slow")]
    public void RepeatedGenerationDoesNotLeakTensors()
    {
        var engine = Engine("qwen2-tiny");
        var requests = Prompts.Select(p => Request(p, new SamplingOptions { NumSamples = 3, MaxNewTokens = 6, Seed = 5, Stop = ["\u0003"] })).ToArray();
        engine.Generate(requests);
        GC.Collect();
        long before = TorchSharp.torch.Tensor.TotalCount;
        for (int i = 0; i < 1000; i++) engine.Generate(requests);   // issue 17: no growth over 1,000 generate calls
        GC.Collect();
        long after = TorchSharp.torch.Tensor.TotalCount;
        Assert.IsTrue(after - before <= 2, $"live tensors grew from {before} to {after} over 1,000 generation calls");
    }

    [TestMethod]
    public void InvalidOptionsAreRejectedWithTheirName()
    {
        var engine = Engine("qwen2-tiny");
        var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => engine.Generate([Request(Prompts[0], new SamplingOptions { TopP = 0 })]));
        StringAssert.Contains(e.Message, "TopP");
        Assert.ThrowsExactly<ArgumentException>(() => engine.Generate([new GenerationRequest()]));
    }
}
