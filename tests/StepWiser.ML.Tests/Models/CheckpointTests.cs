using System.Text;
using System.Text.Json.Nodes;
using StepWiser.ML.Models;
using StepWiser.ML.Tokenization;
using StepWiser.ML.Tests.Infrastructure;
using static TorchSharp.torch;

namespace StepWiser.ML.Tests.Models;

[TestClass]
public sealed class CheckpointTests
{
    private string _dir = "";

    [TestInitialize]
    public void Init() => Directory.CreateDirectory(_dir = Path.Combine(Path.GetTempPath(), "stepwiser-ckpt-" + Guid.NewGuid().ToString("N")));

    [TestCleanup]
    public void Cleanup() => Directory.Delete(_dir, recursive: true);

    [TestMethod]
    public void TokenizerFilesTravelWithTheCheckpoint()
    {
        using var model = HuggingFaceCheckpoint.Load(TestData.PathOf("reference-models", "qwen2-tiny"));
        HuggingFaceCheckpoint.Save(model, _dir);
        var qwen = TestData.PathOf("tokenizers", "qwen3");
        HuggingFaceCheckpoint.CopyTokenizerFiles(qwen, _dir);
        CollectionAssert.AreEqual(File.ReadAllBytes(Path.Combine(qwen, "tokenizer.json")), File.ReadAllBytes(Path.Combine(_dir, "tokenizer.json")));
        Assert.IsTrue(File.Exists(Path.Combine(_dir, "tokenizer_config.json")));
        Assert.AreEqual(ChatTemplateFlavor.Qwen3, ChatTemplate.FromTokenizerConfig(Path.Combine(_dir, "tokenizer_config.json")).Flavor);
        var missing = Assert.ThrowsExactly<FileNotFoundException>(() => HuggingFaceCheckpoint.CopyTokenizerFiles(Path.Combine(_dir, "nowhere"), _dir));
        StringAssert.Contains(missing.Message, "nowhere");
    }

    [TestMethod]
    public void SaveThenLoadReproducesTheModelSingleFileAndSharded()
    {
        using var original = HuggingFaceCheckpoint.Load(TestData.PathOf("reference-models", "qwen2-tiny"));
        var expected = ModelProbe.Logits(original);

        HuggingFaceCheckpoint.Save(original, Path.Combine(_dir, "single"));
        CollectionAssert.AreEqual(expected, ModelProbe.Logits(HuggingFaceCheckpoint.Load(Path.Combine(_dir, "single"))));

        HuggingFaceCheckpoint.Save(original, Path.Combine(_dir, "sharded"), maxShardBytes: 60_000);
        Assert.IsTrue(File.Exists(Path.Combine(_dir, "sharded", HuggingFaceCheckpoint.IndexFile)));
        Assert.IsTrue(Directory.GetFiles(Path.Combine(_dir, "sharded"), "model-*-of-*.safetensors").Length > 2);
        CollectionAssert.AreEqual(expected, ModelProbe.Logits(HuggingFaceCheckpoint.Load(Path.Combine(_dir, "sharded"))));
    }

    [TestMethod]
    public void Bf16SaveRoundTripsBitExactlyAndTiedModelsWriteNoLmHead()
    {
        string source = TestData.PathOf("reference-models", "qwen2-tiny-tied-bf16");
        using var model = HuggingFaceCheckpoint.Load(source);
        HuggingFaceCheckpoint.Save(model, _dir, ScalarType.BFloat16);
        var written = SafeTensorsFile.Open(Path.Combine(_dir, HuggingFaceCheckpoint.WeightsFile));
        var reference = SafeTensorsFile.Open(Path.Combine(source, HuggingFaceCheckpoint.WeightsFile));
        CollectionAssert.AreEquivalent(reference.Entries.Keys.ToArray(), written.Entries.Keys.ToArray());
        Assert.IsFalse(written.Entries.ContainsKey("lm_head.weight"));
        foreach (var name in reference.Entries.Keys)
        {
            Assert.AreEqual("BF16", written.Entries[name].DType);
            using var a = reference.Read(name);
            using var b = written.Read(name);
            Assert.IsTrue(a.equal(b).all().item<bool>(), name);
        }
        Assert.AreEqual("bfloat16", ModelConfig.Load(Path.Combine(_dir, "config.json")).TorchDtype);
    }

