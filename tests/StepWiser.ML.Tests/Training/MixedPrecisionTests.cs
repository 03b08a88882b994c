using StepWiser.ML.Models;
using StepWiser.ML.Tokenization;
using StepWiser.ML.Training;
using Parameter = TorchSharp.Modules.Parameter;
using static TorchSharp.torch;

namespace StepWiser.ML.Tests.Training;

/// <summary>
/// Training in bfloat16: AdamW's float32 master weights (whole, or split in two halves) keep updates far below
/// bfloat16's resolution, which a plain bfloat16 update loses, and a small model trained in bfloat16 learns as the
/// float32 run does.
/// </summary>
[TestClass]
public sealed class MixedPrecisionTests
{
    private const double FineTuningRate = 1e-6;
    private const int Updates = 3000;

    /// <summary>A parameter of 256 values in [0.5, 1), where bfloat16's step is 2⁻⁸ ≈ 0.0039 (float16's 2⁻¹¹).</summary>
    private static Parameter Weights(ScalarType dtype = ScalarType.BFloat16)
    {
        using var values = rand(256, generator: new TorchSharp.torch.Generator(3)).mul_(0.5).add_(0.5);
        return new Parameter(values.to(dtype));
    }

    /// <summary>
    /// <see cref="Updates"/> AdamW updates at <see cref="FineTuningRate"/> with a constant unit gradient (each moves a
    /// weight by exactly the learning rate: m̂ = 1, v̂ = 1), then the weights in float32.
    /// </summary>
    private static float[] Train(Parameter p, OptimizerPrecision precision)
    {
        using var optimizer = new AdamW([("w", p)]) { Precision = precision, WeightDecay = 0 };
        p.grad = ones_like(p);
        for (var i = 0; i < Updates; i++) optimizer.Update(FineTuningRate);
        using var wide = p.detach().to(ScalarType.Float32);
        return wide.data<float>().ToArray();
    }

    [TestMethod]
    public void PlainBfloat16UpdatesAtLearningRate1e6LeaveTheWeightsUnchangedWhileMasterWeightsMoveThem()
    {
        using var start = Weights();
        var before = start.detach().to(ScalarType.Float32).data<float>().ToArray();
        // The exact float32 trajectory: every weight 3000 × 1e-6 = 0.003 lower, rounded once to bfloat16 at the end.
        using var expectedWide = tensor(before).sub_(Updates * FineTuningRate);
        var expected = expectedWide.to(ScalarType.BFloat16).to(ScalarType.Float32).data<float>().ToArray();

        using var plainWeights = Weights();
        var plain = Train(plainWeights, OptimizerPrecision.ParameterType);
        using var masterWeights = Weights();
        var master = Train(masterWeights, OptimizerPrecision.MasterWeights);
        using var splitWeights = Weights();
        var split = Train(splitWeights, OptimizerPrecision.SplitMasterWeights);

        CollectionAssert.AreEqual(before, plain, "plain bfloat16 updates of 1e-6 are each rounded away: the weights never move");
        var moved = master.Zip(before).Count(p => p.First != p.Second);
        Assert.IsGreaterThanOrEqualTo(240, moved, $"master weights moved {moved} of 256 weights");
        Assert.AreEqual(256, master.Zip(expected).Count(p => p.First == p.Second), "master weights land on the float32 trajectory rounded to bfloat16");
        // Split master weights: the exact float32 master, seen truncated toward zero (within one bfloat16 step of it).
        const float bfloat16Step = 1f / 256;
        var trajectory = expectedWide.data<float>().ToArray();
        Assert.IsTrue(split.Zip(trajectory).All(p => p.First <= p.Second && p.Second - p.First < bfloat16Step), "split master weights are the trajectory truncated to bfloat16");
        Assert.IsGreaterThanOrEqualTo(240, split.Zip(before).Count(p => p.First != p.Second), "split master weights move the weights too");
    }

    [TestMethod]
    [DataRow(OptimizerPrecision.MasterWeights)]
    [DataRow(OptimizerPrecision.SplitMasterWeights)]
    public void Float16WeightsFollowTheFloat32TrajectoryThroughAFloat32Master(OptimizerPrecision precision)
    {
        // float16 is not the upper half of a float32: split master weights keep a whole float32 copy for it.
        using var start = Weights(ScalarType.Float16);
        using var expectedWide = start.detach().to(ScalarType.Float32).sub_(Updates * FineTuningRate);
        var expected = expectedWide.to(ScalarType.Float16).to(ScalarType.Float32).data<float>().ToArray();
        using var weights = Weights(ScalarType.Float16);
        var trained = Train(weights, precision);
        Assert.AreEqual(256, trained.Zip(expected).Count(p => p.First == p.Second), "the float32 trajectory rounded to float16");
    }

