using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace StepWiser.ML.Tokenization;

/// <summary>
/// Renders conversations in the ChatML format of Qwen2/Qwen2.5/Qwen3 (and the built-in models) or the header format of
/// Llama 3/3.1/3.2/3.3, byte for byte what the model's <c>chat_template</c> in <c>tokenizer_config.json</c> produces for
/// system, user and assistant messages: with or without a generation prompt, and with a partially written assistant
/// turn left open so that a model continues a solution from a prefix.
/// </summary>
public sealed partial class ChatTemplate
{
    /// <summary>Starts a message.</summary>
    public const string StartOfTurn = "<|im_start|>";

    /// <summary>Ends a message; the end-of-sequence token of ChatML models.</summary>
    public const string EndOfTurn = "<|im_end|>";

    /// <summary>The default system prompt of the Qwen2.5 instruct models.</summary>
    public const string Qwen25SystemPrompt = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.";

    private const string ThinkOpen = "<think>";
    private const string ThinkClose = "</think>";

    /// <summary>Creates a template.</summary>
    /// <param name="flavor">Which ChatML variant.</param>
    /// <param name="defaultSystemPrompt">System prompt inserted when a conversation has none (null: none).</param>
    /// <remarks>For <see cref="ChatTemplateFlavor.Llama3"/>, use <see cref="Llama3"/> or <see cref="Llama31"/>: Llama has no default system prompt.</remarks>
    public ChatTemplate(ChatTemplateFlavor flavor = ChatTemplateFlavor.ChatML, string? defaultSystemPrompt = null)
        : this(flavor, defaultSystemPrompt, systemPreamble: null, source: null)
    {
        if (flavor == ChatTemplateFlavor.Llama3 && defaultSystemPrompt is not null)
            throw new ArgumentException("Llama 3 templates have no default system prompt", nameof(defaultSystemPrompt));
    }

    private ChatTemplate(ChatTemplateFlavor flavor, string? defaultSystemPrompt, string? systemPreamble, string? source)
    {
        Flavor = flavor;
        DefaultSystemPrompt = defaultSystemPrompt;
        SystemPreamble = systemPreamble;
        _source = source;
    }

    private readonly string? _source;

    /// <summary>Plain ChatML without a default system prompt (the built-in models).</summary>
    public static ChatTemplate ChatML { get; } = new();

    /// <summary>Qwen2.5 instruct models.</summary>
    public static ChatTemplate Qwen25 { get; } = new(ChatTemplateFlavor.Qwen2, Qwen25SystemPrompt);

    /// <summary>Qwen3 models.</summary>
    public static ChatTemplate Qwen3 { get; } = new(ChatTemplateFlavor.Qwen3);

    /// <summary>Llama 3 (3.0) instruct models: role headers, no system turn unless the conversation has one.</summary>
    public static ChatTemplate Llama3 { get; } = new(ChatTemplateFlavor.Llama3);

    /// <summary>
    /// Llama 3.1, 3.2 and 3.3 instruct models: every conversation opens with a system turn whose text starts with
    /// "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n" (the templates' fallback date).
    /// </summary>
    public static ChatTemplate Llama31 { get; } = new(ChatTemplateFlavor.Llama3, null, Llama3Format.PreambleOf("December 2023", "26 Jul 2024"), null);

    /// <summary>The ChatML variant.</summary>
    public ChatTemplateFlavor Flavor { get; }

    /// <summary>System prompt used when the first message is not a system message; null for none.</summary>
    public string? DefaultSystemPrompt { get; }

    /// <summary>
    /// Llama 3.1 and later: the text every conversation's system turn starts with (knowledge cut-off and date), before the
    /// conversation's own system message; null for other templates. Where a template puts today's date, this library puts
    /// the template's fixed fallback date, so the same conversation always renders the same text.
    /// </summary>
    public string? SystemPreamble { get; }

    /// <summary>The text that ends a message in this template: <c>&lt;|im_end|&gt;</c>, or <c>&lt;|eot_id|&gt;</c> for Llama 3 (a stop string for replies).</summary>
    public string TurnEnd => Flavor == ChatTemplateFlavor.Llama3 ? Llama3Format.EndOfTurn : EndOfTurn;

    /// <summary>
    /// The Jinja text of this template, for a <c>tokenizer_config.json</c>: the checkpoint's own when it was read from
    /// one (<see cref="FromTokenizerConfig"/>, <see cref="FromTemplateText"/>), otherwise one this library writes that
    /// renders what <see cref="Render"/> renders (tested with Jinja2, as Hugging Face transformers and vLLM run it).
    /// </summary>
    public string Jinja => _source ?? ChatTemplateJinja.For(this);

