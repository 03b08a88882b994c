using StepWiser.ML.Judging;
using StepWiser.ML.Models;
using StepWiser.ML.Tokenization;
using StepWiser.ML.Training;
using static TorchSharp.torch;

namespace StepWiser.ML.Tests.Training;

/// <summary>
/// GRPO's memory options change how an update is computed, not what it is: micro-batches accumulate the mini-batch's
/// gradient, and activation checkpointing recomputes it, each equal to one pass over the whole mini-batch up to
/// rounding (with a KL term to a reference model too); a bfloat16 model trains with its reference in bfloat16.
/// </summary>
[TestClass]
public sealed class GrpoAccumulationTests
{
    /// <summary>
    /// Three groups of four responses to random prompts, of mixed lengths, with the sampler's log-probs near the model's
    /// and advantages of both signs; the responses of one group share their prompt array (as the trainer builds them).
    /// </summary>
    private static GrpoTrainer.Rollout[] Rollouts()
    {
        var random = new Random(17);
        int[] Tokens(int n) => Enumerable.Range(0, n).Select(_ => random.Next(1, BuiltInTokenizer.VocabularySize)).ToArray();
        return Enumerable.Range(0, 3).SelectMany(_ =>
        {
            var prompt = Tokens(random.Next(5, 10));
            return Enumerable.Range(0, 4).Select(j =>
            {
                var response = Tokens(random.Next(3, 9));
                var old = response.Select(_ => (float)(-Math.Log(BuiltInTokenizer.VocabularySize) + random.NextDouble() - 0.5)).ToArray();
                return new GrpoTrainer.Rollout(prompt, response, old, j % 2 == 0 ? 1.0 : -0.8);
            });
        }).ToArray();
    }

    private static GrpoTrainer Trainer(CausalLM model, GrpoOptions options) => new(model, BuiltInTokenizer.Create(), JudgeTemplate.Compact, options);

    /// <summary>A reference model a little away from the policy, so the KL term has a gradient.</summary>
    private static CausalLM Reference(ScalarType dtype) => CausalLM.CreateRandom(BuiltInModels.Tiny, seed: 5).To(CPU, dtype);

    private static Dictionary<string, float[]> Gradients(GrpoOptions options, bool kl)
    {
        using var model = CausalLM.CreateRandom(BuiltInModels.Tiny, seed: 4);
        using var reference = kl ? Reference(ScalarType.Float32) : null;
        model.train();
        var statistics = new GrpoTrainer.UpdateStatistics();
        Trainer(model, options).Accumulate(Rollouts(), reference, statistics);
        Assert.AreEqual(Rollouts().Sum(r => r.Response.Length), statistics.Tokens, "every response token is counted once");
        return model.named_parameters().ToDictionary(p => p.name, p => p.parameter.grad!.data<float>().ToArray());
    }

    private static void AssertClose(Dictionary<string, float[]> expected, Dictionary<string, float[]> actual, string what)
    {
        foreach (var (name, e) in expected)
        {
            var scale = e.Max(Math.Abs);
            Assert.IsGreaterThan(0f, scale, $"{name} receives a gradient");
            var worst = e.Zip(actual[name]).Max(p => Math.Abs(p.First - p.Second)) / scale;
            Assert.IsLessThanOrEqualTo(1e-5, worst, $"{what}: {name} differs by {worst:E2} of its largest gradient");
        }
    }

    [TestMethod]
    [DataRow(false)]
    [DataRow(true)]
    public void MicroBatchesAndCheckpointingAccumulateTheGradientOfTheWholeMiniBatch(bool kl)
    {
        var whole = Gradients(new GrpoOptions { KlCoefficient = kl ? 0.3 : 0 }, kl);
        // 5 does not divide the 12 responses and cuts groups; 1 is one response at a time.
        AssertClose(whole, Gradients(new GrpoOptions { KlCoefficient = kl ? 0.3 : 0, MicroBatchSize = 5 }, kl), "micro-batches of 5 (shared prompts)");
        AssertClose(whole, Gradients(new GrpoOptions { KlCoefficient = kl ? 0.3 : 0, MicroBatchSize = 1, SharedPromptForward = false }, kl), "micro-batches of 1 (full sequences)");
        AssertClose(whole, Gradients(new GrpoOptions { KlCoefficient = kl ? 0.3 : 0, MicroBatchSize = 5, ActivationCheckpointing = true }, kl), "micro-batches of 5 with activation checkpointing");
        AssertClose(whole, Gradients(new GrpoOptions { KlCoefficient = kl ? 0.3 : 0, ActivationCheckpointing = true }, kl), "activation checkpointing");
    }

