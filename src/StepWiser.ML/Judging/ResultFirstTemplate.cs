using System.Text;
using System.Text.RegularExpressions;
using StepWiser.ML.Generation;
using StepWiser.ML.Training;

namespace StepWiser.ML.Judging;

/// <summary>
/// A two-turn judge prompt in which the judge computes a step's result before it reads the result the step states.
/// Turn 1 (<see cref="TurnOne"/>): the inner template with the new step cut just before its claimed result (found by
/// the claim locator, by default <see cref="LastResult"/>); the judge writes the result itself. Turn 2
/// (<see cref="TurnTwo"/>): the same text, the judge's own result (carried in <see cref="JudgeInput.Reference"/>), then
/// "Stated: " and the step's result, then "Check:" — which the judge continues with its own digits set beside the
/// stated ones (<see cref="Pairs"/>: <c>72= 24!</c>) and its boxed verdict. A step without a claimed result goes to
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
    public ResultFirstTemplate(JudgeTemplate inner, Func<string, Range?>? locateClaim = null)
    {
        Inner = inner ?? throw new ArgumentNullException(nameof(inner));
        _locate = locateClaim ?? LastResult;
        TurnTwo = new JudgeTemplate("result-first-" + inner.Name, RenderTurnTwo);
    }

    /// <summary>The template of problem, history and step that both turns start from.</summary>
    public JudgeTemplate Inner { get; }

    /// <summary>
    /// Turn 2's template: reads <see cref="JudgeInput.Reference"/> as the judge's own result (turn 1's text). An input
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
            $"the step \"{Data.TextPreview.Shorten(input.Chunk)}\" states a result but has no reference: turn 2 of a result-first judge needs the judge's own result (ResultFirstJudge writes it)");
        return Inner.Render(input with { Chunk = input.Chunk[..r.Start], Reference = null }) + own + StatedMarker + input.Chunk[r] + CheckMarker;
    }

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
    /// The analysis stage's examples (no label): for each step that states a result and whose right result
    /// <paramref name="resultOf"/> can compute (from the problem, the history and the step: never gold), turn 1 → that
    /// result, and turn 2 with that result as the judge's own → the digit pairs. Steps it cannot compute are skipped.
    /// </summary>
    public IReadOnlyList<SftExample> AnalysisExamples(IEnumerable<JudgeInput> steps, Func<JudgeInput, string?> resultOf)
    {
        ArgumentNullException.ThrowIfNull(steps);
        ArgumentNullException.ThrowIfNull(resultOf);
        var turnOne = new List<SftExample>();
        var turnTwo = new List<SftExample>();
        foreach (var step in steps)
        {
            if (TurnOne(step) is not { } prompt || resultOf(step) is not { Length: > 0 } right) continue;
            turnOne.Add(new SftExample(prompt, right));
            turnTwo.Add(new SftExample(TurnTwo.Render(step with { Reference = right }), " " + Pairs(right, Claim(step.Chunk)!)));
        }
        return [.. turnOne, .. turnTwo];
    }

    /// <summary>
    /// The verdict stage's examples: turn 2 (with <paramref name="resultOf"/>'s result as the judge's own where the step
    /// states one) → the digit pairs and the boxed verdict of the example's Monte-Carlo label.
    /// </summary>
    public IReadOnlyList<SftExample> VerdictExamples(IEnumerable<JudgeExample> labelled, Func<JudgeInput, string?> resultOf)
    {
        ArgumentNullException.ThrowIfNull(labelled);
        ArgumentNullException.ThrowIfNull(resultOf);
        return labelled.Select(e =>
        {
            var claim = Claim(e.Input.Chunk);
            var right = claim is null ? null : resultOf(e.Input);
            var input = claim is null ? e.Input : e.Input with { Reference = right ?? "" };
            var pairs = claim is null ? "" : Pairs(right ?? "", claim) + " ";
            return new SftExample(TurnTwo.Render(input), " " + pairs + VerdictParser.Format(e.Label));
        }).ToArray();
    }

    /// <summary>
    /// Turn 1 by <paramref name="judge"/>: the inputs with <see cref="JudgeInput.Reference"/> set to the judge's own result
    /// (greedy, up to <paramref name="maxNewTokens"/> tokens, the leading run of characters that can form a number) where
    /// the step states one; other inputs unchanged. Returns the inputs and the tokens generated per input.
    /// </summary>
    public async Task<(JudgeInput[] Inputs, int[] Tokens)> WithOwnResultsAsync(ITextGenerator judge, IReadOnlyList<JudgeInput> inputs, int maxNewTokens = 8, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(judge);
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxNewTokens, 1);
        var result = inputs.ToArray();
        var tokens = new int[result.Length];
        var prompts = result.Select(TurnOne).ToArray();
        var open = Enumerable.Range(0, result.Length).Where(i => prompts[i] is not null).ToArray();
        if (open.Length == 0) return (result, tokens);
        var sampling = SamplingOptions.Greedy(maxNewTokens) with { Stop = ["\n"] };
        var outs = await judge.GenerateAsync(open.Select(i => GenerationRequest.FromText(prompts[i]!, sampling)).ToArray(), cancellationToken).ConfigureAwait(false);
        for (var j = 0; j < open.Length; j++)
        {
            var text = outs[j].Samples[0].Text.TrimStart();
            result[open[j]] = result[open[j]] with { Reference = new string(text.TakeWhile(c => char.IsAsciiDigit(c) || c is '.' or '-' or '/').ToArray()) };
            tokens[open[j]] = outs[j].Samples[0].TokenIds.Count;
        }
        return (result, tokens);
    }

    [GeneratedRegex(@"(?:=|->|\\boxed\{)\s*(?<n>-?\d+(?:[./]\d+)?)")]
    private static partial Regex ClaimPattern();
}

/// <summary>
/// The result-first judge (<see cref="ResultFirstTemplate"/>): turn 1, the judge writes each step's result with the
/// step's own result hidden; turn 2, the same model reads its result beside the stated one and writes its comparison and
/// verdict. Both turns are the one judge model; the generated tokens of both are counted in
/// <see cref="StepVerdict.GeneratedTokens"/>.
/// </summary>
/// <param name="generator">The judge model.</param>
/// <param name="template">The two turns' prompts.</param>
/// <param name="options">Turn 2's options (verdicts, length, votes).</param>
/// <param name="turnOneTokens">The longest own result, in tokens.</param>
public sealed class ResultFirstJudge(ITextGenerator generator, ResultFirstTemplate template, StepwiseJudgeOptions? options = null, int turnOneTokens = 8) : IStepJudge
{
    private readonly StepwiseJudge _turnTwo = new(generator, template?.TurnTwo ?? throw new ArgumentNullException(nameof(template)), options);

    /// <summary>The two turns' prompts.</summary>
    public ResultFirstTemplate Template { get; } = template;

    /// <inheritdoc />
    public async Task<IReadOnlyList<StepVerdict>> JudgeStepsAsync(IReadOnlyList<JudgeInput> inputs, CancellationToken cancellationToken = default)
    {
        var (withOwn, tokens) = await Template.WithOwnResultsAsync(_turnTwo.Generator, inputs, turnOneTokens, cancellationToken).ConfigureAwait(false);
        var verdicts = await _turnTwo.JudgeStepsAsync(withOwn, cancellationToken).ConfigureAwait(false);
        return verdicts.Select((v, i) => v with { Rationale = (withOwn[i].Reference is { } own ? own + " |" : "") + v.Rationale, GeneratedTokens = v.GeneratedTokens + tokens[i] }).ToArray();
    }
}
