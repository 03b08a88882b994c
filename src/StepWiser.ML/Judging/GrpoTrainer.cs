using Microsoft.ML.Tokenizers;
using StepWiser.ML.Generation;
using StepWiser.ML.Training;
using StepWiser.ML.Models;
using static TorchSharp.torch;

namespace StepWiser.ML.Judging;

/// <summary>
/// Trains a generative stepwise judge with GRPO (docs/judging-evaluation-search.md, "GRPO"): each step samples a (balanced) batch of labelled step
/// prompts, G responses per prompt, rewards 1 when the boxed verdict equals the label (0 otherwise, unparseable
/// included), normalises rewards within each group, and updates with the clipped surrogate using clip-higher and
/// token-level aggregation; optional k3 KL to the initial model. Groups with zero advantage carry no gradient and are
/// skipped (and counted). Sampling seeds derive from (seed, step), so a resumed run continues exactly.
/// </summary>
public sealed class GrpoTrainer
{
    private readonly CausalLM _model;
    private readonly Tokenizer _tokenizer;
    private readonly JudgeTemplate _template;
    private readonly GrpoOptions _options;

    /// <summary>Creates a trainer for <paramref name="model"/> (updated in place).</summary>
    public GrpoTrainer(CausalLM model, Tokenizer tokenizer, JudgeTemplate template, GrpoOptions options)
    {
        _model = model ?? throw new ArgumentNullException(nameof(model));
        _tokenizer = tokenizer ?? throw new ArgumentNullException(nameof(tokenizer));
        _template = template ?? throw new ArgumentNullException(nameof(template));
        _options = options ?? throw new ArgumentNullException(nameof(options));
        options.Validate();
    }

    /// <summary>Runs the RL steps; returns the metrics of every step run now.</summary>
    public IReadOnlyList<GrpoStepMetrics> Train(IReadOnlyList<JudgeExample> examples, IProgress<GrpoStepMetrics>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(examples);
        var positives = examples.Where(e => e.Label).ToArray();
        var negatives = examples.Where(e => !e.Label).ToArray();
        if (examples.Count == 0) throw new ArgumentException("no training examples", nameof(examples));
        if (_options.BalancePrompts && (positives.Length == 0 || negatives.Length == 0))
            throw new ArgumentException($"balanced prompt sampling needs both classes; got {positives.Length} positive and {negatives.Length} negative examples", nameof(examples));

        var fingerprint = $"grpo seed={_options.Seed} steps={_options.Steps} prompts={_options.PromptsPerStep} G={_options.GroupSize} lr={_options.LearningRate} n={examples.Count} balance={_options.BalancePrompts}";
        using var optimizer = new AdamW(_model.named_parameters()) { WeightDecay = 0 };
        var restored = TrainingCheckpoint.TryRestore(_options.CheckpointDirectory, _model, optimizer, fingerprint);
        var start = (int)(restored?.Step ?? 0);
        using var reference = _options.KlCoefficient > 0 ? Snapshot() : null;
        var engine = new LocalTextGenerator(_model, _tokenizer, new LocalGeneratorOptions { MaxBatchRows = 64, UseManagedDecodeKernel = _options.ManagedDecode });
        var log = OpenLog(start);
        var metrics = new List<GrpoStepMetrics>();
        try
        {
            for (var step = start; step < _options.Steps; step++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var lr = LearningRateSchedule.At(step, _options.Steps, _options.LearningRate, _options.WarmupSteps, minRatio: 1.0);
                var batch = SamplePrompts(examples, positives, negatives, step);
                var m = RunStep(step, batch, engine, optimizer, reference, lr);
                metrics.Add(m);
                log?.WriteLine(m.ToCsv());
                log?.Flush();
                progress?.Report(m);
                var done = step + 1;
                if (_options.CheckpointDirectory is { } dir && (done % _options.CheckpointEvery == 0 || done == _options.Steps))
                    TrainingCheckpoint.Save(dir, _model, optimizer, new TrainingCheckpoint.State(done, fingerprint), keep: 2);
            }
        }
        finally
        {
            log?.Dispose();
            _model.eval();
        }
        return metrics;
    }