    [TestMethod]
    public void OneUpdateWithMicroBatchesLeavesTheParametersOfOneUpdateWithoutThem()
    {
        float[][] After(GrpoOptions options)
        {
            using var model = CausalLM.CreateRandom(BuiltInModels.Tiny, seed: 4);
            using var optimizer = new AdamW(model.named_parameters()) { WeightDecay = 0 };
            Trainer(model, options).Update(Rollouts(), optimizer, reference: null, lr: 1e-3);
            return model.parameters().Select(p => p.detach().data<float>().ToArray()).ToArray();
        }
        using var start = CausalLM.CreateRandom(BuiltInModels.Tiny, seed: 4);
        var before = start.parameters().Select(p => p.detach().data<float>().ToArray()).ToArray();
        var once = After(new GrpoOptions { MiniBatchSize = 12 });
        var accumulated = After(new GrpoOptions { MiniBatchSize = 12, MicroBatchSize = 5 });
        var moved = once.Zip(before).Max(p => p.First.Zip(p.Second).Max(q => Math.Abs(q.First - q.Second)));
        var difference = once.Zip(accumulated).Max(p => p.First.Zip(p.Second).Max(q => Math.Abs(q.First - q.Second)));
        var differences = once.Zip(accumulated).SelectMany(p => p.First.Zip(p.Second).Select(q => Math.Abs(q.First - q.Second))).ToArray();
        var beyondRounding = differences.Count(d => d > 1e-7);
        Console.WriteLine($"largest difference {difference:E2}; {beyondRounding} of {differences.Length} parameters differ by more than 1e-7");
        Assert.IsGreaterThan(5e-4, moved, "the update moves the parameters (AdamW's first step: about the learning rate)");
        // AdamW's first step is lr·g/(|g| + 1e-8): a gradient that cancels to near 1e-8 turns rounding of its sum into a
        // visible share of the step, so a few parameters may differ by a small fraction of the learning rate.
        Assert.IsLessThanOrEqualTo(1e-2 * 1e-3, difference, $"largest difference between the two updates {difference:E2}");
        Assert.IsLessThanOrEqualTo(differences.Length / 1000, beyondRounding, $"{beyondRounding} of {differences.Length} parameters differ by more than 1e-7");
    }

    [TestMethod]
    public void ABfloat16ModelUpdatesWithABfloat16KlReference()
    {
        using var model = CausalLM.CreateRandom(BuiltInModels.Tiny, seed: 4).To(CPU, ScalarType.BFloat16);
        using var reference = Reference(ScalarType.BFloat16);
        using var optimizer = new AdamW(model.named_parameters()) { WeightDecay = 0 };
        var before = model.parameters().Select(p => p.detach().to(ScalarType.Float32).data<float>().ToArray()).ToArray();
        var trainer = Trainer(model, new GrpoOptions { KlCoefficient = 0.3, MicroBatchSize = 4, ActivationCheckpointing = true });
        using (var snapshot = trainer.Snapshot())
        {
            Assert.AreEqual(ScalarType.BFloat16, snapshot.DType, "the trainer's KL reference is a bfloat16 copy, not a float32 one");
            Assert.IsTrue(snapshot.parameters().Zip(model.parameters()).All(p => p.First.equal(p.Second).all().item<bool>()), "a copy of the starting model");
        }
        var (entropy, _) = trainer.Update(Rollouts(), optimizer, reference, lr: 1e-2);
        var after = model.parameters().Select(p => p.detach().to(ScalarType.Float32).data<float>().ToArray()).ToArray();
        Assert.IsTrue(double.IsFinite(entropy) && entropy > 0, $"entropy {entropy}");
        Assert.IsTrue(after.Zip(before).All(p => p.First.Zip(p.Second).Any(q => q.First != q.Second)), "every parameter tensor moved");
        Assert.AreEqual(ScalarType.BFloat16, model.parameters().First().dtype, "the model stays bfloat16 (master weights are the optimizer's)");
    }
}
