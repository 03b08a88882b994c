namespace StepWiser.ML.Generation;

/// <summary>One prompt to continue: text, or token ids for engines that share the tokenizer.</summary>
public sealed record GenerationRequest
{
    /// <summary>Prompt text (used when <see cref="PromptTokenIds"/> is null).</summary>
    public string? Prompt { get; init; }

    /// <summary>Prompt token ids; takes precedence over <see cref="Prompt"/> in local engines.</summary>
    public IReadOnlyList<int>? PromptTokenIds { get; init; }

    /// <summary>Sampling options of this request.</summary>
    public SamplingOptions Options { get; init; } = new();

    /// <summary>A request for <paramref name="prompt"/>.</summary>
    public static GenerationRequest FromText(string prompt, SamplingOptions? options = null) => new() { Prompt = prompt, Options = options ?? new() };
}
