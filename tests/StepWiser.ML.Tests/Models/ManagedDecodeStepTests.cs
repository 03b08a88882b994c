using StepWiser.ML.Generation;
using StepWiser.ML.Models;
using StepWiser.ML.Tests.Infrastructure;
using StepWiser.ML.Tokenization;
using static TorchSharp.torch;

namespace StepWiser.ML.Tests.Models;

/// <summary>
/// The managed decode step (DecodeStep): the same logits and cache writes as libtorch's decode forward on the reference
/// checkpoints and the built-in shapes, a row's logits independent of the rows decoded with it, the cases it leaves to
/// libtorch, and the engine with it.
/// </summary>
[TestClass]
public sealed class ManagedDecodeStepTests
{
    private static void RequireKernel() => DecodeProductsTests.RequireKernel();

    private static readonly int[][] Prompts = [[5, 17, 42, 99, 3], [11, 12], [7, 30, 31, 32, 33, 34, 35, 36], [60], [2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30, 32, 34, 36, 38, 40]];

    /// <summary>A cache prefilled with <see cref="Prompts"/> (left-padded), each prompt forked twice, and the step's next tokens and positions.</summary>
    private static (KvCache Cache, long[] Tokens, long[] Positions) Prefilled(CausalLM model)
    {
        using var noGrad = no_grad();
        var cache = new KvCache(model.Config, Prompts.Length, Prompts.Max(p => p.Length) + 4, model.Device, model.DType);
        using (var scope = NewDisposeScope()) model.Prefill(Prompts, cache);
        using (var fork = tensor(Enumerable.Range(0, 2 * Prompts.Length).Select(i => (long)(i / 2)).ToArray())) cache.SelectRows(fork);
        int rows = 2 * Prompts.Length;
        var tokens = Enumerable.Range(0, rows).Select(i => (long)((i * 37 + 3) % model.Config.VocabSize)).ToArray();
        var positions = Enumerable.Range(0, rows).Select(i => (long)Prompts[i / 2].Length).ToArray();
        using var mark = ones(rows, 1, dtype: ScalarType.Bool);
        cache.MarkValid(mark);
        return (cache, tokens, positions);
    }

