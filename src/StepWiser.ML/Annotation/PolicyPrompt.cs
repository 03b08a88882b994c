using StepWiser.ML.Chunking;
using StepWiser.ML.Tokenization;

namespace StepWiser.ML.Annotation;

/// <summary>
/// How the text a policy continues in a Monte-Carlo rollout is written from a problem and the first k chunks of a
/// solution (<see cref="MonteCarloOptions.Prompt"/>). An instruct model must be prompted the way it was trained and
/// the way it will be run, or its rollouts measure a policy nobody uses: <see cref="Chat"/> renders the checkpoint's own
/// chat template with the policy instruction (write <c>&lt;chunk&gt;</c>-tagged steps, end with <c>\boxed{}</c>) and
/// leaves the assistant turn open after the chunks so far. <see cref="Raw"/> is for base models only (the built-in
/// world's policies): the problem followed by the tagged chunks. Every prefix of one solution begins with the same text,
/// so the bare prompt's rollouts (Q_0) and the later ones continue the same conversation. <see cref="Metadata"/> names the
/// choice for the annotation output.
/// </summary>
public sealed class PolicyPrompt
{
    /// <summary>
    /// The policy instruction of the method: reason in logically complete steps, each inside <c>&lt;chunk&gt;</c> tags,
    /// and end with the final answer in <c>\boxed{}</c>.
    /// </summary>
    public const string DefaultInstruction =
        "Solve the following math problem step by step. Write each step of your reasoning inside <chunk> and </chunk> tags, "
        + "one logically complete step per chunk, and end with the final answer in \\boxed{}.";

    /// <summary>The <see cref="Format"/> of <see cref="Raw"/>.</summary>
    public const string RawFormat = "raw";

    /// <summary>The <see cref="Format"/> of <see cref="Chat"/>.</summary>
    public const string ChatFormat = "chat";

    private readonly Func<string, IReadOnlyList<string>, string> _build;

    private PolicyPrompt(string format, Func<string, IReadOnlyList<string>, string> build, IReadOnlyDictionary<string, string> metadata)
    {
        Format = format;
        _build = build;
        Metadata = metadata;
    }

    /// <summary>
    /// For base models only: the problem, then each chunk as <c>&lt;chunk&gt;…&lt;/chunk&gt;</c> followed by a blank line
    /// (the format the built-in world's policies are trained on). No instruction, no chat template.
    /// </summary>
    public static PolicyPrompt Raw { get; } = new(RawFormat, RawPrefix, new Dictionary<string, string> { ["prompt_format"] = RawFormat });

    /// <summary>
    /// The checkpoint's own chat template: a system turn with <paramref name="instruction"/> (or, with
    /// <paramref name="instructionAsSystemMessage"/> false, the instruction and a blank line before the problem in the
    /// user turn, which keeps a template's default system prompt), the problem as the user turn, and an assistant turn
    /// holding the tagged chunks so far, left open. Qwen3 templates get their empty think block (non-thinking mode),
    /// so every prefix, the bare prompt's included, continues after it.
    /// </summary>
    public static PolicyPrompt Chat(ChatTemplate template, string instruction = DefaultInstruction, bool instructionAsSystemMessage = true)
    {
        ArgumentNullException.ThrowIfNull(template);
        ArgumentException.ThrowIfNullOrWhiteSpace(instruction);
        string Build(string problem, IReadOnlyList<string> chunks)
        {
            List<ChatTurn> conversation = instructionAsSystemMessage
                ? [ChatTurn.System(instruction), ChatTurn.User(problem)]
                : [ChatTurn.User(instruction + "\n\n" + problem)];
            if (chunks.Count == 0) return template.Render(conversation, addGenerationPrompt: true, enableThinking: false);
            conversation.Add(ChatTurn.Assistant(TaggedChunks(chunks)));
            return template.RenderContinuation(conversation);
        }
        var metadata = new Dictionary<string, string>
        {
            ["prompt_format"] = ChatFormat,
            ["chat_template"] = template.Flavor.ToString(),
            ["policy_instruction"] = instruction,
            ["policy_instruction_role"] = instructionAsSystemMessage ? ChatTurn.SystemRole : ChatTurn.UserRole,
        };
        return new PolicyPrompt(ChatFormat, Build, metadata);
    }

    /// <summary>A format of your own, recorded under <paramref name="name"/> (anything but "raw" and "chat").</summary>
    public static PolicyPrompt Custom(string name, Func<string, IReadOnlyList<string>, string> build)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(build);
        if (name is RawFormat or ChatFormat) throw new ArgumentException($"'{name}' names a built-in format; give a custom format another name", nameof(name));
        return new PolicyPrompt(name, build, new Dictionary<string, string> { ["prompt_format"] = name });
    }

    /// <summary>"raw", "chat" or a custom format's name.</summary>
    public string Format { get; }

    /// <summary>
    /// What identifies this choice in an annotation's output: <c>prompt_format</c>, and for chat prompts the template's
    /// flavor (<c>chat_template</c>), the instruction and the role it was given in.
    /// </summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>The text the policy continues after the first <paramref name="chunks"/> of a solution to <paramref name="problem"/>.</summary>
    public string Build(string problem, IReadOnlyList<string> chunks)
    {
        ArgumentNullException.ThrowIfNull(problem);
        ArgumentNullException.ThrowIfNull(chunks);
        return _build(problem, chunks);
    }

    private static string RawPrefix(string problem, IReadOnlyList<string> chunks) => problem + TaggedChunks(chunks);

    private static string TaggedChunks(IReadOnlyList<string> chunks) =>
        string.Concat(chunks.Select(c => ChunkParser.OpenTag + c + ChunkParser.CloseTag + "\n\n"));
}
