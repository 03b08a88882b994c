using System.Text;
using System.Text.RegularExpressions;
using StepWiser.ML.Generation;
using StepWiser.ML.Training;

namespace StepWiser.ML.Judging;

/// <summary>
/// A two-turn judge prompt in which the judge computes a step's result before it reads the result the step states.
/// Turn 1 (<see cref="TurnOne"/>): the inner template with the new step cut just before its claimed result (found by
/// the claim locator, by default <see cref="LastResult"/>); the judge works the result out itself, on one line ending
/// with the result (<see cref="OwnResult"/>: the line's last number). Turn 2 (<see cref="TurnTwo"/>): the same text, the
/// judge's turn-1 line (carried in <see cref="JudgeInput.Reference"/>), then "Stated: " and the step's result, then
/// "Check:" — which the judge continues with its comparison (<see cref="Comparison"/>: its own result's digits set
/// beside the stated ones, then "same" or "differs": <c>72= 24! differs</c>) and its boxed verdict. A step without a claimed result goes to
/// turn 2 as the inner prompt of the whole step. The judge reads the problem, the history and the whole step before its
/// verdict; only the order is changed, so that a small judge cannot copy the result it is meant to check (a judge shown
/// the whole step while it writes its recomputation learns to repeat the step's digits: lab/judge-design.md).
/// </summary>
public sealed partial class ResultFirstTemplate
{
    /// <summary>The text between the judge's own result and the stated one.</summary>
    public const string StatedMarker = "\nStated: ";

    /// <summary>The text after which the judge writes its comparison and verdict.</summary>
    public const string CheckMarker = "\nCheck:";

    private readonly Func<string, Range?> _locate;

    /// <param name="inner">The prompt of problem, history and (cut) step, e.g. <see cref="JudgeTemplate.Numbered"/>.</param>
    /// <param name="locateClaim">Where a chunk states its result (null: none); default <see cref="LastResult"/>.</param>
    /// <param name="name">The name of <see cref="TurnTwo"/> (what a saved judge's manifest records); default "result-first-" and the inner template's name.</param>
    /// <param name="turnOneTokens">The longest turn-1 line, in tokens (default 32).</param>
    public ResultFirstTemplate(JudgeTemplate inner, Func<string, Range?>? locateClaim = null, string? name = null, int turnOneTokens = 32)
    {
        Inner = inner ?? throw new ArgumentNullException(nameof(inner));
        ArgumentOutOfRangeException.ThrowIfLessThan(turnOneTokens, 1);
        _locate = locateClaim ?? LastResult;
        TurnOneTokens = turnOneTokens;
        TurnTwo = new JudgeTemplate(name ?? "result-first-" + inner.Name, RenderTurnTwo) { ResultFirst = this };
    }

    /// <summary>The longest turn-1 line, in tokens.</summary>
    public int TurnOneTokens { get; }

    /// <summary>The template of problem, history and step that both turns start from.</summary>
    public JudgeTemplate Inner { get; }

    /// <summary>
    /// Turn 2's template: reads <see cref="JudgeInput.Reference"/> as the judge's turn-1 line. An input
    /// whose step states a result but carries no reference is an error naming the step.
    /// </summary>
    public JudgeTemplate TurnTwo { get; }

    /// <summary>The result a chunk states, or null when it states none.</summary>
    public string? Claim(string chunk)
    {
        ArgumentNullException.ThrowIfNull(chunk);
        return _locate(chunk) is { } r ? chunk[r] : null;
    }

    /// <summary>Turn 1's prompt: the inner template with the step cut before its claimed result; null when the step states none.</summary>
    public string? TurnOne(JudgeInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        return _locate(input.Chunk) is { } r ? Inner.Render(input with { Chunk = input.Chunk[..r.Start], Reference = null }) : null;
    }

    private string RenderTurnTwo(JudgeInput input)
    {
        if (_locate(input.Chunk) is not { } r) return Inner.Render(input with { Reference = null }) + CheckMarker;
        var own = input.Reference ?? throw new ArgumentException(
            $"the step \"{Data.TextPreview.Shorten(input.Chunk)}\" states a result but has no reference: turn 2 of a result-first judge needs the judge's turn-1 line (ResultFirstJudge writes it)");
        return Inner.Render(input with { Chunk = input.Chunk[..r.Start], Reference = null }) + own + StatedMarker + input.Chunk[r] + CheckMarker;
    }

    /// <summary>The result a turn-1 line ends with: its last number ("" when it has none).</summary>
    public static string OwnResult(string turnOne)
    {
        ArgumentNullException.ThrowIfNull(turnOne);
        var numbers = NumberPattern().Matches(turnOne);
        return numbers.Count == 0 ? "" : numbers[^1].Value;
    }