    /// <summary>
    /// The chat template of the checkpoint in <paramref name="directory"/>: its <c>tokenizer_config.json</c>'s, or null
    /// when there is no such file or its template is missing or not one this library renders. A file that is not
    /// valid JSON, or whose <c>chat_template</c> is malformed, is an <see cref="InvalidDataException"/> naming it.
    /// </summary>
    internal static ChatTemplate? FromCheckpoint(string directory)
    {
        var config = Path.Combine(directory, "tokenizer_config.json");
        if (!File.Exists(config) || TemplateText(config) is not { } text) return null;
        try { return FromTemplateText(text, config); }
        catch (NotSupportedException) { return null; }
    }

    /// <summary>
    /// Reads <c>chat_template</c> from a <c>tokenizer_config.json</c> and picks the matching flavor and default system
    /// prompt. Throws <see cref="NotSupportedException"/> naming the file when the template is not ChatML, and
    /// <see cref="InvalidDataException"/> naming it when the file is not valid JSON or has no usable template.
    /// </summary>
    public static ChatTemplate FromTokenizerConfig(string path) =>
        FromTemplateText(TemplateText(path) ?? throw new InvalidDataException($"{path}: no \"chat_template\" property."), path);

    /// <summary>The template text of a tokenizer_config.json, or null when it has none.</summary>
    private static string? TemplateText(string path)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(File.ReadAllText(path)); }
        catch (JsonException e) { throw new InvalidDataException($"{path}: not valid JSON ({e.Message}).", e); }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new InvalidDataException($"{path}: not a JSON object.");
            if (!doc.RootElement.TryGetProperty("chat_template", out var element)) return null;
            return element.ValueKind switch
            {
                JsonValueKind.String => element.GetString()!,
                // Some configs list named templates; the one named "default" is what apply_chat_template uses.
                JsonValueKind.Array => element.EnumerateArray()
                    .Where(t => t.ValueKind == JsonValueKind.Object && t.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String && n.GetString() == "default")
                    .Select(t => t.TryGetProperty("template", out var x) && x.ValueKind == JsonValueKind.String ? x.GetString()! : null)
                    .FirstOrDefault() ?? throw new InvalidDataException($"{path}: \"chat_template\" lists no template named \"default\" with a string \"template\"."),
                _ => throw new InvalidDataException($"{path}: \"chat_template\" must be a string or a list of named templates."),
            };
        }
    }

    /// <summary>Like <see cref="FromTokenizerConfig"/>, for the Jinja text of a template.</summary>
    public static ChatTemplate FromTemplateText(string template, string source = "chat_template")
    {
        ArgumentNullException.ThrowIfNull(template);
        if (Llama3Format.Matches(template))
            return new ChatTemplate(ChatTemplateFlavor.Llama3, null, Llama3Format.Preamble(template, source), template);
        if (!template.Contains(StartOfTurn, StringComparison.Ordinal) || !template.Contains(EndOfTurn, StringComparison.Ordinal))
            throw new NotSupportedException($"{source}: neither a ChatML chat template (no {StartOfTurn}/{EndOfTurn}) nor a Llama 3 one (no {Llama3Format.HeaderStart}/{Llama3Format.EndOfTurn}); StepWiser.ML renders those of Qwen2, Qwen2.5, Qwen3 and Llama 3.x only.");
        var defaultSystem = DefaultSystemLiteral().Match(template);
        var systemPrompt = defaultSystem.Success ? defaultSystem.Groups[1].Value : null;
        var flavor = template.Contains(ThinkClose, StringComparison.Ordinal) ? ChatTemplateFlavor.Qwen3
            : systemPrompt is not null ? ChatTemplateFlavor.Qwen2 : ChatTemplateFlavor.ChatML;
        return new ChatTemplate(flavor, systemPrompt, null, template);
    }

    /// <summary>Renders a conversation.</summary>
    /// <param name="messages">The messages; roles "system", "user", "assistant".</param>
    /// <param name="addGenerationPrompt">Append the opening of an assistant turn for the model to write.</param>
    /// <param name="enableThinking">Qwen3 only: when false, the generation prompt carries an empty think block.</param>
    public string Render(IReadOnlyList<ChatTurn> messages, bool addGenerationPrompt = false, bool enableThinking = true)
    {
        if (Flavor == ChatTemplateFlavor.Llama3) return Llama3Format.Render(SystemPreamble, Checked(messages), addGenerationPrompt, leaveLastOpen: false);
        var text = RenderCore(messages, leaveLastOpen: false);
        if (!addGenerationPrompt) return text;
        var prompt = StartOfTurn + ChatTurn.AssistantRole + "\n";
        if (Flavor == ChatTemplateFlavor.Qwen3 && !enableThinking) prompt += ThinkOpen + "\n\n" + ThinkClose + "\n\n";
        return text + prompt;
    }

    /// <summary>
    /// Renders a conversation whose last message is a partially written assistant turn and leaves that turn open
    /// (no end marker), so the model continues exactly after its last character. Llama 3 templates trim every message,
    /// so there the turn ends at its last character that is not whitespace, as Hugging Face's
    /// <c>continue_final_message</c> leaves it.
    /// </summary>
    public string RenderContinuation(IReadOnlyList<ChatTurn> messages)
    {
        ArgumentNullException.ThrowIfNull(messages);
        if (messages.Count == 0 || messages[^1].Role != ChatTurn.AssistantRole)
            throw new ArgumentException("the last message must be the assistant turn to continue", nameof(messages));
        if (Flavor == ChatTemplateFlavor.Llama3) return Llama3Format.Render(SystemPreamble, Checked(messages), addGenerationPrompt: false, leaveLastOpen: true);
        return RenderCore(messages, leaveLastOpen: true);
    }

    /// <summary>Throws naming the first message whose role is not system, user or assistant, or whose content is null.</summary>
    private static IReadOnlyList<ChatTurn> Checked(IReadOnlyList<ChatTurn> messages)
    {
        ArgumentNullException.ThrowIfNull(messages);
        if (messages.Count == 0) throw new ArgumentException("a conversation needs at least one message", nameof(messages));
        for (var i = 0; i < messages.Count; i++)
        {
            var role = messages[i].Role;
            if (role is not (ChatTurn.SystemRole or ChatTurn.UserRole or ChatTurn.AssistantRole))
                throw new ArgumentException($"message {i}: unsupported role \"{role}\" (expected system, user or assistant)", nameof(messages));
            if (messages[i].Content is null) throw new ArgumentException($"message {i}: content is null", nameof(messages));
        }
        return messages;
    }

    private string RenderCore(IReadOnlyList<ChatTurn> messages, bool leaveLastOpen)
    {
        Checked(messages);
        var sb = new StringBuilder();
        var firstIsSystem = messages[0].Role == ChatTurn.SystemRole;
        if (firstIsSystem) AppendTurn(sb, ChatTurn.SystemRole, messages[0].Content);
        else if (DefaultSystemPrompt is not null) AppendTurn(sb, ChatTurn.SystemRole, DefaultSystemPrompt);

        var lastQuery = LastQueryIndex(messages);
        for (var i = firstIsSystem ? 1 : 0; i < messages.Count; i++)
        {
            var message = messages[i];
            var open = leaveLastOpen && i == messages.Count - 1;
            var content = message.Role == ChatTurn.AssistantRole && Flavor == ChatTemplateFlavor.Qwen3
                ? Qwen3AssistantBody(message.Content, afterLastQuery: i > lastQuery, isLast: i == messages.Count - 1)
                : message.Content;
            sb.Append(StartOfTurn).Append(message.Role).Append('\n').Append(content);
            if (!open) sb.Append(EndOfTurn).Append('\n');
        }
        return sb.ToString();
    }

    private static void AppendTurn(StringBuilder sb, string role, string content) =>
        sb.Append(StartOfTurn).Append(role).Append('\n').Append(content).Append(EndOfTurn).Append('\n');

    // The Qwen3 template keeps reasoning only on assistant turns after the last real user query (tool responses sent
    // as user messages do not count).
    private static int LastQueryIndex(IReadOnlyList<ChatTurn> messages)
    {
        for (var i = messages.Count - 1; i >= 0; i--)
        {
            var m = messages[i];
            var isToolResponse = m.Content.StartsWith("<tool_response>", StringComparison.Ordinal) && m.Content.EndsWith("</tool_response>", StringComparison.Ordinal);
            if (m.Role == ChatTurn.UserRole && !isToolResponse) return i;
        }
        return messages.Count - 1;
    }

    private static string Qwen3AssistantBody(string message, bool afterLastQuery, bool isLast)
    {
        var content = message;
        var reasoning = "";
        var close = message.LastIndexOf(ThinkClose, StringComparison.Ordinal);
        if (close >= 0)
        {
            content = message[(close + ThinkClose.Length)..].TrimStart('\n');
            var beforeFirstClose = message[..message.IndexOf(ThinkClose, StringComparison.Ordinal)].TrimEnd('\n');
            var open = beforeFirstClose.LastIndexOf(ThinkOpen, StringComparison.Ordinal);
            reasoning = (open >= 0 ? beforeFirstClose[(open + ThinkOpen.Length)..] : beforeFirstClose).TrimStart('\n');
        }
        if (afterLastQuery && (isLast || reasoning.Length > 0))
            return ThinkOpen + "\n" + reasoning.Trim('\n') + "\n" + ThinkClose + "\n\n" + content.TrimStart('\n');
        return content;
    }

    // A literal default system message in the template text, e.g. '<|im_start|>system\nYou are Qwen, ...<|im_end|>\n'.
    [GeneratedRegex(@"<\|im_start\|>system\\n([^'""<+]+)<\|im_end\|>")]
    private static partial Regex DefaultSystemLiteral();
}