    private GrpoStepMetrics RunStep(int step, IReadOnlyList<JudgeExample> batch, LocalTextGenerator engine, AdamW optimizer, CausalLM? reference, double lr)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var prompts = batch.Select(e => _template.Render(e.Input)).ToArray();
        var sampling = new SamplingOptions { NumSamples = _options.GroupSize, MaxNewTokens = _options.MaxNewTokens, Temperature = _options.Temperature, ReturnLogProbs = true, TemperedLogProbs = true };
        var requests = prompts.Select((p, i) => GenerationRequest.FromText(p, sampling with { Seed = ((long)_options.Seed * 1_000_003 + step) * 10_007 + i * _options.GroupSize })).ToArray();
        var generationStart = clock.Elapsed;
        var results = engine.Generate(requests);
        var generation = clock.Elapsed - generationStart;

        var rollouts = new List<Rollout>();
        double rewardSum = 0, rewardPos = 0, rewardNeg = 0, unparseable = 0, length = 0;
        int countPos = 0, countNeg = 0, zeroGroups = 0;
        for (var i = 0; i < batch.Count; i++)
        {
            var promptIds = _tokenizer.EncodeToIds(prompts[i]).ToArray();
            var samples = results[i].Samples;
            var rewards = samples.Select(s =>
            {
                var verdict = VerdictParser.Parse(s.Text);
                if (verdict == Verdict.Unparseable) unparseable++;
                return verdict == Verdict.Unparseable ? -_options.FormatPenalty : (verdict == Verdict.Positive) == batch[i].Label ? 1.0 : 0.0;
            }).ToArray();
            var mean = rewards.Average();
            var std = Math.Sqrt(rewards.Average(r => (r - mean) * (r - mean)));
            if (std < 1e-9) zeroGroups++;
            for (var j = 0; j < samples.Count; j++)
            {
                rewardSum += rewards[j];
                if (batch[i].Label) { rewardPos += rewards[j]; countPos++; } else { rewardNeg += rewards[j]; countNeg++; }
                length += samples[j].TokenIds.Count;
                if (std >= 1e-9 && samples[j].TokenIds.Count > 0)
                    rollouts.Add(new Rollout(promptIds, samples[j].TokenIds.ToArray(), samples[j].LogProbs!.ToArray(), (rewards[j] - mean) / (std + 1e-6)));
            }
        }

