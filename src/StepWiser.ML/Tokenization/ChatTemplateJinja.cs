namespace StepWiser.ML.Tokenization;

/// <summary>
/// Jinja chat templates this library writes into a saved model's <c>tokenizer_config.json</c> when its
/// <see cref="ChatTemplate"/> was not read from a checkpoint's own: for each flavor, a template that renders system, user
/// and assistant messages (with <c>add_generation_prompt</c>, and Qwen3's <c>enable_thinking</c>) exactly as
/// <see cref="ChatTemplate.Render"/> does, and that <see cref="ChatTemplate.FromTemplateText"/> reads back as the same
/// flavor. Tool calls are not part of them.
/// </summary>
internal static class ChatTemplateJinja
{
    /// <summary>The template for <paramref name="template"/>'s flavor and default system prompt.</summary>
    public static string For(ChatTemplate template) => template.Flavor == ChatTemplateFlavor.Llama3
        ? Llama3Format.Jinja(template.SystemPreamble)
        : (template.DefaultSystemPrompt is { } system ? DefaultSystem(system) : "")
            + (template.Flavor == ChatTemplateFlavor.Qwen3 ? Qwen3 : BuiltInTokenizer.ChatTemplateJinja);

    /// <summary>A ChatML system turn written when the conversation does not start with one.</summary>
    private static string DefaultSystem(string prompt) =>
        "{%- if messages[0]['role'] != 'system' %}{{- '<|im_start|>system\\n" + Quote(prompt) + "<|im_end|>\\n' }}{%- endif %}";

    /// <summary>The text of a single-quoted Jinja string literal holding <paramref name="text"/>.</summary>
    internal static string Quote(string text) =>
        text.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("'", "\\'", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);

    /// <summary>
    /// Qwen3's rules: reasoning (<c>&lt;think&gt;…&lt;/think&gt;</c>) is kept only in assistant turns after the last user
    /// query that is not a tool response, and such a turn that is the conversation's last gets a think block even when
    /// empty; the generation prompt carries an empty think block when <c>enable_thinking</c> is false.
    /// </summary>
    private const string Qwen3 = """
        {%- set query = namespace(index=messages|length - 1) %}
        {%- for m in messages %}
            {%- if m.role == 'user' and not (m.content.startswith('<tool_response>') and m.content.endswith('</tool_response>')) %}
                {%- set query.index = loop.index0 %}
            {%- endif %}
        {%- endfor %}
        {%- for m in messages %}
            {%- if m.role == 'assistant' %}
                {%- set answer = m.content %}
                {%- set thought = '' %}
                {%- if '</think>' in m.content %}
                    {%- set answer = m.content.split('</think>')[-1].lstrip('\n') %}
                    {%- set thought = m.content.split('</think>')[0].rstrip('\n').split('<think>')[-1].lstrip('\n') %}
                {%- endif %}
                {%- if loop.index0 > query.index and (loop.last or thought) %}
                    {{- '<|im_start|>assistant\n<think>\n' + thought.strip('\n') + '\n</think>\n\n' + answer.lstrip('\n') + '<|im_end|>\n' }}
                {%- else %}
                    {{- '<|im_start|>assistant\n' + answer + '<|im_end|>\n' }}
                {%- endif %}
            {%- else %}
                {{- '<|im_start|>' + m.role + '\n' + m.content + '<|im_end|>\n' }}
            {%- endif %}
        {%- endfor %}
        {%- if add_generation_prompt %}
            {{- '<|im_start|>assistant\n' }}
            {%- if enable_thinking is defined and enable_thinking is false %}
                {{- '<think>\n\n</think>\n\n' }}
            {%- endif %}
        {%- endif %}
        """;
}
