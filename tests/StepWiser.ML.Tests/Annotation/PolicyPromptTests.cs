using System.Text.Json.Nodes;
using StepWiser.ML.Annotation;
using StepWiser.ML.AnswerChecking;
using StepWiser.ML.Generation;
using StepWiser.ML.Tests.Infrastructure;
using StepWiser.ML.Tokenization;

namespace StepWiser.ML.Tests.Annotation;

/// <summary>
/// The rollout prefix of an instruct policy in its own chat template (the real Qwen3 template rendered by Jinja2 as
/// transformers does; Llama 3.2's where ../shared/data has it), the raw format of base models, and the choice recorded in
/// the annotation output.
/// </summary>
[TestClass]
public sealed class PolicyPromptTests
{
    private const string Problem = "Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May. How many clips did she sell altogether in April and May?";

    private static readonly string[] Chunks = ["In May she sold 48 / 2 = 24 clips.", "Altogether she sold 48 + 24 = 72 clips.", "The answer is \\boxed{72}."];

    [TestMethod]
    [DataRow("qwen3")]
    [DataRow("llama3.2")]
    public void EveryChatPrefixIsTheCheckpointTemplatesOwnRenderingAndContinuesTheBarePrompt_Live(string tokenizer)
    {
        var config = TestData.PathOf("tokenizers", tokenizer, "tokenizer_config.json");
        if (!File.Exists(config)) Assert.Inconclusive($"{config} is not there (see ChatTemplateTests for where it comes from)");
        var prompt = PolicyPrompt.Chat(ChatTemplate.FromTokenizerConfig(config));
        var prefixes = Enumerable.Range(0, Chunks.Length + 1).Select(k => prompt.Build(Problem, Chunks[..k])).ToArray();

        var cases = new JsonArray();
        JsonObject Message(string role, string content) => new() { ["role"] = role, ["content"] = content };
        for (var k = 0; k <= Chunks.Length; k++)
        {
            var messages = new JsonArray(Message("system", PolicyPrompt.DefaultInstruction), Message("user", Problem));
            if (k == 0) { cases.Add(new JsonObject { ["messages"] = messages, ["add_generation_prompt"] = true, ["enable_thinking"] = false }); continue; }
            messages.Add(Message("assistant", string.Concat(Chunks[..k].Select(c => "<chunk>" + c + "</chunk>\n\n"))));
            cases.Add(new JsonObject { ["messages"] = messages, ["continue_final_message"] = true });
        }
        var rendered = JinjaOracle.Render(cases, config);
        for (var k = 0; k <= Chunks.Length; k++)
        {
            Assert.AreEqual(rendered[k]!["rendered"]!.GetValue<string>(), prefixes[k], $"{tokenizer}: the prefix after {k} chunks");
            StringAssert.StartsWith(prefixes[k], prefixes[0], $"{tokenizer}: the prefix after {k} chunks continues the bare prompt");
            StringAssert.Contains(prefixes[k], PolicyPrompt.DefaultInstruction);
        }
    }

    [TestMethod]
    public void RawIsTheProblemFollowedByTaggedChunksAndTheInstructionCanGoInTheUserTurn()
    {
        Assert.AreEqual("P<chunk>a</chunk>\n\n<chunk>b</chunk>\n\n", PolicyPrompt.Raw.Build("P", ["a", "b"]));
        Assert.AreEqual("raw", PolicyPrompt.Raw.Metadata["prompt_format"]);
        var inUser = PolicyPrompt.Chat(ChatTemplate.Qwen25, "Use chunks.", instructionAsSystemMessage: false);
        Assert.AreEqual(
            "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n"
            + "<|im_start|>user\nUse chunks.\n\nP<|im_end|>\n<|im_start|>assistant\n<chunk>a</chunk>\n\n", inUser.Build("P", ["a"]));
        Assert.AreEqual("user", inUser.Metadata["policy_instruction_role"]);
        Assert.ThrowsExactly<ArgumentException>(() => PolicyPrompt.Custom("chat", (p, _) => p));
    }

    [TestMethod]
    public async Task TheAnnotatorSamplesTheChatPrefixesAndItsOutputRecordsTheChoice_WithARecordingFakePolicy()
    {
        var policy = new RecordingPolicy();
        var options = new MonteCarloOptions { Rollouts = 2, Prompt = PolicyPrompt.Chat(ChatTemplate.Qwen3), PolicyName = "sha256:test" };
        using var annotator = new MonteCarloAnnotator(policy, new MathAnswerVerifier(), options);
        var input = new AnnotationInput(Problem, Chunks, "72");
        var results = await annotator.AnnotateAsync([input]);

        // Prefixes after 0, 1 and 2 chunks are sampled; the complete solution is scored by its own answer.
        CollectionAssert.AreEqual(Enumerable.Range(0, Chunks.Length).Select(k => options.Prompt.Build(Problem, Chunks[..k])).ToArray(), policy.Prompts.ToArray());
        StringAssert.EndsWith(policy.Prompts[0], "<|im_start|>assistant\n<think>\n\n</think>\n\n");
        Assert.AreEqual(1f, results[0]!.InitialValue, "every fake continuation ends in the right answer");

        var dir = Directory.CreateTempSubdirectory("policy-prompt").FullName;
        try
        {
            var path = Path.Combine(dir, "out.jsonl");
            AnnotationJsonl.Write(path, [new AnnotationRecord(new JsonObject { ["prompt"] = Problem, ["answer"] = "72" }, input)], results, annotator.Metadata);
            var written = JsonNode.Parse(File.ReadAllLines(path).Single())!["annotation"]!.AsObject();
            Assert.AreEqual("chat", written["prompt_format"]!.GetValue<string>());
            Assert.AreEqual("Qwen3", written["chat_template"]!.GetValue<string>());
            Assert.AreEqual(PolicyPrompt.DefaultInstruction, written["policy_instruction"]!.GetValue<string>());
            Assert.AreEqual("sha256:test", written["policy"]!.GetValue<string>());
            Assert.AreEqual("2", written["rollouts"]!.GetValue<string>());
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    /// <summary>A policy that records the prompts it is given and answers every one with the right final answer.</summary>
    private sealed class RecordingPolicy : ITextGenerator
    {
        public List<string> Prompts { get; } = [];

        public Task<IReadOnlyList<GenerationResult>> GenerateAsync(IReadOnlyList<GenerationRequest> requests, CancellationToken cancellationToken = default)
        {
            Prompts.AddRange(requests.Select(r => r.Prompt!));
            IReadOnlyList<GenerationResult> results = requests.Select(r => new GenerationResult(Enumerable.Range(0, r.Options.NumSamples)
                .Select(_ => new GeneratedSample("<chunk>So \\boxed{72}.</chunk>", [], FinishReason.EndOfSequence)).ToArray())).ToArray();
            return Task.FromResult(results);
        }
    }
}
