using System.Text.Json.Nodes;
using StepWiser.ML.Generation;
using StepWiser.ML.Models;
using StepWiser.ML.Tests.Infrastructure;
using StepWiser.ML.Tokenization;
using static TorchSharp.torch;

namespace StepWiser.ML.Tests.Models;

[TestClass]
public sealed class ModelBundleTests
{
    [TestMethod]
    public void ABundleSavesAndLoadsWeightsTokenizerAndChatTemplateTogether()
    {
        var dir = Directory.CreateTempSubdirectory("bundle").FullName;
        try
        {
            using var bundle = ModelBundle.BuiltIn(CausalLM.CreateRandom(BuiltInModels.Tiny, seed: 3));
            Assert.IsNull(bundle.ChatTemplate);
            bundle.Save(dir);
            CollectionAssert.IsSubsetOf(new[] { "config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json" }, Directory.GetFiles(dir).Select(Path.GetFileName).ToArray());

            using (var loaded = ModelBundle.Load(dir))
            {
                CollectionAssert.AreEqual(ModelProbe.Logits(bundle.Model), ModelProbe.Logits(loaded.Model));
                Assert.AreEqual(BuiltInTokenizer.ToJson(), loaded.TokenizerJson);
                CollectionAssert.AreEqual(bundle.Tokenizer.EncodeToIds("Add 7. 3+7=10").ToArray(), loaded.Tokenizer.EncodeToIds("Add 7. 3+7=10").ToArray());
                var text = new LocalTextGenerator(loaded).GenerateAsync([GenerationRequest.FromText("Add", SamplingOptions.Greedy(4))]).GetAwaiter().GetResult();
                Assert.HasCount(1, text[0].Samples);
            }

            File.Copy(TestData.PathOf("tokenizers", "qwen3", "tokenizer_config.json"), Path.Combine(dir, "tokenizer_config.json"), overwrite: true);
            using (var withChat = ModelBundle.Load(dir)) Assert.AreEqual(ChatTemplateFlavor.Qwen3, withChat.ChatTemplate!.Flavor);

            File.Delete(Path.Combine(dir, "tokenizer.json"));
            var missing = Assert.ThrowsExactly<FileNotFoundException>(() => ModelBundle.Load(dir));
            StringAssert.Contains(missing.Message, "tokenizer.json");
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [TestMethod]
    public void ABFloat16BundleSavesBFloat16WeightsBitForBitAndReloadsThemUnchanged()
    {
        var dir = Directory.CreateTempSubdirectory("bundle-bf16").FullName;
        try
        {
            var source = TestData.PathOf("reference-models", "qwen2-tiny-tied-bf16");
            var model = HuggingFaceCheckpoint.Load(source, dtype: ScalarType.BFloat16);
            using var bundle = new ModelBundle(model, TokenizerWithin(model.Config.VocabSize));
            Assert.AreEqual(ScalarType.BFloat16, bundle.Model.DType);
            Assert.IsTrue(bundle.Model.parameters().All(p => p.dtype == ScalarType.BFloat16), "allocated in bfloat16, not converted from a float32 copy");
            bundle.Save(dir);

            var written = SafeTensorsFile.Open(Path.Combine(dir, HuggingFaceCheckpoint.WeightsFile));
            var original = SafeTensorsFile.Open(Path.Combine(source, HuggingFaceCheckpoint.WeightsFile));
            CollectionAssert.AreEquivalent(original.Entries.Keys.ToArray(), written.Entries.Keys.ToArray());
            foreach (var name in original.Entries.Keys)
            {
                Assert.AreEqual("BF16", written.Entries[name].DType, name);
                using var a = original.Read(name);
                using var b = written.Read(name);
                CollectionAssert.AreEqual(a.bytes.ToArray(), b.bytes.ToArray(), name);
            }
            Assert.AreEqual("bfloat16", ModelConfig.Load(Path.Combine(dir, "config.json")).TorchDtype);

            using (var reloaded = ModelBundle.Load(dir, dtype: ScalarType.BFloat16))
            {
                var before = bundle.Model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
                foreach (var (name, p) in reloaded.Model.named_parameters())
                    CollectionAssert.AreEqual(before[name].bytes.ToArray(), p.bytes.ToArray(), name);
            }
            using (var half = ModelBundle.Load(dir, dtype: ScalarType.Float16))
                Assert.IsTrue(half.Model.parameters().All(p => p.dtype == ScalarType.Float16));
            var refused = Assert.ThrowsExactly<ArgumentException>(() => ModelBundle.Load(dir, dtype: ScalarType.Int32));
            StringAssert.Contains(refused.Message, "Int32");
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [TestMethod]
    public void ASavedBundleCarriesGenerationAndTokenizerConfigsWithItsChatTemplate()
    {
        var dir = Directory.CreateTempSubdirectory("bundle-configs").FullName;
        try
        {
            using (var chat = new ModelBundle(CausalLM.CreateRandom(BuiltInModels.Tiny, seed: 2), BuiltInTokenizer.ToJson(), ChatTemplate.Qwen25))
                chat.Save(Path.Combine(dir, "chat"));
            var generation = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "chat", "generation_config.json")))!.AsObject();
            Assert.AreEqual(BuiltInTokenizer.EndOfTextId, generation["eos_token_id"]!.GetValue<int>());
            var tokenizerConfig = Path.Combine(dir, "chat", "tokenizer_config.json");
            var written = JsonNode.Parse(File.ReadAllText(tokenizerConfig))!.AsObject();
            Assert.AreEqual("PreTrainedTokenizerFast", written["tokenizer_class"]!.GetValue<string>());
            Assert.AreEqual(BuiltInTokenizer.EndOfText, written["eos_token"]!.GetValue<string>());
            Assert.AreEqual(BuiltInModels.Tiny.MaxPositionEmbeddings, written["model_max_length"]!.GetValue<int>());
            Assert.AreEqual(ChatTemplate.Qwen25.Jinja, written["chat_template"]!.GetValue<string>());
            var readBack = ChatTemplate.FromTokenizerConfig(tokenizerConfig);
            Assert.AreEqual(ChatTemplateFlavor.Qwen2, readBack.Flavor);
            Assert.AreEqual(ChatTemplate.Qwen25SystemPrompt, readBack.DefaultSystemPrompt);

            using (var plain = ModelBundle.BuiltIn(CausalLM.CreateRandom(BuiltInModels.Tiny, seed: 2)))
                plain.Save(Path.Combine(dir, "plain"));
            Assert.IsNull(JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "plain", "tokenizer_config.json")))!["chat_template"]);

