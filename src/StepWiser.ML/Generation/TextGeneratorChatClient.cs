using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;
using StepWiser.ML.Tokenization;

namespace StepWiser.ML.Generation;

/// <summary>
/// Makes any <see cref="ITextGenerator"/> (a local model or a remote completions server) an <see cref="IChatClient"/>
/// of Microsoft.Extensions.AI, so Semantic Kernel and other .NET AI code can use it. Messages are rendered with a
/// ChatML <see cref="ChatTemplate"/>; when the last message is from the assistant, its text is continued rather than
/// answered (prefill). Honours <see cref="ChatOptions.Temperature"/>, <see cref="ChatOptions.TopP"/>,
/// <see cref="ChatOptions.TopK"/>, <see cref="ChatOptions.MaxOutputTokens"/>, <see cref="ChatOptions.StopSequences"/>
/// and <see cref="ChatOptions.Seed"/>. Streaming yields the whole reply as one update (the engines decode in batches).
/// </summary>
/// <param name="generator">The engine that writes the replies.</param>
/// <param name="template">Chat format of the model (default: plain ChatML).</param>
/// <param name="modelId">Name reported in responses and metadata.</param>
/// <param name="defaultMaxOutputTokens">Reply length when the options do not say.</param>
public sealed class TextGeneratorChatClient(ITextGenerator generator, ChatTemplate? template = null, string modelId = "stepwiser-local", int defaultMaxOutputTokens = 512) : IChatClient
{
    private readonly ChatTemplate _template = template ?? ChatTemplate.ChatML;
    private readonly ChatClientMetadata _metadata = new("StepWiser.ML", null, modelId);

    /// <inheritdoc />
    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var request = BuildRequest(messages, options);
        var result = (await generator.GenerateAsync([request], cancellationToken).ConfigureAwait(false))[0];
        var sample = result.Samples[0];
        return new ChatResponse(new ChatMessage(ChatRole.Assistant, sample.Text))
        {
            ModelId = options?.ModelId ?? modelId,
            FinishReason = sample.Finish == FinishReason.Length ? ChatFinishReason.Length : ChatFinishReason.Stop,
            Usage = new UsageDetails
            {
                InputTokenCount = result.PromptTokenCount,
                OutputTokenCount = sample.TokenIds.Count,
                TotalTokenCount = result.PromptTokenCount + sample.TokenIds.Count,
            },
            CreatedAt = DateTimeOffset.UtcNow,
        };
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var response = await GetResponseAsync(messages, options, cancellationToken).ConfigureAwait(false);
        foreach (var update in response.ToChatResponseUpdates()) yield return update;
    }

    /// <inheritdoc />
    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        if (serviceKey is not null) return null;
        if (serviceType == typeof(ChatClientMetadata)) return _metadata;
        if (serviceType.IsInstanceOfType(this)) return this;
        if (serviceType.IsInstanceOfType(generator)) return generator;
        return null;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        // The generator belongs to the caller.
    }

    /// <summary>The completion request this client sends for a conversation (exposed for inspection and tests).</summary>
    public GenerationRequest BuildRequest(IEnumerable<ChatMessage> messages, ChatOptions? options)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var turns = messages.Select((m, i) => new ChatTurn(RoleOf(m.Role, i), m.Text)).ToList();
        if (turns.Count == 0) throw new ArgumentException("a conversation needs at least one message", nameof(messages));
        var prompt = turns[^1].Role == ChatTurn.AssistantRole
            ? _template.RenderContinuation(turns)
            : _template.Render(turns, addGenerationPrompt: true);
        var stops = new List<string> { _template.TurnEnd };
        if (options?.StopSequences is { } extra) stops.AddRange(extra.Where(s => !string.IsNullOrEmpty(s)));
        var sampling = new SamplingOptions
        {
            MaxNewTokens = options?.MaxOutputTokens ?? defaultMaxOutputTokens,
            Temperature = options?.Temperature ?? 1.0f,
            TopP = options?.TopP ?? 1.0f,
            TopK = options?.TopK ?? 0,
            Seed = options?.Seed,
            Stop = stops.Distinct().ToArray(),
        };
        return GenerationRequest.FromText(prompt, sampling);
    }

    private static string RoleOf(ChatRole role, int index)
    {
        if (role == ChatRole.System) return ChatTurn.SystemRole;
        if (role == ChatRole.User) return ChatTurn.UserRole;
        if (role == ChatRole.Assistant) return ChatTurn.AssistantRole;
        throw new NotSupportedException($"message {index}: role '{role}' is not supported (system, user and assistant are).");
    }
}
