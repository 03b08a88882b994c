using StepWiser.ML.Models;
using static TorchSharp.torch;

namespace StepWiser.ML.Tests.Models;

[TestClass]
public sealed class ForwardAtTests
{
    [TestMethod]
    public void LogitsAtChosenPositionsEqualThoseOfTheFullForwardPass()
    {
        using var model = CausalLM.CreateRandom(BuiltInModels.Tiny, seed: 3);
        model.eval();
        using var guard = no_grad();
        using var ids = randint(0, 256, [3, 17], dtype: ScalarType.Int64, generator: new Generator(5));
        using var full = model.Forward(ids);                                   // (3, 17, V)
        long[] at = [0, 5, 16, 17 + 3, 2 * 17 + 16];                          // flat b·T + t, across rows
        using var chosen = model.ForwardAt(ids, tensor(at));                   // (5, V)
        Assert.AreEqual(at.Length, chosen.shape[0]);
        Assert.AreEqual(full.shape[2], chosen.shape[1]);
        for (var i = 0; i < at.Length; i++)
        {
            using var expected = full[at[i] / 17, at[i] % 17];
            using var row = chosen[i];
            Assert.IsTrue(row.allclose(expected, rtol: 1e-5, atol: 1e-5), $"position {at[i]}: max difference {(row - expected).abs().max().item<float>()}");
        }
    }
}
