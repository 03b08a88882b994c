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

    private readonly Dictionary<string, StepVerdict> _seen = new(StringComparer.Ordinal);
    private readonly object _gate = new();

    /// <summary>The judge whose verdicts are remembered.</summary>
    public IStepJudge Judge { get; } = judge ?? throw new ArgumentNullException(nameof(judge));

    /// <summary>Inputs sent to <see cref="Judge"/> so far (the rest were remembered).</summary>
    public int Judged { get; private set; }

    /// <inheritdoc />
    public async Task<IReadOnlyList<StepVerdict>> JudgeStepsAsync(IReadOnlyList<JudgeInput> inputs, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        var keys = inputs.Select(Key).ToArray();
        var known = new Dictionary<string, StepVerdict>(StringComparer.Ordinal);
        var missing = new List<int>();
        var pending = new HashSet<string>(StringComparer.Ordinal);
        lock (_gate)
            for (var i = 0; i < keys.Length; i++)
                if (_seen.TryGetValue(keys[i], out var v)) known[keys[i]] = v;
                else if (pending.Add(keys[i])) missing.Add(i);
        if (missing.Count > 0)
        {
            var verdicts = await Judge.JudgeStepsAsync(missing.Select(i => inputs[i]).ToArray(), cancellationToken).ConfigureAwait(false);
            for (var k = 0; k < missing.Count; k++) known[keys[missing[k]]] = verdicts[k];
            lock (_gate)
            {
                Judged += missing.Count;
                if (_seen.Count + missing.Count > CacheSize) _seen.Clear();
                foreach (var i in missing) _seen[keys[i]] = known[keys[i]];
            }
        }
        return keys.Select(k => known[k]).ToArray();
    }

    private static string Key(JudgeInput input) =>
        string.Join('\u0001', [input.Problem, string.Join('\u0002', input.History), input.Chunk, input.Reference ?? "\u0003"]);
}
