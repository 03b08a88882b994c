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

    /// <summary>Judges single steps (no stop logic): the verdict by Maj@k, the score and the first response of each.</summary>
    public async Task<IReadOnlyList<StepVerdict>> JudgeStepsAsync(IReadOnlyList<JudgeInput> inputs, CancellationToken cancellationToken = default)
    {
        var sampling = Options.Votes == 1
            ? SamplingOptions.Greedy(Options.MaxNewTokens)
            : new SamplingOptions { NumSamples = Options.Votes, MaxNewTokens = Options.MaxNewTokens, Temperature = Options.Temperature };
        var requests = inputs.Select((input, i) => GenerationRequest.FromText(Template.Render(input), sampling with { Seed = Options.Seed * 1_000_003 + i * Options.Votes })).ToArray();
        var results = requests.Length == 0 ? [] : await Generator.GenerateAsync(requests, cancellationToken).ConfigureAwait(false);
        return results.Select(r =>
        {
            var verdicts = r.Samples.Select(s => VerdictParser.Parse(s.Text)).ToArray();
            var positive = verdicts.Count(v => v == Verdict.Positive);
            var negative = verdicts.Count(v => v == Verdict.Negative);
            return new StepVerdict(positive > negative, positive / (float)verdicts.Length, r.Samples[0].Text, verdicts.Count(v => v == Verdict.Unparseable));
        }).ToArray();
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
