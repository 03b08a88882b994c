using TorchSharp;
using Microsoft.ML.Tokenizers;
using StepWiser.ML.Models;
using static TorchSharp.torch;

namespace StepWiser.ML.Generation;

/// <summary>
/// The local generation engine over a <see cref="CausalLM"/>. Requests are packed into batches of up to
/// <see cref="LocalGeneratorOptions.MaxBatchRows"/> sequences; prompts are left-padded (with masking) and computed
/// once, then their KV cache rows are forked for the k samples; every sequence stops on its own stop string,
/// end-of-sequence token or length while the others continue, and finished rows are dropped from the batch so no
/// work is spent on them. Deterministic under a seed.
/// </summary>
public sealed class LocalTextGenerator : ITextGenerator
{
    private static long _unseededCounter = Environment.TickCount64;

    private readonly CausalLM _model;
    private readonly Tokenizer _tokenizer;
    private readonly LocalGeneratorOptions _options;
    private readonly HashSet<long> _eos;
    private readonly SemaphoreSlim _gate = new(1, 1);

    /// <summary>The engine over a model bundle (its model and tokenizer; the bundle stays the caller's to dispose).</summary>
    public LocalTextGenerator(ModelBundle model, LocalGeneratorOptions? options = null)
        : this((model ?? throw new ArgumentNullException(nameof(model))).Model, model.Tokenizer, options)
    {
        Bundle = model;
    }

    /// <summary>Creates the engine; the model is switched to evaluation mode.</summary>
    public LocalTextGenerator(CausalLM model, Tokenizer tokenizer, LocalGeneratorOptions? options = null)
    {
        _model = model;
        _tokenizer = tokenizer;
        _options = options ?? new LocalGeneratorOptions();
        _eos = [.. model.Config.EosTokenIds.Select(x => (long)x), .. _options.ExtraEosTokenIds.Select(x => (long)x)];
    }

    /// <summary>The bundle the engine was made from (null when made from a model and a tokenizer).</summary>
    internal ModelBundle? Bundle { get; private init; }

    /// <summary>The options the engine runs with.</summary>
    internal LocalGeneratorOptions Options => _options;

    /// <summary>The model this engine runs.</summary>
    public CausalLM Model => _model;

    /// <summary>
    /// Whether decode steps run the managed kernel: <see cref="LocalGeneratorOptions.UseManagedDecodeKernel"/> is on,
    /// the processor has AVX-512, and the model is float32 on the CPU.
    /// </summary>
    public bool UsesManagedDecodeKernel =>
        _options.UseManagedDecodeKernel && DecodeProducts.IsSupported && _model.Device.type == DeviceType.CPU && _model.DType == ScalarType.Float32;

    /// <summary>The tokenizer this engine uses.</summary>
    public Tokenizer Tokenizer => _tokenizer;

    /// <summary>Where this engine's generation time went since it was made or <see cref="ResetProfile"/> was called (KV-cache path).</summary>
    public GenerationProfile Profile => new(TimeSpan.FromTicks(_prefillTicks), TimeSpan.FromTicks(_forwardTicks), TimeSpan.FromTicks(_samplingTicks), TimeSpan.FromTicks(_bookkeepingTicks), _steps);

    /// <summary>Starts <see cref="Profile"/> again from zero.</summary>
    public void ResetProfile() => _prefillTicks = _forwardTicks = _samplingTicks = _bookkeepingTicks = _steps = 0;

    private long _prefillTicks, _forwardTicks, _samplingTicks, _bookkeepingTicks, _steps, _managedSteps;

    /// <summary>Decode steps run whole in managed code (DecodeStep) since the engine was made; for tests and benchmarks.</summary>
    internal long ManagedSteps => _managedSteps;