    private string WriteCorrupted(Func<byte[], byte[]> corrupt)
    {
        string dir = Path.Combine(_dir, Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        string source = TestData.PathOf("reference-models", "qwen2-tiny");
        File.Copy(Path.Combine(source, "config.json"), Path.Combine(dir, "config.json"));
        File.WriteAllBytes(Path.Combine(dir, HuggingFaceCheckpoint.WeightsFile), corrupt(File.ReadAllBytes(Path.Combine(source, HuggingFaceCheckpoint.WeightsFile))));
        return dir;
    }

    private static byte[] EditHeader(byte[] file, Func<JsonObject, JsonObject> edit)
    {
        long length = BitConverter.ToInt64(file, 0);
        var header = JsonNode.Parse(Encoding.UTF8.GetString(file, 8, (int)length))!.AsObject();
        var json = Encoding.UTF8.GetBytes(edit(header).ToJsonString());
        return [.. BitConverter.GetBytes((long)json.Length), .. json, .. file.AsSpan(8 + (int)length)];
    }

    private static void AssertRejected(string dir, params string[] fragments)
    {
        var e = Assert.ThrowsExactly<InvalidDataException>(() => HuggingFaceCheckpoint.Load(dir));
        foreach (var f in fragments) StringAssert.Contains(e.Message, f);
    }

    [TestMethod]
    public void MalformedFilesGetClearErrorsNamingFileAndTensor()
    {
        AssertRejected(WriteCorrupted(f => f[..5]), "model.safetensors", "truncated");
        AssertRejected(WriteCorrupted(f => [.. BitConverter.GetBytes((long)f.Length), .. f.AsSpan(8)]), "header length", "beyond the end");
        AssertRejected(WriteCorrupted(f => f[..(f.Length - 100)]), "out of range");
        AssertRejected(WriteCorrupted(f => EditHeader(f, h => { h["model.norm.weight"]!["dtype"] = "F8_E9"; return h; })), "model.norm.weight", "unknown dtype 'F8_E9'");
        AssertRejected(WriteCorrupted(f => EditHeader(f, h => { h["model.norm.weight"]!["data_offsets"] = new JsonArray(0, 999_999_999); return h; })), "model.norm.weight", "out of range");
        AssertRejected(WriteCorrupted(f => EditHeader(f, h => { h.Remove("model.norm.weight"); return h; })), "missing tensor", "model.norm.weight");
        AssertRejected(WriteCorrupted(f => EditHeader(f, h => { h["model.extra.weight"] = h["model.norm.weight"]!.DeepClone(); return h; })), "unexpected tensor 'model.extra.weight'");
        AssertRejected(WriteCorrupted(f => EditHeader(f, h => { h["model.norm.weight"]!["shape"] = new JsonArray(8, 8); return h; })), "model.norm.weight", "shape [8, 8]", "expected [64]");
        AssertRejected(WriteCorrupted(f => [.. BitConverter.GetBytes(4L), .. "{no "u8, .. f.AsSpan(12)]), "not valid JSON");
    }

    [TestMethod]
    public void IndexPathsOutsideTheDirectoryAreRefused()
    {
        string source = TestData.PathOf("reference-models", "qwen2-tiny");
        File.Copy(Path.Combine(source, "config.json"), Path.Combine(_dir, "config.json"));
        var names = SafeTensorsFile.Open(Path.Combine(source, HuggingFaceCheckpoint.WeightsFile)).Entries.Keys;
        var map = new JsonObject();
        foreach (var n in names) map[n] = "../../etc/model.safetensors";
        File.WriteAllText(Path.Combine(_dir, HuggingFaceCheckpoint.IndexFile), new JsonObject { ["weight_map"] = map }.ToJsonString());
        AssertRejected(_dir, "points outside the checkpoint directory");
    }

    [TestMethod]
    public void UnsupportedConfigsAreRejectedByField()
    {
        var config = ModelConfig.Load(TestData.PathOf("reference-models", "llama-tiny", "config.json"));
        var e = Assert.ThrowsExactly<InvalidDataException>(() => (config with { NumKeyValueHeads = 3 }).Validate());
        StringAssert.Contains(e.Message, "num_key_value_heads");
        e = Assert.ThrowsExactly<InvalidDataException>(() => (config with { ModelType = "gpt2" }).Validate());
        StringAssert.Contains(e.Message, "model_type 'gpt2'");
    }
}