    /// <summary>
    /// What the judge writes after "Check:" before its verdict: <see cref="Pairs"/>, then "same" when the two results are
    /// equal and "differs" otherwise (<c>77= 24! differs</c>). The word sums the pairs up right before the verdict, so
    /// that a small judge's verdict reads one word instead of searching the pairs for a mark; it is computed, like the
    /// pairs, from the two results alone (no label).
    /// </summary>
    public static string Comparison(string own, string stated) => Pairs(own, stated) + (own == stated ? " same" : " differs");

    /// <summary>
    /// The judge's own result beside the stated one, digit by digit: each pair of characters marked <c>=</c> (same) or
    /// <c>!</c> (different), <c>_</c> where one is shorter; e.g. own 74, stated 72 → <c>77= 42!</c>.
    /// </summary>
    public static string Pairs(string own, string stated)
    {
        ArgumentNullException.ThrowIfNull(own);
        ArgumentNullException.ThrowIfNull(stated);
        var text = new StringBuilder();
        for (var j = 0; j < Math.Max(own.Length, stated.Length); j++)
        {
            var a = j < own.Length ? own[j] : '_';
            var b = j < stated.Length ? stated[j] : '_';
            text.Append(j == 0 ? "" : " ").Append(a).Append(b).Append(a == b ? '=' : '!');
        }
        return text.ToString();
    }

    /// <summary>
    /// The default claim locator: the number after a chunk's last <c>=</c> or <c>-&gt;</c> (spaces allowed between), or
    /// inside its last <c>\boxed{…}</c> when that comes later; null when there is none.
    /// </summary>
    public static Range? LastResult(string chunk)
    {
        ArgumentNullException.ThrowIfNull(chunk);
        var matches = ClaimPattern().Matches(chunk);
        if (matches.Count == 0) return null;
        var g = matches[^1].Groups["n"];
        return g.Index..(g.Index + g.Length);
    }

    /// <summary>
    /// The analysis stage's examples (no label): for each step that states a result and for which
    /// <paramref name="turnOneOf"/> can write turn 1 (the working and the right result, from the problem, the history and
    /// the step's text before its result: never gold), turn 1 → that line, and turn 2 with that line as the judge's own →
    /// its <see cref="Comparison"/> with the stated result. Steps it cannot write turn 1 for are skipped.
    /// </summary>
    public IReadOnlyList<SftExample> AnalysisExamples(IEnumerable<JudgeInput> steps, Func<JudgeInput, string?> turnOneOf)
    {
        ArgumentNullException.ThrowIfNull(steps);
        ArgumentNullException.ThrowIfNull(turnOneOf);
        var turnOne = new List<SftExample>();
        var turnTwo = new List<SftExample>();
        foreach (var step in steps)
        {
            if (TurnOne(step) is not { } prompt || turnOneOf(step) is not { Length: > 0 } line) continue;
            turnOne.Add(new SftExample(prompt, line));
            turnTwo.Add(new SftExample(TurnTwo.Render(step with { Reference = line }), " " + Comparison(OwnResult(line), Claim(step.Chunk)!)));
        }
        return [.. turnOne, .. turnTwo];
    }

    /// <summary>
    /// The verdict stage's examples: turn 2 (with <paramref name="turnOneOf"/>'s line as the judge's own where the step
    /// states a result) → the <see cref="Comparison"/> and the boxed verdict of the example's Monte-Carlo label.
    /// </summary>
    public IReadOnlyList<SftExample> VerdictExamples(IEnumerable<JudgeExample> labelled, Func<JudgeInput, string?> turnOneOf)
    {
        ArgumentNullException.ThrowIfNull(labelled);
        ArgumentNullException.ThrowIfNull(turnOneOf);
        return labelled.Select(e =>
        {
            var claim = Claim(e.Input.Chunk);
            var line = claim is null ? null : turnOneOf(e.Input) ?? "";
            var input = claim is null ? e.Input : e.Input with { Reference = line };
            var pairs = claim is null ? "" : Comparison(OwnResult(line!), claim) + " ";
            return new SftExample(TurnTwo.Render(input), " " + pairs + VerdictParser.Format(e.Label));
        }).ToArray();
    }