    /// <summary>libtorch's decode forward of the same step (what the engine runs where the managed step does not apply).</summary>
    private static Tensor LibTorchStep(CausalLM model, KvCache cache, long[] tokens, long[] positions)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        int rows = tokens.Length;
        var mask = cache.Valid.narrow(1, 0, cache.Length + 1).view(rows, 1, 1, cache.Length + 1);
        var hidden = model.Hidden(tensor(tokens).view(rows, 1), tensor(positions).view(rows, 1), mask, cache);
        cache.Advance(1);
        return model.Logits(hidden.squeeze(1)).MoveToOuterDisposeScope();
    }

    private static Tensor? ManagedStep(CausalLM model, KvCache cache, long[] tokens, long[] positions)
    {
        using var noGrad = no_grad();
        var logits = DecodeStep.TryRun(model, tokens, positions, cache);
        if (logits is not null) cache.Advance(1);
        return logits;
    }

    private static void AssertSameStep(CausalLM model, double tolerance)
    {
        var (a, tokens, positions) = Prefilled(model);
        var (b, _, _) = Prefilled(model);
        using (a)
        using (b)
        {
            using var ours = ManagedStep(model, a, tokens, positions);
            Assert.IsNotNull(ours, "the managed step should apply to this model");
            using var theirs = LibTorchStep(model, b, tokens, positions);
            double scale = theirs.abs().max().item<float>();
            double diff = (ours - theirs).abs().max().item<float>();
            Assert.IsTrue(diff <= tolerance * Math.Max(1, scale), $"logits differ by {diff:E2} (values up to {scale:F2})");
            // Same argmax in every row (the greedy token).
            CollectionAssert.AreEqual(theirs.argmax(1).data<long>().ToArray(), ours.argmax(1).data<long>().ToArray());
            for (int l = 0; l < model.Config.NumHiddenLayers; l++)
            {
                double keys = (a.KeysOf(l) - b.KeysOf(l)).abs().max().item<float>();
                double values = (a.ValuesOf(l) - b.ValuesOf(l)).abs().max().item<float>();
                Assert.IsTrue(keys <= 1e-5 && values <= 1e-5, $"layer {l}: cached keys differ by {keys:E2}, values by {values:E2}");
            }
        }
    }

    [TestMethod]
    [DataRow("qwen2-tiny")]   // grouped-query attention, q/k/v biases
    [DataRow("llama-tiny")]   // no biases, an untied head
    [DataRow("qwen3-tiny")]   // per-head query/key norms, head_dim ≠ hidden / heads
    [DataRow("llama3-tiny-rope-scaled")]   // Llama 3.1 rope scaling
    public void AStepOfAReferenceCheckpointMatchesLibTorchs(string checkpoint)
    {
        RequireKernel();
        using var model = HuggingFaceCheckpoint.Load(TestData.PathOf("reference-models", checkpoint));
        AssertSameStep(model, 1e-5);
    }

    [TestMethod]
    public void AStepOfTheTiedBFloat16CheckpointLoadedAsFloat32MatchesLibTorchs()
    {
        RequireKernel();
        using var model = HuggingFaceCheckpoint.Load(TestData.PathOf("reference-models", "qwen2-tiny-tied-bf16"), dtype: ScalarType.Float32);
        Assert.IsTrue(model.Config.TieWordEmbeddings);
        AssertSameStep(model, 1e-5);
    }

    [TestMethod]
    public void AStepOfTheBuiltInShapesMatchesLibTorchs()
    {
        RequireKernel();
        foreach (var config in new[] { BuiltInModels.Tiny, BuiltInModels.Small, BuiltInModels.Medium })
        {
            using var model = CausalLM.CreateRandom(config, seed: 3);
            model.eval();
            AssertSameStep(model, 1e-5);
        }
    }

    [TestMethod]
    public void ARowsLogitsDoNotDependOnTheRowsDecodedWithIt()
    {
        RequireKernel();
        using var model = CausalLM.CreateRandom(BuiltInModels.Tiny, seed: 4);
        var (all, tokens, positions) = Prefilled(model);
        var (alone, _, _) = Prefilled(model);
        using (all)
        using (alone)
        {
            using var batch = ManagedStep(model, all, tokens, positions)!;
            int row = 7;
            using (var keep = tensor(new long[] { row })) alone.SelectRows(keep);
            using var single = ManagedStep(model, alone, [tokens[row]], [positions[row]])!;
            Assert.IsTrue(single.eq(batch.narrow(0, row, 1)).all().item<bool>(), "row 7 decoded alone differs from row 7 of the batch");
        }
    }

    [TestMethod]
    public void AStepSplitAcrossThreadsEqualsTheStepOnOneThreadBitForBit()
    {
        RequireKernel();
        using var model = CausalLM.CreateRandom(BuiltInModels.Medium, seed: 7);
        var results = new List<(Tensor Logits, KvCache Cache)>();
        try
        {
            foreach (var threads in new[] { 1, 2, 3 })
            {
                DecodeStep.ThreadsOverride = threads;
                var (cache, tokens, positions) = Prefilled(model);
                if (threads > 1 && !ThreadTeam.Available) Assert.Inconclusive("libtorch's OpenMP team is not in this process: steps run on one thread");
                Assert.AreEqual(threads, DecodeStep.Parts(model.Config, tokens.Length), "the step should be split");
                results.Add((ManagedStep(model, cache, tokens, positions)!, cache));
            }
            for (int i = 1; i < results.Count; i++)
            {
                Assert.IsTrue(results[i].Logits.eq(results[0].Logits).all().item<bool>(), $"logits on {i + 1} threads differ from one thread's");
                for (int l = 0; l < model.Config.NumHiddenLayers; l++)
                    Assert.IsTrue(results[i].Cache.KeysOf(l).eq(results[0].Cache.KeysOf(l)).all().item<bool>()
                        && results[i].Cache.ValuesOf(l).eq(results[0].Cache.ValuesOf(l)).all().item<bool>(), $"layer {l}'s cache on {i + 1} threads differs");
            }
        }
        finally
        {
            DecodeStep.ThreadsOverride = null;
            foreach (var (logits, cache) in results) { logits.Dispose(); cache.Dispose(); }
        }
    }

    [TestMethod]
    public void ItLeavesGradientsUnsupportedModelsAndLargeStepsOfLargeModelsToLibTorch()
    {
        RequireKernel();
        using var tiny = CausalLM.CreateRandom(BuiltInModels.Tiny, seed: 5);
        var (cache, tokens, positions) = Prefilled(tiny);
        using (cache)
        {
            Assert.IsNull(DecodeStep.TryRun(tiny, tokens, positions, cache), "gradients are on: the step is libtorch's");
            Assert.AreEqual(Prompts.Max(p => p.Length), cache.Length, "nothing was written");
        }
        Assert.AreEqual(int.MaxValue, DecodeStep.MaxRows(BuiltInModels.Tiny));
        Assert.AreEqual(DecodeProducts.MaxRows, DecodeStep.MaxRows(BuiltInModels.Make(hidden: 512, layers: 1, heads: 8, kvHeads: 4, intermediate: 1024)));
        using var medium = CausalLM.CreateRandom(BuiltInModels.Medium, seed: 5);
        try
        {
            DecodeStep.ThreadsOverride = 1;   // one thread: Medium's steps above 16 rows are libtorch's
            Assert.AreEqual(DecodeProducts.MaxRows, DecodeStep.MaxRows(BuiltInModels.Medium));
            using var noGrad = no_grad();
            using var big = new KvCache(medium.Config, 17, 8, medium.Device, medium.DType);
            Assert.IsNull(DecodeStep.TryRun(medium, new long[17], new long[17], big), "17 rows of Medium on one thread are libtorch's");
        }
        finally
        {
            DecodeStep.ThreadsOverride = null;
        }
        tiny.To(CPU, ScalarType.BFloat16);
        Assert.IsFalse(DecodeStep.Applies(tiny), "a bfloat16 model is libtorch's");
    }

    [TestMethod]
    public void TheEngineRunsEveryDecodeStepOfASmallModelManagedAndGivesLibTorchsGreedyTokens()
    {
        RequireKernel();
        using var model = CausalLM.CreateRandom(BuiltInModels.Small, seed: 6);
        var tokenizer = BuiltInTokenizer.Create();
        var on = new LocalTextGenerator(model, tokenizer);
        var off = new LocalTextGenerator(model, tokenizer, new LocalGeneratorOptions { UseManagedDecodeKernel = false });
        var options = SamplingOptions.Greedy(24) with { ReturnLogProbs = true, NumSamples = 2 };
        var requests = Enumerable.Range(0, 20).Select(i => new GenerationRequest { PromptTokenIds = Enumerable.Range(0, 3 + i % 7).Select(j => 32 + (i * 11 + j * 5) % 90).ToArray(), Options = options }).ToArray();
        var a = on.Generate(requests);
        var b = off.Generate(requests);
        Assert.AreEqual(on.Profile.Steps, on.ManagedSteps, "40 rows of a hidden-128 model: every step managed");
        Assert.AreEqual(0, off.ManagedSteps);
        for (int i = 0; i < requests.Length; i++)
            for (int s = 0; s < 2; s++)
            {
                CollectionAssert.AreEqual(b[i].Samples[s].TokenIds.ToArray(), a[i].Samples[s].TokenIds.ToArray(), $"request {i} sample {s}");
                for (int t = 0; t < a[i].Samples[s].LogProbs!.Count; t++)
                    Assert.AreEqual(b[i].Samples[s].LogProbs![t], a[i].Samples[s].LogProbs![t], 1e-4, $"request {i} sample {s} token {t}");
            }
    }
}
