using System.Text.Json;
using System.Text.Json.Nodes;
using StepWiser.ML.Generation;
using StepWiser.ML.Models;
using StepWiser.ML.Tests.Infrastructure;
using StepWiser.ML.Tokenization;
using StepWiser.ML.Training;
using static TorchSharp.torch;

namespace StepWiser.ML.Tests.Models;

/// <summary>
/// Qwen3 (per-head query/key norms, explicit head_dim) and Llama 3.1/3.2 (rope scaling) through the whole model path on
/// the reference checkpoints: generation (libtorch and the managed decode step), one SFT step, save and reload; and the
/// config features that stay refused.
/// </summary>
[TestClass]
public sealed class Qwen3AndLlama3Tests
{
    private sealed record Reference(int[][] inputs, int[] greedy_next);

    private string _dir = "";

    [TestInitialize]
    public void Init() => _dir = Directory.CreateTempSubdirectory("stepwiser-qwen3-llama3").FullName;

    [TestCleanup]
    public void Cleanup() => Directory.Delete(_dir, recursive: true);

    private static Reference ReferenceOf(string name) =>
        JsonSerializer.Deserialize<Reference>(File.ReadAllText(TestData.PathOf("reference-models", name, "reference.json")))!;

    [TestMethod]
    [DataRow("qwen3-tiny")]
    [DataRow("llama3-tiny-rope-scaled")]
    public void GenerationStartsWithTheReferenceGreedyTokenWithAndWithoutTheManagedStep(string name)
    {
        using var model = HuggingFaceCheckpoint.Load(TestData.PathOf("reference-models", name));
        var reference = ReferenceOf(name);
        // The built-in tokenizer only decodes the ids to text here: the prompts are ids, and the fixtures' 101 ids are bytes to it.
        var managed = new LocalTextGenerator(model, BuiltInTokenizer.Create());
        var libtorch = new LocalTextGenerator(model, BuiltInTokenizer.Create(), new LocalGeneratorOptions { UseManagedDecodeKernel = false });
        var requests = reference.inputs.Select(ids => new GenerationRequest { PromptTokenIds = ids, Options = SamplingOptions.Greedy(8) with { ReturnLogProbs = true } }).ToArray();
        var a = managed.Generate(requests);
        var b = libtorch.Generate(requests);
        for (int i = 0; i < requests.Length; i++)
        {
            Assert.AreEqual(reference.greedy_next[i], a[i].Samples[0].TokenIds[0], $"{name} input {i}: first greedy token");
            CollectionAssert.AreEqual(b[i].Samples[0].TokenIds.ToArray(), a[i].Samples[0].TokenIds.ToArray(), $"{name} input {i}: managed and libtorch decode steps");
            for (int t = 0; t < a[i].Samples[0].LogProbs!.Count; t++)
                Assert.AreEqual(b[i].Samples[0].LogProbs![t], a[i].Samples[0].LogProbs![t], 1e-4, $"{name} input {i} token {t}");
        }
        Assert.AreEqual(0, libtorch.ManagedSteps);
        if (DecodeProducts.IsSupported) Assert.AreEqual(managed.Profile.Steps, managed.ManagedSteps, "with AVX-512 every decode step of these models is managed");
    }

    [TestMethod]
    [DataRow("qwen3-tiny")]
    [DataRow("llama3-tiny-rope-scaled")]
    public void OneSftStepChangesEveryKindOfWeightAndASavedModelReloadsWithIdenticalLogits(string name)
    {
        using var model = HuggingFaceCheckpoint.Load(TestData.PathOf("reference-models", name));
        var before = model.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().clone());
        var logitsBefore = ModelProbe.Logits(model);
        // Upper-case letters, digits and punctuation: byte values under the fixtures' vocabulary of 101. No weight decay, so a
        // weight changes only through its gradient.
        SftExample[] examples = [new("ADD 7 TO 3.", " 3+7=10."), new("DOUBLE 12.", " 12*2=24."), new("HALVE 40.", " 40/2=20.")];
        var result = new SftTrainer(model, BuiltInTokenizer.Create(), new SftOptions { Steps = 1, BatchSize = 3, WarmupSteps = 0, LearningRate = 1e-2, WeightDecay = 0 }).Train(examples);
        Assert.AreEqual(1, result.Steps);
        foreach (var (pname, p) in model.named_parameters())
            Assert.IsFalse(p.detach().equal(before[pname]).all().item<bool>(), $"{name}: {pname} did not change in the SFT step");
        foreach (var t in before.Values) t.Dispose();
        model.eval();
        var trained = ModelProbe.Logits(model);
        CollectionAssert.AreNotEqual(logitsBefore, trained);

