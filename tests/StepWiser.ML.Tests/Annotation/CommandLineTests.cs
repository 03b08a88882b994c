using System.Text.Json.Nodes;
using StepWiser.ML.Judging;
using StepWiser.ML.Models;
using StepWiser.ML.Tests.Infrastructure;
using StepWiser.ML.Tokenization;

namespace StepWiser.ML.Tests.Annotation;

/// <summary>
/// The samples app's command line: bad arguments give one line on stderr and a non-zero exit, not a stack trace; annotate
/// writes an instruct policy's prompts in its chat template, in the weight type asked for, and says so in its output.
/// </summary>
[TestClass]
public sealed class CommandLineTests
{
    [TestMethod]
    [DataRow("--preset nope", "unknown preset 'nope'")]
    [DataRow("annotate --input /nonexistent.jsonl --output /tmp/x.jsonl --policy /tmp", "does not exist")]
    [DataRow("annotate --input /etc/hostname --output /tmp/x.jsonl", "exactly one of --policy")]
    [DataRow("serve", "exactly one of --model")]
    [DataRow("evaluate --judge /tmp --input /etc/hostname", "not a saved StepWiser judge")]
    public void BadArgumentsGiveOneLineAndANonZeroExit(string arguments, string expected)
    {
        var (code, _, stderr) = SamplesApp.Run(arguments.Split(' '), TimeSpan.FromMinutes(2));
        Assert.AreNotEqual(0, code);
        StringAssert.Contains(stderr, expected);
        Assert.DoesNotContain("   at ", stderr, "no stack trace");
    }

    [TestMethod]
    public void AnnotateWritesChatPromptsByDefaultRunsInTheDtypeAskedForAndRecordsTheChoice()
    {
        var dir = Directory.CreateTempSubdirectory("annotate-chat").FullName;
        try
        {
            // A random built-in checkpoint whose tokenizer_config.json carries the ChatML template: the run's values mean
            // nothing, what it writes and how it was asked to run is what is checked.
            var policy = Path.Combine(dir, "policy");
            using (var model = CausalLM.CreateRandom(BuiltInModels.Tiny, seed: 5)) HuggingFaceCheckpoint.Save(model, policy);
            BuiltInTokenizer.Save(policy);
            var input = Path.Combine(dir, "in.jsonl");
            File.WriteAllText(input, "{\"prompt\":\"Start with 3. Add 4.\",\"chunks\":[\"3+4=7\",\"The answer is \\\\boxed{7}.\"],\"answer\":\"7\"}\n");
            JsonObject Annotation(string expectedType, params string[] more)
            {
                var output = Path.Combine(dir, $"out-{Guid.NewGuid():N}.jsonl");
                var (code, _, stderr) = SamplesApp.Run(["annotate", "--input", input, "--output", output, "--policy", policy, "--rollouts", "2", "--max-new-tokens", "4", .. more], TimeSpan.FromMinutes(2));
                Assert.AreEqual(0, code, stderr);
                StringAssert.Contains(stderr, $"(loaded on cpu in {expectedType})");
                return JsonNode.Parse(File.ReadAllLines(output).Single())!["annotation"]!.AsObject();
            }
            var chat = Annotation("BFloat16", "--dtype", "bf16");
            Assert.AreEqual("chat", chat["prompt_format"]!.GetValue<string>());
            Assert.AreEqual("ChatML", chat["chat_template"]!.GetValue<string>());
            Assert.AreEqual(HuggingFaceCheckpoint.Fingerprint(policy), chat["policy"]!.GetValue<string>());
            var raw = Annotation("Float32", "--prompt-format", "raw");
            Assert.AreEqual("raw", raw["prompt_format"]!.GetValue<string>());
            Assert.IsNull(raw["chat_template"]);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [TestMethod]
    public void EvaluateRunsASavedJudgeInTheDtypeAskedFor()
    {
        var dir = Directory.CreateTempSubdirectory("evaluate-dtype").FullName;
        try
        {
            // A judge of random built-in weights, saved as train-judge saves one: the verdicts mean nothing, the run's type does.
            var judge = Path.Combine(dir, "judge");
            using (var transformer = new StepwiseJudgeTransformer(ModelBundle.BuiltIn(CausalLM.CreateRandom(BuiltInModels.Tiny, seed: 9)), JudgeTemplate.Compact, new StepwiseJudgeOptions { MaxNewTokens = 8 }))
                transformer.Save(judge);
            var (code, stdout, stderr) = SamplesApp.Run(["evaluate", "--judge", judge, "--input", TestData.PathOf("processbench", "gsm8k.json"), "--limit", "2", "--dtype", "bf16"], TimeSpan.FromMinutes(2));
            Assert.AreEqual(0, code, stderr);
            StringAssert.Contains(stderr, "judge loaded on cpu in BFloat16");
            StringAssert.Contains(stdout, "gsm8k");
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