            // A checkpoint's own tokenizer_config.json travels with every key it had.
            var qwen = TestData.PathOf("tokenizers", "qwen3", "tokenizer_config.json");
            File.Copy(qwen, Path.Combine(dir, "plain", "tokenizer_config.json"), overwrite: true);
            using (var loaded = ModelBundle.Load(Path.Combine(dir, "plain")))
                loaded.Save(Path.Combine(dir, "resaved"));
            var own = JsonNode.Parse(File.ReadAllText(qwen))!.AsObject();
            var resaved = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "resaved", "tokenizer_config.json")))!.AsObject();
            Assert.IsTrue(JsonNode.DeepEquals(own, resaved), "the checkpoint's tokenizer_config.json changed on the way");
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [TestMethod]
    public void DisposingABundleTwiceIsSafeAndASavedDisposedBundleIsRefused()
    {
        var bundle = ModelBundle.BuiltIn(CausalLM.CreateRandom(BuiltInModels.Tiny, seed: 1));
        bundle.Dispose();
        bundle.Dispose();
        Assert.ThrowsExactly<ObjectDisposedException>(() => bundle.Save(Path.Combine(Path.GetTempPath(), "never-written")));
    }

    /// <summary>The built-in tokenizer cut to the ids a small reference checkpoint has embeddings for (its byte tokens below <paramref name="vocabSize"/>, no added tokens).</summary>
    private static string TokenizerWithin(int vocabSize)
    {
        var doc = System.Text.Json.Nodes.JsonNode.Parse(BuiltInTokenizer.ToJson())!;
        var vocab = doc["model"]!["vocab"]!.AsObject();
        foreach (var key in vocab.Where(kv => kv.Value!.GetValue<int>() >= vocabSize).Select(kv => kv.Key).ToArray()) vocab.Remove(key);
        doc["added_tokens"] = new System.Text.Json.Nodes.JsonArray();
        return doc.ToJsonString();
    }
}
