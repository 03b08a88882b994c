namespace StepWiser.ML.Tokenization;

/// <summary>Which chat template a model was trained with: a ChatML variant or Llama 3's header format.</summary>
public enum ChatTemplateFlavor
{
    /// <summary>Plain ChatML: <c>&lt;|im_start|&gt;role\ncontent&lt;|im_end|&gt;\n</c> per message, no default system prompt.</summary>
    ChatML,

    /// <summary>
    /// Qwen2/Qwen2.5: plain ChatML, and a default system prompt ("You are Qwen, created by Alibaba Cloud. You are a
    /// helpful assistant.") when the conversation has none.
    /// </summary>
    Qwen2,

    /// <summary>
    /// Qwen3: plain ChatML, no default system prompt; assistant turns after the last user message carry a
    /// <c>&lt;think&gt;…&lt;/think&gt;</c> block (empty when the message has no reasoning), and earlier assistant turns
    /// lose theirs.
    /// </summary>
    Qwen3,

    /// <summary>
    /// Llama 3/3.1/3.2/3.3: <c>&lt;|begin_of_text|&gt;</c>, then <c>&lt;|start_header_id|&gt;role&lt;|end_header_id|&gt;\n\n</c>
    /// + the trimmed content + <c>&lt;|eot_id|&gt;</c> per message; from 3.1 on, a system turn that opens with the knowledge
    /// cut-off and a date (<see cref="ChatTemplate.SystemPreamble"/>) comes first in every conversation.
    /// </summary>
    Llama3,
}
