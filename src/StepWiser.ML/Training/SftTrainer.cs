using TorchSharp;
using System.Diagnostics;
using Microsoft.ML.Tokenizers;
using StepWiser.ML.Models;
using static TorchSharp.torch;

namespace StepWiser.ML.Training;

/// <summary>
/// Supervised fine-tuning of a <see cref="CausalLM"/>: next-token loss on response tokens only (the prompt is
/// masked), AdamW, warm-up + cosine schedule, gradient clipping and accumulation, periodic checkpoints and exact
/// resume (the data order is a pure function of seed and step, so a resumed run continues where it stopped).
/// </summary>
public sealed class SftTrainer
{
    private readonly CausalLM _model;
    private readonly Tokenizer _tokenizer;
    private readonly SftOptions _options;
    private readonly int _eos;

    /// <summary>Creates a trainer; <paramref name="model"/> is trained in place.</summary>
    public SftTrainer(CausalLM model, Tokenizer tokenizer, SftOptions options)
    {
        options.Validate();
        _model = model;
        _tokenizer = tokenizer;
        _options = options;
        _eos = model.Config.EosTokenIds.Count > 0 ? model.Config.EosTokenIds[0] : -1;
        if (options.AppendEos && _eos < 0) throw new ArgumentException("AppendEos needs an eos_token_id in the model config.", nameof(options));
    }

    /// <summary>Trains on <paramref name="examples"/> for <see cref="SftOptions.Steps"/> updates, resuming from the newest checkpoint if any.</summary>
    public TrainingResult Train(IReadOnlyList<SftExample> examples, IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default) =>
        Train(examples, stopAfter: null, progress, cancellationToken);

    /// <summary>
    /// Trains on <paramref name="examples"/> for at most <see cref="SftOptions.Steps"/> updates, resuming from the newest
    /// checkpoint if any, and ends early when <paramref name="stopAfter"/> says so.
    /// </summary>
    /// <param name="examples">The training examples.</param>
    /// <param name="stopAfter">
    /// Called after each update with the number of updates done so far (counting those before a resume); returning true
    /// ends training there. It may use the model (e.g. generate with it to measure it): the model is put back in train mode
    /// afterwards. The learning-rate schedule is still the one of <see cref="SftOptions.Steps"/> updates, so a stopped run
    /// equals the first updates of a full one. When checkpointing, the stopping update is saved, so a later call with the
    /// same options resumes from there. Null never stops early.
    /// </param>
    /// <param name="progress">Receives one report per update.</param>
    /// <param name="cancellationToken">Cancels between updates (the newest checkpoint, if any, stays resumable).</param>
    /// <returns>The outcome; <see cref="TrainingResult.Steps"/> is the update training stopped after.</returns>
    public TrainingResult Train(IReadOnlyList<SftExample> examples, Func<int, bool>? stopAfter, IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(examples);
        if (examples.Count == 0) throw new ArgumentException("no training examples", nameof(examples));
        var encoded = examples.Select(Encode).ToArray();
        string fingerprint = $"sft seed={_options.Seed} batch={_options.BatchSize} accum={_options.GradientAccumulationSteps} steps={_options.Steps} lr={_options.LearningRate} n={examples.Count}";

        CheckMemory(encoded);
        using var optimizer = new AdamW(_model.named_parameters()) { WeightDecay = _options.WeightDecay, Precision = _options.Precision };
        var restored = TrainingCheckpoint.TryRestore(_options.CheckpointDirectory, _model, optimizer, fingerprint);
        int start = (int)(restored?.Step ?? 0);
        var order = new DataOrder(encoded.Length, _options.Seed);
        var losses = new List<double>();
        long tokens = 0;
        var clock = Stopwatch.StartNew();
        _model.train();

        int end = _options.Steps;
        for (int step = start; step < _options.Steps; step++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            double lr = LearningRateSchedule.At(step, _options.Steps, _options.LearningRate, _options.WarmupSteps, _options.MinLearningRateRatio);
            var micro = Enumerable.Range(0, _options.GradientAccumulationSteps)
                .Select(a => Enumerable.Range(0, _options.BatchSize)
                    .Select(i => encoded[order.At(((long)step * _options.GradientAccumulationSteps + a) * _options.BatchSize + i)]).ToArray())
                .ToArray();
            long targets = micro.Sum(b => b.Sum(e => e.Ids.Length - e.ResponseStart));
            optimizer.ZeroGrad();
            double loss = 0;
            foreach (var batch in micro)
            {
                using var scope = NewDisposeScope();
                loss += ResponseLossBackward(batch, targets) / targets;
            }
            if (_options.MaxGradNorm > 0) nn.utils.clip_grad_norm_(optimizer.Parameters, _options.MaxGradNorm);
            optimizer.Update(lr);
            losses.Add(loss);
            tokens += micro.Sum(b => b.Sum(e => (long)e.Ids.Length));
            int done = step + 1;
            progress?.Report(new TrainingProgress(done, _options.Steps, loss, lr, tokens / Math.Max(1e-9, clock.Elapsed.TotalSeconds)));
            bool saved = false;
            if (_options.CheckpointDirectory is { } dir && (done % _options.CheckpointEvery == 0 || done == _options.Steps))
            {
                TrainingCheckpoint.Save(dir, _model, optimizer, new TrainingCheckpoint.State(done, fingerprint), _options.KeepCheckpoints);
                saved = true;
            }
            if (stopAfter is null) continue;
            clock.Stop(); // the callback's time (e.g. an evaluation) is not training time
            bool stop = stopAfter(done);
            clock.Start();
            _model.train();
            if (!stop || done == _options.Steps) continue;
            if (!saved && _options.CheckpointDirectory is { } stopDir)
                TrainingCheckpoint.Save(stopDir, _model, optimizer, new TrainingCheckpoint.State(done, fingerprint), _options.KeepCheckpoints);
            end = done;
            break;
        }
        _model.eval();
        return new TrainingResult(end, start, losses, tokens / Math.Max(1e-9, clock.Elapsed.TotalSeconds));
    }

