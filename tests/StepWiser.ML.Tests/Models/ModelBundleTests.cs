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
            CollectionAssert.IsSubsetOf(new[] { "config.json", "tokenizer.json" }, Directory.GetFiles(dir).Select(Path.GetFileName).ToArray());

            using (var loaded = ModelBundle.Load(dir))
            {
                CollectionAssert.AreEqual(ModelProbe.Logits(bundle.Model), ModelProbe.Logits(loaded.Model));
                Assert.AreEqual(BuiltInTokenizer.ToJson(), loaded.TokenizerJson);
                CollectionAssert.AreEqual(bundle.Tokenizer.EncodeToIds("Add 7. 3+7=10").ToArray(), loaded.Tokenizer.EncodeToIds("Add 7. 3+7=10").ToArray());
                var text = new LocalTextGenerator(loaded).GenerateAsync([GenerationRequest.FromText("Add", SamplingOptions.Greedy(4))]).GetAwaiter().GetResult();
                Assert.HasCount(1, text[0].Samples);
            }

            File.Copy(TestData.PathOf("tokenizers", "qwen3", "tokenizer_config.json"), Path.Combine(dir, "tokenizer_config.json"));
            using (var withChat = ModelBundle.Load(dir)) Assert.AreEqual(ChatTemplateFlavor.Qwen3, withChat.ChatTemplate!.Flavor);

            File.Delete(Path.Combine(dir, "tokenizer.json"));
            var missing = Assert.ThrowsExactly<FileNotFoundException>(() => ModelBundle.Load(dir));
            StringAssert.Contains(missing.Message, "tokenizer.json");
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
}
