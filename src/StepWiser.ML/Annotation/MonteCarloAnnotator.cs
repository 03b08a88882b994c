using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using StepWiser.ML.Generation;
using StepWiser.ML.AnswerChecking;

namespace StepWiser.ML.Annotation;

/// <summary>
/// Estimates Monte-Carlo step values: for each solution and each chunk i, M continuations are sampled from the prefix
/// [prompt, chunk 1..i] and Q_i is the share whose final answer the verifier accepts (Q_0 from the bare prompt).
/// All prefixes of a batch of solutions go to the policy in one call, each as one request with M samples (the local
/// engine computes the prefix once and forks it; a server gets <c>n = M</c>); identical prefixes are sampled once.
/// With a store, finished prefixes are on disk before the next batch starts and are never sampled again.
/// </summary>
public sealed class MonteCarloAnnotator : IDisposable
{
    private readonly ITextGenerator _policy;
    private readonly IAnswerVerifier _verifier;
    private readonly MonteCarloOptions _options;
    private readonly RolloutStore? _store;
    private readonly Dictionary<string, byte[]> _memory = new(StringComparer.Ordinal);
    private readonly string _fingerprint;

    /// <summary>Creates an annotator; opens the store when <see cref="MonteCarloOptions.StoreDirectory"/> is set.</summary>
    public MonteCarloAnnotator(ITextGenerator policy, IAnswerVerifier verifier, MonteCarloOptions options)
    {
        _policy = policy ?? throw new ArgumentNullException(nameof(policy));
        _verifier = verifier ?? throw new ArgumentNullException(nameof(verifier));
        _options = options ?? throw new ArgumentNullException(nameof(options));
        options.Validate();
        _fingerprint = string.Create(CultureInfo.InvariantCulture,
            $"policy={options.PolicyName};M={options.Rollouts};T={options.Temperature};max={options.MaxNewTokens};seed={options.Seed}");
        var metadata = new Dictionary<string, string>(options.Prompt.Metadata)
        {
            ["policy"] = options.PolicyName,
            ["rollouts"] = options.Rollouts.ToString(CultureInfo.InvariantCulture),
            ["temperature"] = options.Temperature.ToString(CultureInfo.InvariantCulture),
            ["max_new_tokens"] = options.MaxNewTokens.ToString(CultureInfo.InvariantCulture),
            ["seed"] = options.Seed.ToString(CultureInfo.InvariantCulture),
        };
        Metadata = metadata;
        // The store records these settings beside its file, so that only stores of one run can be merged.
        if (options.StoreDirectory is not null)
            _store = new RolloutStore(options.StoreDirectory, options.ShardCount == 1 ? "main" : $"shard-{options.ShardIndex}-of-{options.ShardCount}", metadata);
    }

    /// <summary>
    /// What produced this run's values, for its output (<see cref="AnnotationJsonl.Write"/>): the policy's identity, the
    /// prompt format (<see cref="PolicyPrompt.Metadata"/>: raw or chat, the template, the instruction) and the sampling
    /// settings.
    /// </summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Continuations sampled by this instance.</summary>
    public long RolloutsSampled { get; private set; }

    /// <summary>Prefixes served from the store or memory instead of being sampled.</summary>
    public long CachedPrefixes { get; private set; }

    /// <summary>Prefixes whose rollouts failed after the policy's own retries (their values are NaN).</summary>
    public long FailedPrefixes { get; private set; }

    /// <summary>Why the first prefix failed (the policy's error message), or null when none did.</summary>
    public string? FirstFailure { get; private set; }

    private int _consecutiveFailures;

