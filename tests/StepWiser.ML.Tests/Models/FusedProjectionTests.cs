using StepWiser.ML.Models;
using TorchSharp;
using StepWiser.ML.Tests.Infrastructure;
using static TorchSharp.torch;

namespace StepWiser.ML.Tests.Models;

/// <summary>
/// Inference runs q/k/v and gate/up as one matrix product each over a block the separate parameters are views of
/// (FusedProjections); training runs them separately. These tests hold the two paths to the same logits, bit for bit on
/// the CPU, through updates, moves, saving and loading.
/// </summary>
[TestClass]
public sealed class FusedProjectionTests
{
    private static Tensor Ids(int rows, int length, long vocab, int seed) =>
        randint(0, vocab, [rows, length], dtype: ScalarType.Int64, generator: new Generator((ulong)seed));

    /// <summary>Logits of the fused path (no gradients) and of the separate projections (gradients enabled), detached.</summary>
    private static (Tensor Fused, Tensor Separate) BothPaths(CausalLM model, Tensor ids)
    {
        Tensor fused;
        using (no_grad()) fused = model.Forward(ids);
        using var withGrad = model.Forward(ids);
        return (fused, withGrad.detach());
    }

    private static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();

    private static void AssertBitwiseEqual(Tensor expected, Tensor actual, string what) =>
        Assert.IsTrue(Same(expected, actual), $"{what}: max difference {(expected.to(ScalarType.Float32) - actual.to(ScalarType.Float32)).abs().max().item<float>()}");

    [TestMethod]
    public void FusedInferenceGivesTheSeparateProjectionsLogitsBitForBit()
    {
        var models = new (string Name, Func<CausalLM> Make)[]
        {
            ("built-in Tiny", () => CausalLM.CreateRandom(BuiltInModels.Tiny, seed: 2)),
            ("built-in Medium", () => CausalLM.CreateRandom(BuiltInModels.Medium, seed: 2)),
            ("qwen2-tiny (q/k/v biases)", () => HuggingFaceCheckpoint.Load(TestData.PathOf("reference-models", "qwen2-tiny"))),
            ("llama-tiny", () => HuggingFaceCheckpoint.Load(TestData.PathOf("reference-models", "llama-tiny"))),
        };
        foreach (var (name, make) in models)
        {
            using var model = make();
            Assert.IsTrue(model.UsesFusedProjections, name);
            foreach (var (rows, length) in new[] { (1, 1), (3, 17), (16, 40) })
            {
                using var ids = Ids(rows, length, model.Config.VocabSize, seed: rows);
                var (fused, separate) = BothPaths(model, ids);
                using (fused) using (separate) AssertBitwiseEqual(separate, fused, $"{name}, {rows} × {length}");
            }
        }
    }

    [TestMethod]
    public void ParametersKeepTheirHuggingFaceNamesAndNothingElseIsRegistered()
    {
        using var model = CausalLM.CreateRandom(BuiltInModels.Tiny, seed: 1);
        var names = model.state_dict().Keys.ToList();
        CollectionAssert.AreEquivalent(model.named_parameters().Select(p => p.name).ToList(), names, "the state dict holds the parameters and no fused block");
        foreach (var projection in new[] { "self_attn.q_proj.weight", "self_attn.k_proj.weight", "self_attn.v_proj.weight", "mlp.gate_proj.weight", "mlp.up_proj.weight", "mlp.down_proj.weight" })
            CollectionAssert.Contains(names, $"model.layers.1.{projection}");
        Assert.AreEqual(2 + 2 * 12, names.Count, string.Join(", ", names));   // embedding, final norm; 12 tensors a layer (q/k/v biases)
    }

    [TestMethod]
    public void UpdatesMovesSavesAndLoadsReachTheFusedBlock()
    {
        using var model = CausalLM.CreateRandom(BuiltInModels.Tiny, seed: 4);
        using var ids = Ids(4, 12, model.Config.VocabSize, seed: 9);
        Tensor before;
        using (no_grad()) before = model.Forward(ids);

        // An optimiser step updates the separate parameters in place; the fused block must see it.
        using (var optimizer = TorchSharp.torch.optim.AdamW(model.parameters(), lr: 1e-2))
        {
            using var loss = model.Forward(ids).pow(2).mean();
            loss.backward();
            optimizer.step();
        }
        var (fused, separate) = BothPaths(model, ids);
        Assert.IsFalse(Same(fused, before), "the update changed the model");
        AssertBitwiseEqual(separate, fused, "after an AdamW step");

        // TorchSharp's own move replaces the parameters: the separate projections run until To fuses the new ones.
        model.to(ScalarType.Float64);
        Assert.IsFalse(model.UsesFusedProjections);
        (fused, separate) = BothPaths(model, ids);
        AssertBitwiseEqual(separate, fused, "float64 after TorchSharp's move (separate projections)");
        model.To(CPU, ScalarType.Float64);
        Assert.IsTrue(model.UsesFusedProjections);
        (fused, separate) = BothPaths(model, ids);
        AssertBitwiseEqual(separate, fused, "float64 after To");

        model.To(CPU, ScalarType.BFloat16);
        Assert.IsTrue(model.UsesFusedProjections);
        (fused, separate) = BothPaths(model, ids);
        Assert.IsTrue(fused.to(ScalarType.Float32).allclose(separate.to(ScalarType.Float32), rtol: 0, atol: 1e-2 * separate.abs().max().to(ScalarType.Float32).item<float>()), "bfloat16");

        // Saving writes the separate Hugging Face tensors; loading fuses them again, with the same logits.
        model.To(CPU, ScalarType.Float32);
        using (no_grad()) before = model.Forward(ids);
        var dir = Path.Combine(Path.GetTempPath(), "stepwiser-fused-" + Guid.NewGuid().ToString("N"));
        try
        {
            HuggingFaceCheckpoint.Save(model, dir);
            var saved = SafeTensorsFile.Open(Path.Combine(dir, "model.safetensors")).Entries.Keys.ToHashSet();
            CollectionAssert.AreEquivalent(model.named_parameters().Select(p => p.name).ToList(), saved.ToList());
            using var loaded = HuggingFaceCheckpoint.Load(dir);
            Assert.IsTrue(loaded.UsesFusedProjections);
            Tensor after;
            using (no_grad()) after = loaded.Forward(ids);
            AssertBitwiseEqual(before, after, "saved and loaded");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
