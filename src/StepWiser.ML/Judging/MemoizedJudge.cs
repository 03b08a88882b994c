namespace StepWiser.ML.Judging;

/// <summary>
/// Remembers the verdicts of a deterministic judge (greedy, one vote) by input — problem, history, step and reference —
/// so that judging the same step again (a benchmark, then the same judge with a calibrated threshold; the held-out steps
/// of calibration and of evaluation) costs nothing. Only for judges whose verdict on an input never changes: a judge
/// that samples its analysis would lose its second opinions. Keeps the last <see cref="CacheSize"/> verdicts. Thread-safe.
/// </summary>
/// <param name="judge">The deterministic judge.</param>
public sealed class MemoizedJudge(IStepJudge judge) : IStepJudge
{
    /// <summary>How many verdicts are kept (the memory is emptied when it is full).</summary>
    public const int CacheSize = 200_000;

    private readonly BatchMemo<StepVerdict> _seen = new(CacheSize);

    /// <summary>The judge whose verdicts are remembered.</summary>
    public IStepJudge Judge { get; } = judge ?? throw new ArgumentNullException(nameof(judge));

    /// <summary>Inputs sent to <see cref="Judge"/> so far (the rest were remembered).</summary>
    public int Judged => _seen.Computed;

    /// <inheritdoc />
    public async Task<IReadOnlyList<StepVerdict>> JudgeStepsAsync(IReadOnlyList<JudgeInput> inputs, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        return await _seen.GetAsync(inputs.Select(Key).ToArray(),
            missing => Judge.JudgeStepsAsync(missing.Select(i => inputs[i]).ToArray(), cancellationToken)).ConfigureAwait(false);
    }

    private static string Key(JudgeInput input) =>
        string.Join('\u0001', [input.Problem, string.Join('\u0002', input.History), input.Chunk, input.Reference ?? "\u0003"]);
}
