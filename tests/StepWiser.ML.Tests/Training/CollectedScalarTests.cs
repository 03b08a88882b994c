using StepWiser.ML.Models;
using StepWiser.ML.Training;
using static TorchSharp.torch;

namespace StepWiser.ML.Tests.Training;

/// <summary>
/// TorchSharp's tensor operators make a temporary Scalar per call and drop it before the native call returns, so a
/// garbage collection in between can free it while libtorch reads it (KeptScalars). The training loop's every op with a
/// scalar (each layer's residual sums and norm, the attention scale, the loss, AdamW's update) passes a Scalar kept alive
/// instead: under a thread that collects without pause, a Tiny model's forward, backward and AdamW update run to the end.
/// (Before the fix a main job failed so in a verdict stage, and this test failed within its first second.)
/// </summary>
[TestClass]
public sealed class CollectedScalarTests
{
    [TestMethod]
    [Timeout(300_000)]
    public void TrainingStepsRunToTheEndUnderAThreadThatCollectsWithoutPause()
    {
        using var model = CausalLM.CreateRandom(BuiltInModels.Tiny, seed: 1);
        using var optimizer = new AdamW(model.named_parameters());
        using var ids = randint(0, BuiltInModels.Tiny.VocabSize, [2, 16], dtype: ScalarType.Int64, generator: new Generator(2));
        var stop = false;
        var collections = 0;
        var collector = new Thread(() =>
        {
            while (!Volatile.Read(ref stop)) { GC.Collect(); GC.WaitForPendingFinalizers(); collections++; }
        }) { IsBackground = true };
        collector.Start();
        try
        {
            for (var step = 0; step < 500; step++)
            {
                using var scope = NewDisposeScope();
                var loss = model.Forward(ids).to(ScalarType.Float32).log_softmax(-1).mean().neg();
                loss.backward();
                optimizer.Update(1e-3);
                optimizer.ZeroGrad();
            }
        }
        finally
        {
            Volatile.Write(ref stop, true);
            collector.Join();
        }
        Assert.IsGreaterThan(100, collections, "the collector ran throughout the steps");
    }
}