    /// <summary>
    /// Turn 1 by <paramref name="judge"/>: the inputs with <see cref="JudgeInput.Reference"/> set to the judge's turn-1
    /// line (greedy, up to <paramref name="maxNewTokens"/> tokens, the first line break or a chunk's close tag, trimmed) where the step states
    /// a result; other inputs unchanged. Returns the inputs and the tokens generated per input.
    /// </summary>
    public async Task<(JudgeInput[] Inputs, int[] Tokens)> WithOwnResultsAsync(ITextGenerator judge, IReadOnlyList<JudgeInput> inputs, int maxNewTokens = 32, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(judge);
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxNewTokens, 1);
        var result = inputs.ToArray();
        var tokens = new int[result.Length];
        var prompts = result.Select(TurnOne).ToArray();
        var open = Enumerable.Range(0, result.Length).Where(i => prompts[i] is not null).ToArray();
        if (open.Length == 0) return (result, tokens);
        var sampling = LineSampling(SamplingOptions.Greedy(maxNewTokens), maxNewTokens);
        var outs = await judge.GenerateAsync(open.Select(i => GenerationRequest.FromText(prompts[i]!, sampling)).ToArray(), cancellationToken).ConfigureAwait(false);
        for (var j = 0; j < open.Length; j++)
        {
            result[open[j]] = result[open[j]] with { Reference = LineOf(outs[j].Samples[0].Text) };
            tokens[open[j]] = outs[j].Samples[0].TokenIds.Count;
        }
        return (result, tokens);
    }

    /// <summary>Whether turn 1 still has to be written for <paramref name="input"/>: its step states a result and it carries no line.</summary>
    internal bool NeedsTurnOne(JudgeInput input) => input.Reference is null && _locate(input.Chunk) is not null;

    /// <summary>Turn 1's sampling: <paramref name="sampling"/> up to <paramref name="maxNewTokens"/>, stopping at the line's end or a chunk's close tag.</summary>
    internal static SamplingOptions LineSampling(SamplingOptions sampling, int maxNewTokens) =>
        sampling with { MaxNewTokens = maxNewTokens, Stop = ["\n", Chunking.ChunkParser.CloseTag] };

    /// <summary>A generated turn-1 text as the judge's line: up to its first line break, trimmed.</summary>
    internal static string LineOf(string text)
    {
        var end = text.IndexOf('\n', StringComparison.Ordinal);
        return (end < 0 ? text : text[..end]).Trim();
    }

    /// <summary>
    /// Turn-1 lines written by <paramref name="model"/> itself (greedy, as <see cref="WithOwnResultsAsync"/>) for
    /// <paramref name="steps"/>, as a lookup by turn-1 prompt for <see cref="JudgeAnalysis.Write"/>: self-distillation,
    /// where the judge's turn-1 target is what the model it starts from (e.g. the policy, in the policy's own text)
    /// already writes there. No label and no rule of a task is involved. Steps without a claim, and steps not among
    /// <paramref name="steps"/>, give "" (no line: the analysis stage skips them; the verdict stage compares an empty result).
    /// The lines depend on the batch the generator sees: pass the same steps to get the same lines.
    /// </summary>
    public async Task<Func<JudgeInput, string>> SelfDistilledAsync(ITextGenerator model, IEnumerable<JudgeInput> steps, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(steps);
        var inputs = steps.Where(s => TurnOne(s) is not null).ToArray();
        var (lines, _) = await WithOwnResultsAsync(model, inputs, TurnOneTokens, cancellationToken).ConfigureAwait(false);
        var byPrompt = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < inputs.Length; i++)
            if (lines[i].Reference is { Length: > 0 } line) byPrompt.TryAdd(TurnOne(inputs[i])!, line);
        return step => TurnOne(step) is { } prompt && byPrompt.TryGetValue(prompt, out var line) ? line : "";
    }

    [GeneratedRegex(@"(?:=|->|\\boxed\{)\s*(?<n>-?\d+(?:[./]\d+)?)")]
    private static partial Regex ClaimPattern();

    [GeneratedRegex(@"-?\d+(?:[./]\d+)?")]
    private static partial Regex NumberPattern();
}

/// <summary>
/// The result-first judge (<see cref="ResultFirstTemplate"/>): turn 1, the judge works out each step's result with the
/// step's own result hidden; turn 2, the same model reads its result beside the stated one and writes its comparison and
/// verdict. Both turns are the one judge model; the generated tokens of both are counted in
/// <see cref="StepVerdict.GeneratedTokens"/>. The same as a <see cref="StepwiseJudge"/> over <see cref="ResultFirstTemplate.TurnTwo"/>.
/// </summary>
/// <param name="generator">The judge model.</param>
/// <param name="template">The two turns' prompts.</param>
/// <param name="options">Turn 2's options (verdicts, length, votes).</param>
public sealed class ResultFirstJudge(ITextGenerator generator, ResultFirstTemplate template, StepwiseJudgeOptions? options = null) : IStepJudge
{
    private readonly StepwiseJudge _judge = new(generator, template?.TurnTwo ?? throw new ArgumentNullException(nameof(template)), options);

    /// <summary>The two turns' prompts.</summary>
    public ResultFirstTemplate Template { get; } = template;

    /// <inheritdoc />
    public Task<IReadOnlyList<StepVerdict>> JudgeStepsAsync(IReadOnlyList<JudgeInput> inputs, CancellationToken cancellationToken = default) =>
        _judge.JudgeStepsAsync(inputs, cancellationToken);
}
