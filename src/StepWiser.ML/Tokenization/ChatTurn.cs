namespace StepWiser.ML.Tokenization;

/// <summary>One message of a conversation rendered by <see cref="ChatTemplate"/>.</summary>
/// <param name="Role">"system", "user" or "assistant".</param>
/// <param name="Content">The message text.</param>
public sealed record ChatTurn(string Role, string Content)
{
    /// <summary>The system role.</summary>
    public const string SystemRole = "system";

    /// <summary>The user role.</summary>
    public const string UserRole = "user";

    /// <summary>The assistant role.</summary>
    public const string AssistantRole = "assistant";

    /// <summary>A system message.</summary>
    public static ChatTurn System(string content) => new(SystemRole, content);

    /// <summary>A user message.</summary>
    public static ChatTurn User(string content) => new(UserRole, content);

    /// <summary>An assistant message.</summary>
    public static ChatTurn Assistant(string content) => new(AssistantRole, content);
}
