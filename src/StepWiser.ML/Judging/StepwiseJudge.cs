using StepWiser.ML.Generation;

namespace StepWiser.ML.Judging;

/// <summary>
/// Runs a generative stepwise judge over solutions: step i is judged with steps 0..i−1 as history, the steps of many
/// solutions batched into one generator call per step index, k verdicts per step (Maj@k). Works with any
/// <see cref="ITextGenerator"/>: the local engine or a remote OpenAI-compatible server (e.g. a large judge on vLLM).
/// </summary>
public sealed class StepwiseJudge(ITextGenerator generator, JudgeTemplate template, StepwiseJudgeOptions? options = null) : IStepJudge
{
    /// <summary>The options (immutable; validated here).</summary>
    public StepwiseJudgeOptions Options { get; } = Validated(options ?? new StepwiseJudgeOptions());

    /// <summary>The prompt template.</summary>
    public JudgeTemplate Template { get; } = template ?? throw new ArgumentNullException(nameof(template));

    /// <summary>The engine.</summary>
    public ITextGenerator Generator { get; } = generator ?? throw new ArgumentNullException(nameof(generator));

    /// <summary>
    /// Judges single steps (no stop logic): the verdict by Maj@k (or by <see cref="StepwiseJudgeOptions.AcceptanceThreshold"/>
    /// on the score when set), the score and the first response of each. The score is the judge's probability of Positive,
    /// averaged over the k responses: for each response, the probability the model gave the first token of its boxed
    /// verdict word (one minus it for Negative, 0 for an unparseable response). It is read from the log-probabilities of
    /// the local engine; a generator that cannot map tokens to text (a remote server) gives 1/0 per response, so the score
    /// is then the share of Positive votes.
    /// </summary>
    public async Task<IReadOnlyList<StepVerdict>> JudgeStepsAsync(IReadOnlyList<JudgeInput> inputs, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        if (Template.ResultFirst is not { } resultFirst) return await VerdictsAsync(inputs, cancellationToken).ConfigureAwait(false);
        // A result-first template: turn 1 (the judge's own line) for the steps that state a result and carry none, then
        // turn 2; the turn-1 line leads the rationale and its tokens are counted.
        var open = Enumerable.Range(0, inputs.Count).Where(i => resultFirst.NeedsTurnOne(inputs[i])).ToArray();
        var (own, tokens) = await resultFirst.WithOwnResultsAsync(Generator, open.Select(i => inputs[i]).ToArray(), resultFirst.TurnOneTokens, cancellationToken).ConfigureAwait(false);
        var withOwn = inputs.ToArray();
        var turnOneTokens = new int[withOwn.Length];
        for (var j = 0; j < open.Length; j++) (withOwn[open[j]], turnOneTokens[open[j]]) = (own[j], tokens[j]);
        var verdicts = await VerdictsAsync(withOwn, cancellationToken).ConfigureAwait(false);
        return verdicts.Select((v, i) => v with { Rationale = (withOwn[i].Reference is { } line ? line + " |" : "") + v.Rationale, GeneratedTokens = v.GeneratedTokens + turnOneTokens[i] }).ToArray();
    }

    private async Task<IReadOnlyList<StepVerdict>> VerdictsAsync(IReadOnlyList<JudgeInput> inputs, CancellationToken cancellationToken)
    {
        var sampling = (Options.Votes == 1
            ? SamplingOptions.Greedy(Options.MaxNewTokens)
            : new SamplingOptions { NumSamples = Options.Votes, MaxNewTokens = Options.MaxNewTokens, Temperature = Options.Temperature }) with { ReturnLogProbs = true };
        var requests = inputs.Select((input, i) => GenerationRequest.FromText(Template.Render(input), sampling with { Seed = Options.Seed * 1_000_003 + i * Options.Votes })).ToArray();
        var results = requests.Length == 0 ? [] : await Generator.GenerateAsync(requests, cancellationToken).ConfigureAwait(false);
        Func<IEnumerable<int>, string>? decode = Generator is LocalTextGenerator local ? ids => local.Tokenizer.Decode(ids) : null;
        return results.Select(r =>
        {
            var verdicts = r.Samples.Select(s => VerdictParser.Parse(s.Text)).ToArray();
            var positive = verdicts.Count(v => v == Verdict.Positive);
            var negative = verdicts.Count(v => v == Verdict.Negative);
            var score = (float)r.Samples.Select(s => PositiveProbability(s, decode)).Average();
            var accepted = Options.AcceptanceThreshold is { } t ? score >= t : positive > negative;
            return new StepVerdict(accepted, score, r.Samples[0].Text, verdicts.Count(v => v == Verdict.Unparseable)) { GeneratedTokens = r.Samples.Sum(s => s.TokenIds.Count) };
        }).ToArray();
    }

    /// <summary>
    /// P(Positive) of one response: the probability of the token that starts the verdict word of its last <c>\boxed{</c>
    /// (the token where "Positive" and "Negative" part), taken as P(Positive) when the verdict is Positive and as
    /// 1 − P(Positive) when it is Negative; 1/0 when the token cannot be located (no log-probabilities, or no
    /// <paramref name="decode"/> to map tokens to text); 0 when unparseable.
    /// </summary>
    /// <param name="sample">A judge response generated with <see cref="SamplingOptions.ReturnLogProbs"/>.</param>
    /// <param name="decode">The generator's detokenizer (token ids → text), or null.</param>
    public static double PositiveProbability(GeneratedSample sample, Func<IEnumerable<int>, string>? decode)
    {
        ArgumentNullException.ThrowIfNull(sample);
        var verdict = VerdictParser.Parse(sample.Text);
        if (verdict == Verdict.Unparseable) return 0;
        var hard = verdict == Verdict.Positive ? 1.0 : 0.0;
        if (decode is null || sample.LogProbs is not { } logProbs || logProbs.Count != sample.TokenIds.Count) return hard;
        var open = sample.Text.LastIndexOf(@"\boxed{", StringComparison.Ordinal);
        if (open < 0) return hard;
        var word = open + 7;   // the first character of the verdict word
        // The smallest token prefix whose text reaches past the verdict word's first character (binary search: prefix
        // texts grow with the prefix).
        int lo = 1, hi = sample.TokenIds.Count;
        while (lo < hi)
        {
            var mid = (lo + hi) / 2;
            if (decode(sample.TokenIds.Take(mid)).Length > word) hi = mid; else lo = mid + 1;
        }
        if (decode(sample.TokenIds.Take(lo)).Length <= word) return hard;
        var p = Math.Exp(logProbs[lo - 1]);
        if (double.IsNaN(p)) return hard;
        return verdict == Verdict.Positive ? p : 1 - p;
    }

    /// <summary>Judges whole solutions, step by step, batched across solutions.</summary>
    public Task<IReadOnlyList<StepJudgment>> JudgeAsync(IReadOnlyList<(string Problem, IReadOnlyList<string> Chunks)> solutions, CancellationToken cancellationToken = default) =>
        StepJudging.JudgeSolutionsAsync(this, solutions, Options.StopAtFirstNegative, cancellationToken);

    private static StepwiseJudgeOptions Validated(StepwiseJudgeOptions options)
    {
        options.Validate();
        return options;
    }
}
