using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace StepWiser.ML.Tokenization;

/// <summary>
/// Renders conversations in the ChatML format of Qwen2/Qwen2.5/Qwen3 (and the built-in models), byte for byte what
/// the model's <c>chat_template</c> in <c>tokenizer_config.json</c> produces for system, user and assistant messages:
/// with or without a generation prompt, and with a partially written assistant turn left open so that a model
/// continues a solution from a prefix.
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
    public ChatTemplate(ChatTemplateFlavor flavor = ChatTemplateFlavor.ChatML, string? defaultSystemPrompt = null)
    {
        Flavor = flavor;
        DefaultSystemPrompt = defaultSystemPrompt;
    }

    /// <summary>Plain ChatML without a default system prompt (the built-in models).</summary>
    public static ChatTemplate ChatML { get; } = new();

    /// <summary>Qwen2.5 instruct models.</summary>
    public static ChatTemplate Qwen25 { get; } = new(ChatTemplateFlavor.Qwen2, Qwen25SystemPrompt);

    /// <summary>Qwen3 models.</summary>
    public static ChatTemplate Qwen3 { get; } = new(ChatTemplateFlavor.Qwen3);

    /// <summary>The ChatML variant.</summary>
    public ChatTemplateFlavor Flavor { get; }

    /// <summary>System prompt used when the first message is not a system message; null for none.</summary>
    public string? DefaultSystemPrompt { get; }

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
        if (!template.Contains(StartOfTurn, StringComparison.Ordinal) || !template.Contains(EndOfTurn, StringComparison.Ordinal))
            throw new NotSupportedException($"{source}: not a ChatML chat template (no {StartOfTurn}/{EndOfTurn}); StepWiser.ML renders ChatML templates (Qwen2, Qwen2.5, Qwen3) only.");
        var defaultSystem = DefaultSystemLiteral().Match(template);
        var systemPrompt = defaultSystem.Success ? defaultSystem.Groups[1].Value : null;
        var flavor = template.Contains(ThinkClose, StringComparison.Ordinal) ? ChatTemplateFlavor.Qwen3
            : systemPrompt is not null ? ChatTemplateFlavor.Qwen2 : ChatTemplateFlavor.ChatML;
        return new ChatTemplate(flavor, systemPrompt);
    }

    /// <summary>Renders a conversation.</summary>
    /// <param name="messages">The messages; roles "system", "user", "assistant".</param>
    /// <param name="addGenerationPrompt">Append the opening of an assistant turn for the model to write.</param>
    /// <param name="enableThinking">Qwen3 only: when false, the generation prompt carries an empty think block.</param>
    public string Render(IReadOnlyList<ChatTurn> messages, bool addGenerationPrompt = false, bool enableThinking = true)
    {
        var text = RenderCore(messages, leaveLastOpen: false);
        if (!addGenerationPrompt) return text;
        var prompt = StartOfTurn + ChatTurn.AssistantRole + "\n";
        if (Flavor == ChatTemplateFlavor.Qwen3 && !enableThinking) prompt += ThinkOpen + "\n\n" + ThinkClose + "\n\n";
        return text + prompt;
    }

    /// <summary>
    /// Renders a conversation whose last message is a partially written assistant turn and leaves that turn open
    /// (no end marker), so the model continues exactly after its last character.
    /// </summary>
    public string RenderContinuation(IReadOnlyList<ChatTurn> messages)
    {
        if (messages.Count == 0 || messages[^1].Role != ChatTurn.AssistantRole)
            throw new ArgumentException("the last message must be the assistant turn to continue", nameof(messages));
        return RenderCore(messages, leaveLastOpen: true);
    }

    private string RenderCore(IReadOnlyList<ChatTurn> messages, bool leaveLastOpen)
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