    /// <summary>
    /// Annotates the solutions of this instance's shard (rows i with i mod ShardCount = ShardIndex); rows of other
    /// shards get null. Results are in input order.
    /// </summary>
    public async Task<IReadOnlyList<AnnotationResult?>> AnnotateAsync(IReadOnlyList<AnnotationInput> inputs, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        var results = new AnnotationResult?[inputs.Count];
        var mine = Enumerable.Range(0, inputs.Count).Where(i => i % _options.ShardCount == _options.ShardIndex).ToArray();
        ExpectedRows = mine.Length;
        foreach (var batch in mine.Chunk(_options.BatchSize))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var annotated = await AnnotateBatchAsync(batch.Select(i => inputs[i]).ToArray(), cancellationToken).ConfigureAwait(false);
            for (var j = 0; j < batch.Length; j++) results[batch[j]] = annotated[j];
        }
        return results;
    }

    /// <summary>Rows this run expects to annotate (for the ETA of progress reports), when known.</summary>
    public long? ExpectedRows { get; set; }

    private readonly Stopwatch _clock = new();
    private long _rowsDone;
    private long _rolloutsAtStart;

    private void ReportProgress(int rows)
    {
        _rowsDone += rows;
        var seconds = Math.Max(_clock.Elapsed.TotalSeconds, 1e-9);
        var rate = (RolloutsSampled - _rolloutsAtStart) / seconds;
        TimeSpan? eta = ExpectedRows is { } total && _rowsDone > 0 ? TimeSpan.FromSeconds(seconds / _rowsDone * Math.Max(0, total - _rowsDone)) : null;
        _options.Progress?.Report(new MonteCarloProgress(_rowsDone, ExpectedRows, RolloutsSampled, CachedPrefixes, FailedPrefixes, rate, eta));
    }

    /// <summary>Annotates a batch of solutions with one batched policy call for all their uncached prefixes.</summary>
    internal async Task<AnnotationResult[]> AnnotateBatchAsync(IReadOnlyList<AnnotationInput> batch, CancellationToken cancellationToken)
    {
        if (!_clock.IsRunning) { _clock.Start(); _rolloutsAtStart = RolloutsSampled; }
        // Work out every prefix: (row, k) for k = 0..H, with the text the policy continues and a stable key.
        var plans = batch.Select(input => Enumerable.Range(0, input.Chunks.Count + 1).Select(k => PlanPrefix(input, k)).ToArray()).ToArray();
        var pending = plans.SelectMany(p => p).Where(p => p.Direct is null && !TryCached(p.Key, out _))
            .GroupBy(p => p.Key).Select(g => g.First()).ToArray();
        CachedPrefixes += plans.SelectMany(p => p).Count(p => p.Direct is null) - pending.Length;

        var sampled = await SampleAsync(pending, cancellationToken).ConfigureAwait(false);
        _store?.Append(sampled.Where(s => s.Rewards is not null).Select(s => (s.Key, s.Rewards!)));
        foreach (var s in sampled.Where(s => s.Rewards is not null)) _memory[s.Key] = s.Rewards!;

        var results = plans.Select(rowPlans =>
        {
            var values = rowPlans.Select(p => p.Direct ?? (TryCached(p.Key, out var r) ? (float)r.Average(x => (double)x) : float.NaN)).ToArray();
            return new AnnotationResult(values[0], values[1..], values.Count(float.IsNaN));
        }).ToArray();
        ReportProgress(batch.Count);
        return results;
    }

    /// <summary>
    /// The longest text the policy is asked to continue for <paramref name="input"/>: the prefix of all its chunks, or of
    /// all but the last when the complete solution is scored directly (<see cref="MonteCarloOptions.ScoreCompleteSolutionsDirectly"/>).
    /// Check it against the policy's context before annotating: a prefix past the context gives no true value.
    /// </summary>
    public static string LongestPrefix(AnnotationInput input, MonteCarloOptions options, IAnswerVerifier verifier)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(verifier);
        var k = IsScoredDirectly(input, options, verifier) ? input.Chunks.Count - 1 : input.Chunks.Count;
        return options.Prompt.Build(input.Prompt, input.Chunks.Take(k).ToArray());
    }

    private static bool IsScoredDirectly(AnnotationInput input, MonteCarloOptions options, IAnswerVerifier verifier) =>
        input.Chunks.Count > 0 && options.ScoreCompleteSolutionsDirectly && verifier.ExtractAnswer(string.Join("\n\n", input.Chunks)) is not null;

    private Prefix PlanPrefix(AnnotationInput input, int k)
    {
        var chunks = input.Chunks.Take(k).ToArray();
        if (k == input.Chunks.Count && IsScoredDirectly(input, _options, _verifier))
        {
            var solution = string.Join("\n\n", chunks);
            return new Prefix("", "", chunks, input.Answer, _verifier.Verify(solution, input.Answer).IsCorrect ? 1f : 0f);
        }
        var text = _options.Prompt.Build(input.Prompt, chunks);
        return new Prefix(Key(text, input.Answer), text, chunks, input.Answer, null);
    }

    private async Task<List<(string Key, byte[]? Rewards)>> SampleAsync(IReadOnlyList<Prefix> pending, CancellationToken cancellationToken)
    {
        var output = new List<(string, byte[]?)>(pending.Count);
        if (pending.Count == 0) return output;
        IReadOnlyList<GenerationResult>? results = null;
        try
        {
            results = await _policy.GenerateAsync(pending.Select(Request).ToArray(), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // One bad prefix must not sink the batch: retry each alone and mark the ones that still fail.
            foreach (var p in pending)
            {
                try
                {
                    var single = await _policy.GenerateAsync([Request(p)], cancellationToken).ConfigureAwait(false);
                    output.Add((p.Key, Score(p, single[0])));
                    _consecutiveFailures = 0;
                }
                catch (Exception inner) when (inner is not OperationCanceledException)
                {
                    FailedPrefixes++;
                    FirstFailure ??= inner.Message;
                    output.Add((p.Key, null));
                    if (_options.MaxConsecutiveFailures > 0 && ++_consecutiveFailures >= _options.MaxConsecutiveFailures)
                    {
                        // Keep what finished before stopping: a rerun resumes from the store.
                        _store?.Append(output.Where(o => o.Item2 is not null).Select(o => (o.Item1, o.Item2!)));
                        var resume = _store is null ? "" : $" Finished prefixes are in the store ({_store.Directory}): a rerun with the same store resumes.";
                        throw new PolicyFailedException($"the policy failed {_consecutiveFailures} prefixes in a row; stopping (first failure: {FirstFailure}).{resume}", inner);
                    }
                }
            }
            return output;
        }
        for (var i = 0; i < pending.Count; i++) output.Add((pending[i].Key, Score(pending[i], results[i])));
        _consecutiveFailures = 0;
        return output;
    }

    private GenerationRequest Request(Prefix p) => GenerationRequest.FromText(p.Text, new SamplingOptions
    {
        NumSamples = _options.Rollouts,
        MaxNewTokens = _options.MaxNewTokens,
        Temperature = _options.Temperature,
        Seed = SeedOf(p.Key),
    });

    private byte[] Score(Prefix p, GenerationResult result)
    {
        RolloutsSampled += result.Samples.Count;
        var head = p.Chunks.Count == 0 ? "" : string.Join("\n\n", p.Chunks) + "\n\n";
        return result.Samples.Select(s => _verifier.Verify(head + s.Text, p.Answer).IsCorrect ? (byte)1 : (byte)0).ToArray();
    }

    private bool TryCached(string key, out byte[] rewards)
    {
        if (_memory.TryGetValue(key, out rewards!)) return true;
        if (_store is null || !_store.TryGet(key, out rewards)) return false;
        // The key holds the rollout count, so a stored record of another length is damage, not another run's data.
        if (rewards.Length != _options.Rollouts)
            throw new InvalidDataException($"{_store.Directory}: the record of prefix {key} has {rewards.Length} rewards, expected {_options.Rollouts} (a damaged store; delete its files to resample)");
        return true;
    }

    private string Key(string prefixText, string reference)
    {
        var bytes = SHA256.HashData(Encoding.UTF8.GetBytes(_fingerprint + "\u0000" + reference + "\u0000" + prefixText));
        return Convert.ToHexString(bytes, 0, 16);
    }

    private long SeedOf(string key) => _options.Seed * 1_000_003L ^ long.Parse(key[..15], NumberStyles.HexNumber, CultureInfo.InvariantCulture);

    /// <inheritdoc />
    public void Dispose() => _store?.Dispose();

    private sealed record Prefix(string Key, string Text, IReadOnlyList<string> Chunks, string Answer, float? Direct);
}