        var updateStart = clock.Elapsed;
        var (entropy, clipFraction) = Update(rollouts, optimizer, reference, lr);
        var update = clock.Elapsed - updateStart;
        var total = batch.Count * _options.GroupSize;
        return new GrpoStepMetrics(step + 1, rewardSum / total, countPos == 0 ? double.NaN : rewardPos / countPos, countNeg == 0 ? double.NaN : rewardNeg / countNeg,
            zeroGroups / (double)batch.Count, entropy, length / total, clipFraction, unparseable / total, lr,
            generation.TotalSeconds, update.TotalSeconds, (clock.Elapsed - generation - update).TotalSeconds);
    }

    /// <summary>Clipped-surrogate updates over mini-batches; returns mean entropy and clip fraction over response tokens.</summary>
    private (double Entropy, double ClipFraction) Update(List<Rollout> rollouts, AdamW optimizer, CausalLM? reference, double lr)
    {
        if (rollouts.Count == 0) return (double.NaN, 0);
        _model.train();
        double entropySum = 0, clipped = 0, tokens = 0;
        foreach (var mini in rollouts.Chunk(_options.MiniBatchSize))
        {
            using var scope = NewDisposeScope();
            optimizer.ZeroGrad();
            // Only the N positions that predict a response token carry loss, so the output head, log-softmax, KL and
            // entropy run on those alone: row after row, each response token's target, old log-prob and advantage.
            var targetIds = mini.SelectMany(r => r.Response.Select(x => (long)x)).ToArray();
            var oldLogProbs = mini.SelectMany(r => r.Response.Select((_, t) => r.OldLogProbs[t])).ToArray();
            var advantages = mini.SelectMany(r => r.Response.Select(_ => (float)r.Advantage)).ToArray();
            var device = _model.Device;
            var targets = tensor(targetIds, device: device);                                 // (N)
            // The group's responses share their prompt: computed once per mini-batch (SharedPromptForward), or each
            // response's full sequence on its own (the reference path; the same logits up to floating-point order).
            Func<CausalLM, Tensor> forward;
            if (_options.SharedPromptForward)
            {
                var promptIndex = new Dictionary<int[], int>(ReferenceEqualityComparer.Instance);
                var prompts = new List<int[]>();
                var rows = mini.Select(r =>
                {
                    if (!promptIndex.TryGetValue(r.Prompt, out var p)) { p = prompts.Count; promptIndex[r.Prompt] = p; prompts.Add(r.Prompt); }
                    return (p, r.Response);
                }).ToArray();
                forward = m => m.ForwardShared(prompts, rows);
            }
            else
            {
                var maxLen = mini.Max(r => r.Prompt.Length + r.Response.Length);
                var ids = new long[mini.Length * maxLen];
                var at = new List<long>();                                                            // flat indices b·T + t
                for (var b = 0; b < mini.Length; b++)
                {
                    var r = mini[b];
                    r.Prompt.Concat(r.Response).Select(x => (long)x).ToArray().CopyTo(ids, b * maxLen);
                    // Position p predicts token p + 1: response token t is predicted at prompt length − 1 + t.
                    for (var t = 0; t < r.Response.Length; t++) at.Add(b * maxLen + r.Prompt.Length - 1 + t);
                }
                var input = tensor(ids, device: device).view(mini.Length, maxLen);                    // (B, T), right-padded
                var index = tensor(at.ToArray(), device: device);
                forward = m => m.ForwardAt(input, index);
            }
            // Log-probs of the tempered distribution the responses were sampled from, as the sampler returned them.
            var logits = forward(_model).to(ScalarType.Float32) / _options.Temperature;                // (N, V)
            var logProbsAll = nn.functional.log_softmax(logits, -1);                                  // (N, V)
            var logProbs = logProbsAll.gather(-1, targets.unsqueeze(-1)).squeeze(-1);                // (N)
            var old = tensor(oldLogProbs, device: device);
            var adv = tensor(advantages, device: device);
            var ratio = (logProbs - old).exp();
            var unclipped = ratio * adv;
            var clippedObjective = ratio.clamp(1 - _options.ClipLow, 1 + _options.ClipHigh) * adv;
            var perToken = -minimum(unclipped, clippedObjective);
            if (reference is not null)
            {
                using var noGrad = no_grad();
                var refLogProbs = nn.functional.log_softmax(forward(reference).to(ScalarType.Float32) / _options.Temperature, -1).gather(-1, targets.unsqueeze(-1)).squeeze(-1);
                noGrad.Dispose();
                // k3 estimator of KL(current || reference): exp(ref − cur) − (ref − cur) − 1, gradient through cur.
                var diff = refLogProbs - logProbs;
                perToken = perToken + _options.KlCoefficient * (diff.exp() - diff - 1);
            }
            var loss = perToken.sum() / (float)targetIds.Length;                                             // token-level aggregation
            loss.backward();
            if (_options.MaxGradNorm > 0) nn.utils.clip_grad_norm_(optimizer.Parameters, _options.MaxGradNorm);
            optimizer.Update(lr);

            using (no_grad())
            {
                var probs = logProbsAll.exp();
                var entropy = -(probs * logProbsAll).sum(-1);                                         // (N)
                entropySum += entropy.sum().item<float>();
                var wasClipped = (unclipped > clippedObjective).to(ScalarType.Float32);                // the clipped term was the active one
                clipped += wasClipped.sum().item<float>();
                tokens += targetIds.Length;
            }
        }
        _model.eval();
        return (entropySum / tokens, clipped / tokens);
    }

    private IReadOnlyList<JudgeExample> SamplePrompts(IReadOnlyList<JudgeExample> all, JudgeExample[] positives, JudgeExample[] negatives, int step)
    {
        // A stable mix (HashCode.Combine is randomised per process, which made GRPO runs differ from process to process).
        var random = new Random(unchecked((int)(((long)_options.Seed * 1_000_003L + step) * 7_919L % int.MaxValue)));
        if (!_options.BalancePrompts) return Enumerable.Range(0, _options.PromptsPerStep).Select(_ => all[random.Next(all.Count)]).ToArray();
        return Enumerable.Range(0, _options.PromptsPerStep)
            .Select(i => i % 2 == 0 ? positives[random.Next(positives.Length)] : negatives[random.Next(negatives.Length)]).ToArray();
    }

    private CausalLM Snapshot()
    {
        var copy = new CausalLM(_model.Config, _model.Device);
        using (no_grad())
        {
            var source = _model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
            foreach (var (name, p) in copy.named_parameters()) p.copy_(source[name]);
        }
        copy.eval();
        return copy;
    }

    private StreamWriter? OpenLog(int start)
    {
        if (_options.LogCsvPath is not { } path) return null;
        var append = start > 0 && File.Exists(path);
        var writer = new StreamWriter(path, append);
        if (!append) writer.WriteLine(GrpoStepMetrics.CsvHeader);
        return writer;
    }

    private sealed record Rollout(int[] Prompt, int[] Response, float[] OldLogProbs, double Advantage);
}