        HuggingFaceCheckpoint.Save(model, _dir);
        using var reloaded = HuggingFaceCheckpoint.Load(_dir);
        CollectionAssert.AreEqual(trained, ModelProbe.Logits(reloaded), $"{name}: the reloaded model's logits");
        var saved = ModelConfig.Load(Path.Combine(_dir, "config.json"));
        Assert.AreEqual(model.Config.ModelType, saved.ModelType);
        Assert.AreEqual(model.Config.HeadDim, saved.HeadDim);
        Assert.AreEqual(model.Config.RopeScaling?.GetRawText(), saved.RopeScaling?.GetRawText());
    }

    [TestMethod]
    [DataRow("qwen3-tiny", "model_type", "qwen3_moe", "model_type 'qwen3_moe'")]
    [DataRow("qwen3-tiny", "use_sliding_window", "true", "use_sliding_window")]
    [DataRow("llama3-tiny-rope-scaled", "rope_scaling", """{"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 64}""", "rope_scaling.rope_type 'yarn'")]
    [DataRow("llama3-tiny-rope-scaled", "rope_scaling", """{"type": "linear", "factor": 2.0}""", "rope_scaling.rope_type 'linear'")]
    [DataRow("llama3-tiny-rope-scaled", "rope_scaling", """{"rope_type": "llama3", "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 64}""", "rope_scaling.factor")]
    [DataRow("llama3-tiny-rope-scaled", "rope_scaling", """{"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 4.0, "high_freq_factor": 1.0, "original_max_position_embeddings": 64}""", "rope_scaling.high_freq_factor")]
    [DataRow("llama3-tiny-rope-scaled", "rope_scaling", """{"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 64.5}""", "rope_scaling.original_max_position_embeddings")]
    [DataRow("qwen3-tiny", "head_dim", "16", "head_dim")]
    public void AnUnsupportedOrInconsistentConfigIsRefusedInOneLineNamingTheField(string fixture, string key, string json, string expected)
    {
        var source = TestData.PathOf("reference-models", fixture);
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(source, "config.json")))!.AsObject();
        config[key] = JsonNode.Parse(json.StartsWith('{') || json is "true" || char.IsDigit(json[0]) ? json : JsonSerializer.Serialize(json));
        File.WriteAllText(Path.Combine(_dir, "config.json"), config.ToJsonString());
        File.Copy(Path.Combine(source, HuggingFaceCheckpoint.WeightsFile), Path.Combine(_dir, HuggingFaceCheckpoint.WeightsFile));
        var error = Assert.ThrowsExactly<InvalidDataException>(() => HuggingFaceCheckpoint.Load(_dir));
        StringAssert.Contains(error.Message, expected);
        Assert.IsFalse(error.Message.Contains('\n'), error.Message);
    }

    [TestMethod]
    public void RopeTypeDefaultIsPlainRotaryEmbedding()
    {
        var plain = new ModelConfig { ModelType = "llama", VocabSize = 8, HiddenSize = 32, IntermediateSize = 32, NumHiddenLayers = 1, NumAttentionHeads = 2, RopeTheta = 5e5 };
        var withDefault = plain with { RopeScaling = JsonSerializer.SerializeToElement(new { rope_type = "default" }) };
        withDefault.Validate();
        CollectionAssert.AreEqual(RotaryEmbedding.InverseFrequencies(plain), RotaryEmbedding.InverseFrequencies(withDefault));
        var scaled = plain with { RopeScaling = JsonSerializer.SerializeToElement(new { rope_type = "llama3", factor = 8.0, low_freq_factor = 1.0, high_freq_factor = 4.0, original_max_position_embeddings = 64 }) };
        CollectionAssert.AreNotEqual(RotaryEmbedding.InverseFrequencies(plain), RotaryEmbedding.InverseFrequencies(scaled));
    }
}