    /// <summary>
    /// Back-propagates the sum of the next-token cross-entropy over the response tokens of a right-padded batch, divided
    /// by <paramref name="targets"/> (the response tokens of the whole update); returns the sum.
    /// </summary>
    private double ResponseLossBackward(IReadOnlyList<Encoded> batch, long targets)
    {
        int maxLen = batch.Max(e => e.Ids.Length);
        var ids = new long[batch.Count * maxLen];
        // The output head and the loss run only where a response token is predicted: those flat positions b·T + t.
        var at = new List<long>();
        var labels = new List<long>();
        for (int b = 0; b < batch.Count; b++)
        {
            var e = batch[b];
            for (int t = 0; t < e.Ids.Length; t++) ids[b * maxLen + t] = e.Ids[t];
            // Position t predicts token t+1; only response tokens are targets.
            for (int t = Math.Max(0, e.ResponseStart - 1); t < e.Ids.Length - 1; t++)
            {
                at.Add(b * maxLen + t);
                labels.Add(e.Ids[t + 1]);
            }
        }
        var input = tensor(ids, device: _model.Device).view(batch.Count, maxLen);                    // (B, T), right-padded
        var target = tensor(labels.ToArray(), device: _model.Device);                                // (N)
        var index = tensor(at.ToArray(), device: _model.Device);                                     // (N)
        double sum = 0;
        using var count = targets.ToScalar();                                                        // kept through the call (Models.KeptScalars)
        _model.ForwardBackward(input, hidden =>
        {
            var chosen = hidden.reshape(-1, hidden.shape[2]).index_select(0, index);                 // (B, T, H) -> (N, H)
            var logits = _model.Logits(chosen);                                                      // (N, V)
            var wide = logits.to(ScalarType.Float32);
            // The model-type logits are not needed for the backward pass: freed now rather than with the step.
            if (!ReferenceEquals(wide, logits)) logits.Dispose();
            var lossSum = nn.functional.cross_entropy(wide, target, reduction: nn.Reduction.Sum);
            sum = lossSum.item<float>();
            return lossSum.div(count);
        }, _options.ActivationCheckpointing);
        return sum;
    }

    /// <summary>With a memory limit: the plan of the longest prompt and response at the batch size, refused when over it.</summary>
    private void CheckMemory(IReadOnlyList<Encoded> encoded)
    {
        if (_options.MemoryLimitBytes is not { } limit) return;
        var plan = new MemoryPlanOptions
        {
            Task = MemoryTask.Sft, BatchSize = _options.BatchSize, PromptLength = Math.Max(1, encoded.Max(e => e.ResponseStart)),
            ResponseLength = encoded.Max(e => e.Ids.Length - e.ResponseStart), DType = _model.DType, Precision = _options.Precision,
            ActivationCheckpointing = _options.ActivationCheckpointing,
        };
        var planned = MemoryPlan.For(_model.Config, plan);
        if (!planned.Fits(limit)) throw new MemoryPlanException(planned, limit, MemoryPlan.LargestBatch(_model.Config, plan, limit, _options.BatchSize));
    }

    private Encoded Encode(SftExample example, int index)
    {
        var prompt = _tokenizer.EncodeToIds(example.Prompt);
        var response = _tokenizer.EncodeToIds(example.Response).ToList();
        if (_options.AppendEos) response.Add(_eos);
        if (response.Count == 0) throw new ArgumentException($"example {index}: empty response");
        var ids = prompt.Concat(response).Take(_options.MaxSequenceLength).ToArray();
        if (prompt.Count >= ids.Length) throw new ArgumentException($"example {index}: the prompt alone fills MaxSequenceLength ({_options.MaxSequenceLength}); no response token is left to train on.");
        return new Encoded(ids, prompt.Count);
    }

    private sealed record Encoded(int[] Ids, int ResponseStart);

    /// <summary>An endless stream of example indices: epoch e is a permutation seeded by (seed, e).</summary>
    private sealed class DataOrder(int count, int seed)
    {
        private long _epoch = -1;
        private int[] _permutation = [];

        public int At(long position)
        {
            long epoch = position / count;
            if (epoch != _epoch)
            {
                _permutation = Enumerable.Range(0, count).ToArray();
                new Random(unchecked(seed * 7919 + (int)epoch)).Shuffle(_permutation);
                _epoch = epoch;
            }
            return _permutation[position % count];
        }
    }
}