    /// <inheritdoc />
    public async Task<IReadOnlyList<GenerationResult>> GenerateAsync(IReadOnlyList<GenerationRequest> requests, CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await Task.Run(() => Generate(requests, cancellationToken), cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Synchronous form of <see cref="GenerateAsync"/>.</summary>
    public IReadOnlyList<GenerationResult> Generate(IReadOnlyList<GenerationRequest> requests, CancellationToken cancellationToken = default)
    {
        var prompts = new int[requests.Count][];
        var samples = new GeneratedSample[requests.Count][];
        var work = new List<Row>();
        for (int i = 0; i < requests.Count; i++)
        {
            var request = requests[i];
            request.Options.Validate();
            prompts[i] = request.PromptTokenIds?.ToArray()
                ?? (request.Prompt is { } text ? _tokenizer.EncodeToIds(text).ToArray() : throw new ArgumentException($"request {i} has neither a prompt nor prompt token ids", nameof(requests)));
            if (prompts[i].Length == 0) throw new ArgumentException($"request {i} has an empty prompt", nameof(requests));
            var vocabulary = _model.Config.VocabSize;
            var outside = Array.FindIndex(prompts[i], t => t < 0 || t >= vocabulary);
            if (outside >= 0)
                throw new ArgumentException($"request {i}: prompt token {outside} has id {prompts[i][outside]}, outside the model's vocabulary of {vocabulary} (is the tokenizer the model's own?)", nameof(requests));
            samples[i] = new GeneratedSample[request.Options.NumSamples];
            long seed = request.Options.Seed ?? Interlocked.Increment(ref _unseededCounter);
            for (int j = 0; j < request.Options.NumSamples; j++)
                work.Add(new Row(i, j, prompts[i], request.Options, SampleRandom(seed, j)));
        }

        using var mode = no_grad();
        bool wasTraining = _model.training;
        _model.eval();
        try
        {
            foreach (var batch in work.Chunk(_options.MaxBatchRows))
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (_options.UseKvCache) RunBatch(batch, cancellationToken);
                else RunBatchWithoutCache(batch, cancellationToken);
                foreach (var row in batch) samples[row.Request][row.Sample] = row.ToSample(_tokenizer);
            }
        }
        finally
        {
            if (wasTraining) _model.train();
        }
        return samples.Select((s, i) => new GenerationResult(s, prompts[i].Length)).ToArray();
    }

    /// <summary>
    /// The random stream of sample <paramref name="sample"/> of a request seeded with <paramref name="seed"/>: the stream
    /// of seed + sample, so sample j of a k-sample request equals the single sample of a request seeded seed + j.
    /// </summary>
    internal static Random SampleRandom(long seed, int sample)
    {
        ulong mixed = unchecked((ulong)(seed + sample) * 0x9E3779B97F4A7C15UL);
        return new Random((int)(mixed >> 33));
    }

    private void RunBatch(Row[] batch, CancellationToken cancellationToken)
    {
        // Distinct prompts of this batch (the samples of one request share one), prefilled once.
        var groups = batch.GroupBy(r => r.Request).ToArray();
        int promptCount = groups.Length;
        int maxLen = groups.Max(g => g.First().Prompt.Length);
        int capacity = maxLen + batch.Max(r => r.Options.MaxNewTokens);
        using var cache = new KvCache(_model.Config, promptCount, capacity, _model.Device, _model.DType);
        var clock = System.Diagnostics.Stopwatch.StartNew();

        Tensor logits;
        using (var scope = NewDisposeScope())
        {
            var hidden = _model.Prefill(groups.Select(g => g.First().Prompt).ToArray(), cache);       // (P, T, hidden), left-padded
            logits = _model.Logits(hidden[.., -1]).MoveToOuterDisposeScope();                     // (P, V)
        }

        // Fork: row i of the batch continues prompt group rowGroup[i].
        var groupOf = groups.SelectMany((g, index) => g.Select(_ => (long)index)).ToArray();
        var active = groups.SelectMany(g => g).ToList();
        using (var forkIndex = tensor(groupOf, device: _model.Device))
        {
            cache.SelectRows(forkIndex);
            var forked = logits.index_select(0, forkIndex);
            logits.Dispose();
            logits = forked;
        }

        var sampleRows = active.Select(r => r.SamplerRow).ToList();
        _prefillTicks += clock.Elapsed.Ticks;
        clock.Restart();
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            _bookkeepingTicks += clock.Elapsed.Ticks;                                               // the last step's tensors freed
            clock.Restart();
            var (tokens, logProbs) = TokenSampler.Sample(logits, sampleRows);
            _samplingTicks += clock.Elapsed.Ticks;
            clock.Restart();
            logits.Dispose();
            var keep = new List<long>();
            for (int i = 0; i < active.Count; i++)
                if (!active[i].Append(tokens[i], logProbs[i], _eos, _tokenizer)) keep.Add(i);
            if (keep.Count == 0) break;
            if (keep.Count < active.Count)
            {
                using var keepIndex = tensor(keep.ToArray(), device: _model.Device);
                cache.SelectRows(keepIndex);
                active = keep.Select(i => active[(int)i]).ToList();
                sampleRows = active.Select(r => r.SamplerRow).ToList();
            }

            using var scope = NewDisposeScope();
            int rows = active.Count;
            var nextIds = active.Select(r => (long)r.Generated[^1]).ToArray();
            var positions = active.Select(r => (long)(r.Prompt.Length + r.Generated.Count - 1)).ToArray();
            cache.MarkValid(ones(rows, 1, dtype: ScalarType.Bool, device: _model.Device));
            _bookkeepingTicks += clock.Elapsed.Ticks;
            clock.Restart();
            if (_options.UseManagedDecodeKernel && _options.UseManagedDecodeStep && DecodeStep.TryRun(_model, nextIds, positions, cache) is { } managed)
            {
                // The whole step in managed code (every step of a built-in model, steps of at most 16 rows of larger ones).
                cache.Advance(1);
                logits = managed.MoveToOuterDisposeScope();
                _managedSteps++;
            }
            else
            {
                // libtorch's forward; with the kernel on, its products of at most 16 rows are the managed kernel's.
                using var kernel = _options.UseManagedDecodeKernel ? DecodeProducts.Enter() : default(DecodeProducts.Scope?);
                var next = tensor(nextIds, device: _model.Device).view(rows, 1);                                               // (R, 1)
                var pos = tensor(positions, device: _model.Device).view(rows, 1);
                var stepMask = cache.Valid.narrow(1, 0, cache.Length + 1).view(rows, 1, 1, cache.Length + 1);                  // (R, 1, 1, L+1)
                var hidden = _model.Hidden(next, pos, stepMask, cache);                                                         // (R, 1, hidden)
                cache.Advance(1);
                logits = _model.Logits(hidden.squeeze(1)).MoveToOuterDisposeScope();                                           // (R, V)
            }
            _forwardTicks += clock.Elapsed.Ticks;
            clock.Restart();
            _steps++;
        }
    }

