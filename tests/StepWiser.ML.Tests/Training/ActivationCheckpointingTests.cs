using StepWiser.ML.Models;
using StepWiser.ML.Tokenization;
using StepWiser.ML.Training;
using static TorchSharp.torch;

namespace StepWiser.ML.Tests.Training;

/// <summary>
/// Activation checkpointing (<see cref="CausalLM.ForwardBackward"/>): recomputing each layer in the backward pass gives
/// every parameter the gradient of the plain pass, for Qwen2 (tied head), Qwen3 (query/key norms, untied head) and
/// bfloat16 weights, and supervised training with it follows the same losses.
/// </summary>
[TestClass]
public sealed class ActivationCheckpointingTests
{
    private static readonly ModelConfig Qwen3Untied = BuiltInModels.Tiny with { ModelType = "qwen3", Architectures = ["Qwen3ForCausalLM"], TieWordEmbeddings = false };

    /// <summary>The parameters' gradients of a next-token loss over a random (3, 21) batch, with or without checkpointing.</summary>
    private static Dictionary<string, float[]> Gradients(ModelConfig config, ScalarType dtype, bool checkpoint, out double loss)
    {
        using var model = CausalLM.CreateRandom(config, seed: 4).To(CPU, dtype);
        model.train();
        using var ids = randint(0, config.VocabSize, [3, 21], dtype: ScalarType.Int64, generator: new Generator(9));
        using var targets = ids.roll(-1, 1).reshape(-1);
        using var value = model.ForwardBackward(ids, hidden =>
            nn.functional.cross_entropy(model.Logits(hidden).reshape(-1, config.VocabSize).to(ScalarType.Float32), targets), checkpoint);
        loss = value.item<float>();
        return model.named_parameters().ToDictionary(p => p.name, p =>
        {
            using var grad = p.parameter.grad!.to(ScalarType.Float32);
            return grad.data<float>().ToArray();
        });
    }

    [TestMethod]
    [DataRow("qwen2-tied", ScalarType.Float32, 1e-5)]
    [DataRow("qwen3-untied", ScalarType.Float32, 1e-5)]
    [DataRow("qwen2-tied", ScalarType.BFloat16, 2e-2)]
    public void RecomputingEachLayerGivesTheGradientsOfThePlainPass(string architecture, ScalarType dtype, double tolerance)
    {
        var config = architecture == "qwen3-untied" ? Qwen3Untied : BuiltInModels.Tiny;
        var plain = Gradients(config, dtype, checkpoint: false, out var plainLoss);
        var recomputed = Gradients(config, dtype, checkpoint: true, out var recomputedLoss);

        Assert.AreEqual(plainLoss, recomputedLoss, 1e-6, "the same loss");
        CollectionAssert.AreEquivalent(plain.Keys.ToArray(), recomputed.Keys.ToArray());
        foreach (var (name, expected) in plain)
        {
            var actual = recomputed[name];
            var scale = Math.Max(expected.Max(Math.Abs), 1e-12f);
            Assert.IsGreaterThan(0f, scale, $"{name} receives a gradient");
            var worst = expected.Zip(actual).Max(p => Math.Abs(p.First - p.Second)) / scale;
            // bfloat16: a recomputed layer's products round differently (fused projections without gradients, separate with).
            Assert.IsLessThanOrEqualTo(tolerance, worst, $"{name}: largest difference {worst:E2} of the largest gradient");
        }
    }

    [TestMethod]
    public void SupervisedTrainingWithCheckpointingFollowsTheSameLosses()
    {
        var random = new Random(3);
        var examples = Enumerable.Range(0, 300).Select(_ =>
        {
            var digits = string.Concat(Enumerable.Range(0, random.Next(3, 6)).Select(_ => (char)('0' + random.Next(10))));
            return new SftExample($"rev {digits}=", new string(digits.Reverse().ToArray()));
        }).ToArray();
        using var pin = TorchThreads.Pin(1);
        (IReadOnlyList<double> Losses, CausalLM Model) Run(bool checkpoint)
        {
            var model = CausalLM.CreateRandom(BuiltInModels.Tiny, seed: 2);
            var options = new SftOptions { Steps = 20, BatchSize = 8, GradientAccumulationSteps = 2, LearningRate = 2e-3, WarmupSteps = 4, ActivationCheckpointing = checkpoint };
            return (new SftTrainer(model, BuiltInTokenizer.Create(), options).Train(examples).Losses, model);
        }
        var (plainLosses, plainModel) = Run(false);
        var (checkpointedLosses, checkpointedModel) = Run(true);
        using (plainModel)
        using (checkpointedModel)
        {
            Assert.IsLessThan(plainLosses[0] * 0.8, plainLosses[^1], "the run learns");
            for (var i = 0; i < plainLosses.Count; i++) Assert.AreEqual(plainLosses[i], checkpointedLosses[i], 1e-4, $"update {i + 1}");
            var expected = plainModel.named_parameters().ToDictionary(p => p.name, p => p.parameter);
            foreach (var (name, p) in checkpointedModel.named_parameters())
                Assert.IsTrue(expected[name].allclose(p, rtol: 0, atol: 1e-5), $"{name} differs after 20 updates");
        }
    }
}
