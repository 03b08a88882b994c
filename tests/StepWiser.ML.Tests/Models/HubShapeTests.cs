using StepWiser.ML.Models;
using static TorchSharp.torch;

namespace StepWiser.ML.Tests.Models;

/// <summary>
/// Builds the published Qwen2.5 configurations on the meta device (no memory for weights) and checks the parameter
/// names, shapes and totals that the Hub checkpoints have (public facts of those models, written down here).
/// </summary>
[TestClass]
public sealed class HubShapeTests
{
    [TestMethod]
    [DataRow("Qwen2.5-0.5B", 896, 4864, 24, 14, 2, 151936, true, 494_032_768L)]
    [DataRow("Qwen2.5-1.5B", 1536, 8960, 28, 12, 2, 151936, true, 1_543_714_304L)]
    [DataRow("Qwen2.5-7B", 3584, 18944, 28, 28, 4, 152064, false, 7_615_616_512L)]
    public void QwenConfigsHaveTheHubParameterNamesAndShapes(string name, int hidden, int intermediate, int layers, int heads, int kvHeads, int vocab, bool tied, long total)
    {
        var config = new ModelConfig
        {
            ModelType = "qwen2", HiddenSize = hidden, IntermediateSize = intermediate, NumHiddenLayers = layers,
            NumAttentionHeads = heads, NumKeyValueHeads = kvHeads, VocabSize = vocab, TieWordEmbeddings = tied, RopeTheta = 1e6,
        };
        using var model = new CausalLM(config, META);
        var shapes = model.named_parameters().ToDictionary(p => p.name, p => p.parameter.shape);
        int kv = kvHeads * (hidden / heads);

        var expected = new Dictionary<string, long[]> { ["model.embed_tokens.weight"] = [vocab, hidden], ["model.norm.weight"] = [hidden] };
        if (!tied) expected["lm_head.weight"] = [vocab, hidden];
        for (int i = 0; i < layers; i++)
        {
            string p = $"model.layers.{i}.";
            expected[p + "self_attn.q_proj.weight"] = [hidden, hidden];
            expected[p + "self_attn.q_proj.bias"] = [hidden];
            expected[p + "self_attn.k_proj.weight"] = [kv, hidden];
            expected[p + "self_attn.k_proj.bias"] = [kv];
            expected[p + "self_attn.v_proj.weight"] = [kv, hidden];
            expected[p + "self_attn.v_proj.bias"] = [kv];
            expected[p + "self_attn.o_proj.weight"] = [hidden, hidden];
            expected[p + "mlp.gate_proj.weight"] = [intermediate, hidden];
            expected[p + "mlp.up_proj.weight"] = [intermediate, hidden];
            expected[p + "mlp.down_proj.weight"] = [hidden, intermediate];
            expected[p + "input_layernorm.weight"] = [hidden];
            expected[p + "post_attention_layernorm.weight"] = [hidden];
        }
        CollectionAssert.AreEquivalent(expected.Keys.ToArray(), shapes.Keys.ToArray(), name);
        foreach (var (key, shape) in expected) CollectionAssert.AreEqual(shape, shapes[key], $"{name} {key}");
        Assert.AreEqual(total, model.ParameterCount, $"{name} parameter count");
    }
}
