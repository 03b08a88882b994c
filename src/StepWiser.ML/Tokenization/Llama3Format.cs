using System.Text;
using System.Text.RegularExpressions;

namespace StepWiser.ML.Tokenization;

/// <summary>
/// The Llama 3 chat format: <c>&lt;|begin_of_text|&gt;</c>, then per message
/// <c>&lt;|start_header_id|&gt;role&lt;|end_header_id|&gt;\n\n</c> + the content with surrounding whitespace trimmed +
/// <c>&lt;|eot_id|&gt;</c>. Llama 3.1 and later templates always open with a system turn that starts with a preamble (the
/// knowledge cut-off and a date, <see cref="ChatTemplate.SystemPreamble"/>) followed by the conversation's system
/// message, if any. Rendering, the reading of a template's text, and the Jinja text this library writes for it.
/// </summary>
internal static partial class Llama3Format
{
    /// <summary>Starts the text (the tokenizer's beginning-of-sequence token).</summary>
    public const string BeginOfText = "<|begin_of_text|>";

    /// <summary>Opens a role header.</summary>
    public const string HeaderStart = "<|start_header_id|>";

    /// <summary>Closes a role header.</summary>
    public const string HeaderEnd = "<|end_header_id|>";

    /// <summary>Ends a message.</summary>
    public const string EndOfTurn = "<|eot_id|>";

    /// <summary>Whether <paramref name="template"/> is a Llama 3 template (it writes role headers and end-of-turn tokens).</summary>
    public static bool Matches(string template) =>
        template.Contains(HeaderStart, StringComparison.Ordinal) && template.Contains(EndOfTurn, StringComparison.Ordinal);

    /// <summary>
    /// The system preamble of a Llama 3.1-style template (<c>"Cutting Knowledge Date: …\nToday Date: …\n\n"</c>, with the
    /// template's own fallback date: Hugging Face puts today's date there where the template asks for it, this library
    /// the fixed fallback, so rollouts do not change from one day to the next), or null for a Llama 3.0 template.
    /// </summary>
    public static string? Preamble(string template, string source)
    {
        var knowledge = KnowledgeLiteral().Match(template);
        if (!knowledge.Success) return null;
        var date = DateLiteral().Match(template);
        if (!date.Success)
            throw new NotSupportedException($"{source}: a Llama 3.1-style chat template without a fallback date_string; StepWiser.ML cannot tell its system preamble.");
        return PreambleOf(knowledge.Groups[1].Value, date.Groups[1].Value);
    }

    /// <summary>The preamble for a knowledge cut-off and a date.</summary>
    public static string PreambleOf(string knowledgeCutoff, string date) => $"Cutting Knowledge Date: {knowledgeCutoff}\nToday Date: {date}\n\n";

    /// <summary>
    /// Renders <paramref name="messages"/> (roles already checked). <paramref name="leaveLastOpen"/>: the last message is
    /// an assistant turn left open after its trimmed content, as Hugging Face's <c>continue_final_message</c> leaves it.
    /// </summary>
    public static string Render(string? preamble, IReadOnlyList<ChatTurn> messages, bool addGenerationPrompt, bool leaveLastOpen)
    {
        var sb = new StringBuilder(BeginOfText);
        var first = 0;
        if (preamble is not null)
        {
            var system = messages[0].Role == ChatTurn.SystemRole ? messages[0].Content.Trim() : "";
            if (messages[0].Role == ChatTurn.SystemRole) first = 1;
            Header(sb, ChatTurn.SystemRole).Append(preamble).Append(system).Append(EndOfTurn);
        }
        for (var i = first; i < messages.Count; i++)
        {
            Header(sb, messages[i].Role).Append(messages[i].Content.Trim());
            if (!(leaveLastOpen && i == messages.Count - 1)) sb.Append(EndOfTurn);
        }
        if (addGenerationPrompt) Header(sb, ChatTurn.AssistantRole);
        return sb.ToString();
    }

    private static StringBuilder Header(StringBuilder sb, string role) => sb.Append(HeaderStart).Append(role).Append(HeaderEnd).Append("\n\n");

    /// <summary>The Jinja text this library writes for a Llama 3 template with <paramref name="preamble"/> (null: Llama 3.0).</summary>
    public static string Jinja(string? preamble)
    {
        var sb = new StringBuilder("{{- '" + BeginOfText + "' }}");
        if (preamble is not null)
        {
            var parts = PreambleParts().Match(preamble);
            if (!parts.Success) throw new InvalidOperationException($"not a Llama 3.1 system preamble: '{preamble}'");
            sb.Append("{%- set date_string = \"").Append(parts.Groups[2].Value).Append("\" %}")
              .Append("{%- if messages[0]['role'] == 'system' %}{%- set system_message = messages[0]['content'] | trim %}{%- set messages = messages[1:] %}")
              .Append("{%- else %}{%- set system_message = '' %}{%- endif %}")
              .Append("{{- '" + HeaderStart + "system" + HeaderEnd + "\\n\\n' + 'Cutting Knowledge Date: ").Append(ChatTemplateJinja.Quote(parts.Groups[1].Value))
              .Append("\\n' + 'Today Date: ' + date_string + '\\n\\n' + system_message + '" + EndOfTurn + "' }}");
        }
        sb.Append("{%- for message in messages %}{{- '" + HeaderStart + "' + message['role'] + '" + HeaderEnd + "\\n\\n' + message['content'] | trim + '" + EndOfTurn + "' }}{%- endfor %}")
          .Append("{%- if add_generation_prompt %}{{- '" + HeaderStart + "assistant" + HeaderEnd + "\\n\\n' }}{%- endif %}");
        return sb.ToString();
    }

    // "Cutting Knowledge Date: December 2023\n" in a template's text (the \n is the two characters of a Jinja escape).
    [GeneratedRegex(@"Cutting Knowledge Date: ([^""'\\]+)\\n")]
    private static partial Regex KnowledgeLiteral();

    // The template's fallback date: set date_string = "26 Jul 2024".
    [GeneratedRegex(@"date_string = ""([^""]+)""")]
    private static partial Regex DateLiteral();

    [GeneratedRegex(@"^Cutting Knowledge Date: (.+)\nToday Date: (.+)\n\n$")]
    private static partial Regex PreambleParts();
}