    /// <summary>Reference path without KV cache: every step runs the full sequence of each row alone.</summary>
    private void RunBatchWithoutCache(Row[] batch, CancellationToken cancellationToken)
    {
        foreach (var row in batch)
        {
            while (true)
            {
                cancellationToken.ThrowIfCancellationRequested();
                using var scope = NewDisposeScope();
                var ids = tensor(row.Prompt.Concat(row.Generated).Select(x => (long)x).ToArray(), device: _model.Device).unsqueeze(0); // (1, T)
                var logits = _model.Forward(ids)[.., -1];                                                                       // (1, V)
                var (tokens, logProbs) = TokenSampler.Sample(logits, [row.SamplerRow]);
                if (row.Append(tokens[0], logProbs[0], _eos, _tokenizer)) break;
            }
        }
    }

    /// <summary>State of one sequence being generated.</summary>
    private sealed class Row(int request, int sample, int[] prompt, SamplingOptions options, Random random)
    {
        private readonly List<float> _logProbs = [];
        private FinishReason _finish = FinishReason.Length;
        private string? _stop;
        private readonly int _stopWindow = options.Stop.Count == 0 ? 0 : options.Stop.Max(s => s.Length) + 4;

        public int Request { get; } = request;
        public int Sample { get; } = sample;
        public int[] Prompt { get; } = prompt;
        public SamplingOptions Options { get; } = options;
        public List<int> Generated { get; } = [];
        public TokenSampler.Row SamplerRow { get; } = new(options, random);

        /// <summary>Appends a token; returns true when the sequence is finished.</summary>
        public bool Append(long token, float logProb, HashSet<long> eos, Tokenizer tokenizer)
        {
            Generated.Add((int)token);
            _logProbs.Add(logProb);
            if (eos.Contains(token)) { _finish = FinishReason.EndOfSequence; return true; }
            if (_stopWindow > 0)
            {
                string tail = tokenizer.Decode(Generated.Skip(Math.Max(0, Generated.Count - _stopWindow)));
                foreach (var s in Options.Stop)
                    if (tail.Contains(s, StringComparison.Ordinal)) { _finish = FinishReason.Stop; _stop = s; return true; }
            }
            return Generated.Count >= Options.MaxNewTokens;
        }

        public GeneratedSample ToSample(Tokenizer tokenizer)
        {
            var textIds = _finish == FinishReason.EndOfSequence ? Generated.Take(Generated.Count - 1) : Generated;
            string text = tokenizer.Decode(textIds);
            if (_stop is not null)
            {
                int cut = Options.Stop.Select(s => text.IndexOf(s, StringComparison.Ordinal)).Where(i => i >= 0).DefaultIfEmpty(text.Length).Min();
                text = text[..cut];
            }
            return new GeneratedSample(text, Generated.ToArray(), _finish, Options.ReturnLogProbs ? _logProbs.ToArray() : null, _stop);
        }
    }
}
