using StepWiser.ML.Judging;
using StepWiser.ML.Tests.Infrastructure;
using StepWiser.ML.Tokenization;

namespace StepWiser.ML.Tests.Judging;

[TestClass]
public sealed class JudgeTemplateForCheckpointTests
{
    [TestMethod]
    public void AnInstructCheckpointGetsItsChatTemplateAndTheBuiltInWorldGetsCompact()
    {
        var dir = Directory.CreateTempSubdirectory("judge-template").FullName;
        try
        {
            Assert.AreEqual("compact", JudgeTemplate.ForCheckpoint(dir).Name, "no tokenizer_config.json: compact");

            File.Copy(TestData.PathOf("tokenizers", "qwen3", "tokenizer_config.json"), Path.Combine(dir, "tokenizer_config.json"));
            File.Copy(TestData.PathOf("tokenizers", "qwen3", "tokenizer.json"), Path.Combine(dir, "tokenizer.json"));
            var chat = JudgeTemplate.ForCheckpoint(dir);
            Assert.AreEqual("chat-Qwen3", chat.Name);
            StringAssert.Contains(chat.Render(new JudgeInput("What is 2+2?", ["Add 2."], "2+2=4")), "<|im_start|>user");

            BuiltInTokenizer.Save(dir);                   // the world's models: a chat template in the config does not apply
            Assert.AreEqual("compact", JudgeTemplate.ForCheckpoint(dir).Name);

            File.WriteAllText(Path.Combine(dir, "tokenizer.json"), "{}");
            File.WriteAllText(Path.Combine(dir, "tokenizer_config.json"), "{\"chat_template\": \"{{ weird }}\"}");
            Assert.AreEqual("compact", JudgeTemplate.ForCheckpoint(dir).Name, "a chat template this library cannot render is treated as none");
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
