using StepWiser.ML.Tokenization;

namespace StepWiser.ML.Judging;

/// <summary>
/// Turns a <see cref="JudgeInput"/> into the prompt a judge continues. <see cref="Chat"/> follows METHOD.md §3 for
/// instruct models (a validator of mathematical reasoning; analyse first, then <c>\boxed{Positive}</c> or
/// <c>\boxed{Negative}</c>) through a ChatML template; <see cref="Compact"/> is the short form for the built-in
/// world's small models. Users bring their own with <see cref="JudgeTemplate(string, Func{JudgeInput, string})"/>.
/// </summary>
/// <param name="name">Name stored in a saved judge's manifest.</param>
/// <param name="render">Renders the prompt.</param>
public sealed class JudgeTemplate(string name, Func<JudgeInput, string> render)
{
    /// <summary>The instruction of the chat template (METHOD.md §3).</summary>
    public const string Instruction =
        "You are a validator of mathematical reasoning. You are given a problem, the reasoning so far (history) and one new chunk of reasoning. " +
        "First analyse the new chunk: state its goal, then check its logic, method and calculations against the problem and the history. " +
        "A chunk without any calculation is acceptable. Then give your final judgment as \\boxed{Positive} if the new chunk has no mistake, " +
        "or \\boxed{Negative} if it has one or more mistakes.";

    /// <summary>The template's name.</summary>
    public string Name { get; } = name;

    /// <summary>The prompt for an input.</summary>
    public string Render(JudgeInput input) => render(input);

    /// <summary>
    /// The compact form for small models: problem, numbered history, new chunk, then "Analysis:" which the judge
    /// continues with its analysis and verdict.
    /// </summary>
    public static JudgeTemplate Compact { get; } = new("compact", input =>
        $"Judge the new step.\nProblem: {input.Problem}\nHistory:\n{(input.History.Count == 0 ? "(none)\n" : string.Concat(input.History.Select(h => h + "\n")))}New step:\n{input.Chunk}\nAnalysis:");

    /// <summary>The full instruction as a chat conversation rendered by <paramref name="chat"/> with a generation prompt.</summary>
    public static JudgeTemplate Chat(ChatTemplate chat) => new($"chat-{chat.Flavor}", input => chat.Render(
    [
        ChatTurn.System(Instruction),
        ChatTurn.User($"Problem:\n{input.Problem}\n\nHistory:\n{(input.History.Count == 0 ? "(none)" : string.Join("\n\n", input.History.Select((h, i) => $"Chunk {i + 1}:\n{h}")))}\n\nNew chunk:\n{input.Chunk}"),
    ], addGenerationPrompt: true));

    /// <summary>The built-in template of a name written by <see cref="Name"/>, or null.</summary>
    public static JudgeTemplate? FromName(string name) => name switch
    {
        "compact" => Compact,
        "chat-ChatML" => Chat(ChatTemplate.ChatML),
        "chat-Qwen2" => Chat(ChatTemplate.Qwen25),
        "chat-Qwen3" => Chat(ChatTemplate.Qwen3),
        _ => null,
    };
}