    [TestMethod]
    public void OptimizerStateRoundTripsThroughSafetensorsWithMasterWeights()
    {
        using var a = Weights();
        using var b = Weights();
        using var first = new AdamW([("w", a)]) { WeightDecay = 0 };
        a.grad = ones_like(a);
        for (var i = 0; i < 5; i++) first.Update(1e-3);
        var path = Path.Combine(Path.GetTempPath(), $"stepwiser-adamw-{Guid.NewGuid():N}.safetensors");
        try
        {
            SafeTensorsWriter.Write(path, first.StateTensors());
            using (no_grad()) b.copy_(a);
            using var second = new AdamW([("w", b)]) { WeightDecay = 0 };
            second.LoadState(SafeTensorsFile.Open(path), first.Step);
            b.grad = ones_like(b);
            CollectionAssert.Contains(first.StateTensors().Select(t => t.Name).ToArray(), "master.w", "the float32 master copy is part of the saved state");
            for (var i = 0; i < 5; i++)
            {
                first.Update(1e-3);
                second.Update(1e-3);
            }
            var masters = (first.StateTensors().Single(t => t.Name == "master.w").Tensor, second.StateTensors().Single(t => t.Name == "master.w").Tensor);
            Assert.IsTrue(masters.Item1.allclose(masters.Item2, rtol: 0, atol: 0), "the resumed optimizer continues exactly");
        }
        finally
        {
            File.Delete(path);
        }
    }

    [TestMethod]
    [TestCategory("Slow")]
    public void ASmallModelTrainedInBfloat16LearnsAsTheFloat32RunDoes()
    {
        var random = new Random(7);
        var examples = Enumerable.Range(0, 2000).Select(_ =>
        {
            var digits = string.Concat(Enumerable.Range(0, random.Next(3, 6)).Select(_ => (char)('0' + random.Next(10))));
            return new SftExample($"rev {digits}=", new string(digits.Reverse().ToArray()));
        }).ToArray();
        using var pin = TorchThreads.Pin(1);
        double[] Curve(ScalarType dtype, OptimizerPrecision precision)
        {
            // The same start for every run: a float32 model rounded to bfloat16 (and back for the float32 run).
            using var model = CausalLM.CreateRandom(BuiltInModels.Tiny, seed: 1).To(CPU, ScalarType.BFloat16).To(CPU, dtype);
            var options = new SftOptions { Steps = 300, BatchSize = 32, LearningRate = 1e-3, WarmupSteps = 10, Precision = precision };
            var losses = new SftTrainer(model, BuiltInTokenizer.Create(), options).Train(examples).Losses;
            return losses.Chunk(50).Select(c => c.Average()).ToArray();   // the mean loss of each 50 updates
        }
        var wide = Curve(ScalarType.Float32, OptimizerPrecision.MasterWeights);
        var master = Curve(ScalarType.BFloat16, OptimizerPrecision.MasterWeights);
        var split = Curve(ScalarType.BFloat16, OptimizerPrecision.SplitMasterWeights);
        var text = $"float32 {Format(wide)}; bfloat16 master weights {Format(master)}; bfloat16 split master weights {Format(split)}";

        Console.WriteLine(text);
        Assert.IsLessThan(wide[0] / 3, wide[^1], "the float32 run learns: " + text);
        // Within 10 % of the float32 curve in every window of 50 updates (bfloat16's forward rounds each product to 8 bits).
        const double tolerance = 0.10;
        for (var i = 0; i < wide.Length; i++)
        {
            Assert.IsLessThanOrEqualTo(tolerance, Math.Abs(master[i] / wide[i] - 1), $"window {i}, master weights: " + text);
            Assert.IsLessThanOrEqualTo(tolerance, Math.Abs(split[i] / wide[i] - 1), $"window {i}, split master weights: " + text);
        }
    }

    private static string Format(double[] curve) => string.Join(" ", curve.Select(l => l.ToString("F3", System.Globalization.CultureInfo.InvariantCulture)));
}
