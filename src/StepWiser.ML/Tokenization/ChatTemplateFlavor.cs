namespace StepWiser.ML.Tokenization;

/// <summary>Which ChatML chat template a model was trained with.</summary>
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
}
