using StepWiser.ML.Tokenization;

namespace StepWiser.ML.Judging;

/// <summary>
/// Turns a <see cref="JudgeInput"/> into the prompt a judge continues. <see cref="Chat"/> follows the paper's judge prompt (docs/judging-evaluation-search.md) for
/// instruct models (a validator of mathematical reasoning; analyse first, then <c>\boxed{Positive}</c> or
/// <c>\boxed{Negative}</c>) through a ChatML template; <see cref="Compact"/> is the short form for the built-in
/// world's small models. Users bring their own with <see cref="JudgeTemplate(string, Func{JudgeInput, string})"/>.
/// </summary>
/// <param name="name">Name stored in a saved judge's manifest.</param>
/// <param name="render">Renders the prompt.</param>
public sealed class JudgeTemplate(string name, Func<JudgeInput, string> render)
{
    /// <summary>The instruction of the chat template (the paper's judge prompt; docs/judging-evaluation-search.md).</summary>
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
    /// The result-first template whose turn 2 this is (<see cref="ResultFirstTemplate.TurnTwo"/>), or null. A
    /// <see cref="StepwiseJudge"/> with such a template runs turn 1 itself for the steps that state a result and carry
    /// no <see cref="JudgeInput.Reference"/>, and the recipe's stages train both turns (<see cref="JudgeRecipe"/>).
    /// </summary>
    public ResultFirstTemplate? ResultFirst { get; internal init; }

    /// <summary>
    /// The compact form for small models: problem, numbered history, new chunk, then "Analysis:" which the judge
    /// continues with its analysis and verdict.
    /// </summary>
    public static JudgeTemplate Compact { get; } = new("compact", input =>
        $"Judge the new step.\nProblem: {input.Problem}\nHistory:\n{(input.History.Count == 0 ? "(none)\n" : string.Concat(input.History.Select(h => h + "\n")))}New step:\n{input.Chunk}\nAnalysis:");

    /// <summary>
    /// The numbered form for small models: the problem one sentence per line, numbered "(1)", "(2)", …; the history one
    /// step per line, numbered "Step 1:", …; then "New step K:" and "Analysis:". The numbers let a small judge refer to a
    /// sentence by number instead of searching the problem for it (an analysis can say "(3) Subtract 62." and copy the
    /// sentence after "(3)"). It reads nothing but the problem, history and chunk, and is task-independent: any problem
    /// splits into sentences (after ".", "?" or "!" and a space). Chunks are flattened to one line.
    /// </summary>
    public static JudgeTemplate Numbered { get; } = new("numbered", input =>
    {
        var text = new System.Text.StringBuilder("Judge the new step.\nProblem:\n");
        var sentences = Sentences(input.Problem);
        for (int i = 0; i < sentences.Count; i++) text.Append('(').Append(i + 1).Append(") ").Append(sentences[i]).Append('\n');
        text.Append("History:\n");
        if (input.History.Count == 0) text.Append("(none)\n");
        for (int i = 0; i < input.History.Count; i++) text.Append("Step ").Append(i + 1).Append(": ").Append(OneLine(input.History[i])).Append('\n');
        return text.Append("New step ").Append(input.History.Count + 1).Append(": ").Append(OneLine(input.Chunk)).Append("\nAnalysis:").ToString();
    });

    /// <summary>
    /// The second pass of a <see cref="ReferenceJudge"/>: the judge's own reference (<see cref="JudgeInput.Reference"/>)
    /// and the new step as aligned character pairs (<see cref="ReferenceComparison.Pairs"/>), then "Analysis:". The
    /// problem and history are not shown again: the reference was written from them. An input without a reference is an
    /// error naming the step.
    /// </summary>
    public static JudgeTemplate ReferencePairs { get; } = new("reference-pairs", input =>
        "Compare your step with the new step.\nPairs: " + ReferenceComparison.Pairs(
            input.Reference ?? throw new ArgumentException($"the step \"{Data.TextPreview.Shorten(input.Chunk)}\" has no reference: the reference-pairs template needs the judge's own step (ReferenceJudge writes it)"),
            input.Chunk) + "\nAnalysis:");

    /// <summary>The sentences of a text: split after ".", "?" or "!" followed by white space, trimmed, empty ones dropped.</summary>
    public static IReadOnlyList<string> Sentences(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return System.Text.RegularExpressions.Regex.Split(text, @"(?<=[.?!])\s+").Select(x => x.Trim()).Where(x => x.Length > 0).ToArray();
    }

    /// <summary>A chunk on one line: runs of spaces, tabs and line breaks (including the blank line between a step's parts) become one space.</summary>
    public static string OneLine(string chunk)
    {
        ArgumentNullException.ThrowIfNull(chunk);
        return string.Join(' ', chunk.Split((char[])[' ', '\n', '\r', '\t'], StringSplitOptions.RemoveEmptyEntries));
    }

    /// <summary>
    /// The template for a judge trained from the checkpoint in <paramref name="checkpointDirectory"/>: the chat template
    /// of its <c>tokenizer_config.json</c> when it has one (an instruct model such as Qwen2.5-Instruct), otherwise
    /// <see cref="Compact"/>; the built-in world's checkpoints (the built-in tokenizer) never saw chat turns, so they get
    /// <see cref="Compact"/> too. A chat template this library cannot render is treated as none.
    /// </summary>
    public static JudgeTemplate ForCheckpoint(string checkpointDirectory)
    {
        ArgumentNullException.ThrowIfNull(checkpointDirectory);
        var tokenizer = Path.Combine(checkpointDirectory, "tokenizer.json");
        if (File.Exists(tokenizer) && File.ReadAllText(tokenizer) == BuiltInTokenizer.ToJson()) return Compact;
        return ChatTemplate.FromCheckpoint(checkpointDirectory) is { } chat ? Chat(chat) : Compact;
    }

    /// <summary>The full instruction as a chat conversation rendered by <paramref name="chat"/> with a generation prompt.</summary>
    public static JudgeTemplate Chat(ChatTemplate chat) => new($"chat-{chat.Flavor}", input => chat.Render(
    [
        ChatTurn.System(Instruction),
        ChatTurn.User($"Problem:\n{input.Problem}\n\nHistory:\n{(input.History.Count == 0 ? "(none)" : string.Join("\n\n", input.History.Select((h, i) => $"Chunk {i + 1}:\n{h}")))}\n\nNew chunk:\n{input.Chunk}"),
    ], addGenerationPrompt: true));

    /// <summary>
    /// The built-in template of a name written by <see cref="Name"/> (also turn 2 of a result-first judge over one, with
    /// the default claim locator: "result-first-numbered"), or null.
    /// </summary>
    public static JudgeTemplate? FromName(string name) => name switch
    {
        "compact" => Compact,
        "numbered" => Numbered,
        "reference-pairs" => ReferencePairs,
        "chat-ChatML" => Chat(ChatTemplate.ChatML),
        "chat-Qwen2" => Chat(ChatTemplate.Qwen25),
        "chat-Qwen3" => Chat(ChatTemplate.Qwen3),
        // Turn 2 of a result-first judge over a built-in template, with the default claim locator.
        _ when name.StartsWith(ResultFirstPrefix, StringComparison.Ordinal) && FromName(name[ResultFirstPrefix.Length..]) is { } inner => new ResultFirstTemplate(inner).TurnTwo,
        _ => null,
    };

    private const string ResultFirstPrefix = "result-first-";
}
