using TorchSharp;
using Microsoft.ML.Tokenizers;
using StepWiser.ML.Data;
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
    private int? _microBatch;   // the micro-batch the memory plan chose (ChooseMicroBatch), else null

    /// <summary>The micro-batch the memory plan chose for the last <see cref="Train"/> (<see cref="GrpoOptions.ChooseMicroBatch"/>), or null.</summary>
    internal int? ChosenMicroBatch => _microBatch;

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

        _microBatch = CheckMemory(examples);
        var fingerprint = $"grpo seed={_options.Seed} steps={_options.Steps} prompts={_options.PromptsPerStep} G={_options.GroupSize} lr={_options.LearningRate} n={examples.Count} balance={_options.BalancePrompts}{(_options.SampleTurnOne ? " turn1=sampled" : "")}";
        using var optimizer = new AdamW(_model.named_parameters()) { WeightDecay = 0, Precision = _options.Precision };
        var restored = TrainingCheckpoint.TryRestore(_options.CheckpointDirectory, _model, optimizer, fingerprint);
        var start = (int)(restored?.Step ?? 0);
        using var reference = _options.KlCoefficient > 0 ? Snapshot() : null;
        var engine = new LocalTextGenerator(_model, _tokenizer, new LocalGeneratorOptions { MaxBatchRows = _options.GenerationBatchRows, UseManagedDecodeKernel = _options.ManagedDecode });
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
                progress?.Report(m);
                var done = step + 1;
                if (_options.CheckpointDirectory is { } dir && (done % _options.CheckpointEvery == 0 || done == _options.Steps))
                    TrainingCheckpoint.Save(dir, _model, optimizer, new TrainingCheckpoint.State(done, fingerprint), keep: 2);
            }
        }
        finally
        {
            _model.eval();
        }
        return metrics;
    }

    private GrpoStepMetrics RunStep(int step, IReadOnlyList<JudgeExample> batch, LocalTextGenerator engine, AdamW optimizer, CausalLM? reference, double lr)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var sampling = new SamplingOptions { NumSamples = _options.GroupSize, MaxNewTokens = _options.MaxNewTokens, Temperature = _options.Temperature, ReturnLogProbs = true, TemperedLogProbs = true };
        long Seed(int i) => ((long)_options.Seed * 1_000_003 + step) * 10_007 + i * _options.GroupSize;
        // Result-first templates with SampleTurnOne: for each step that states a result and carries no line, the group is
        // G sampled turn-1 lines, each followed by one sampled turn 2; both turns' tokens take the group advantage.
        var resultFirst = _options.SampleTurnOne ? _template.ResultFirst : null;
        var twoTurn = batch.Select(e => resultFirst?.NeedsTurnOne(e.Input) == true).ToArray();
        var generationStart = clock.Elapsed;
        var turnOne = new (int[] Prompt, IReadOnlyList<GeneratedSample> Lines)?[batch.Count];
        if (resultFirst is not null && twoTurn.Any(t => t))
        {
            var open = Enumerable.Range(0, batch.Count).Where(i => twoTurn[i]).ToArray();
            var lineSampling = ResultFirstTemplate.LineSampling(sampling, resultFirst.TurnOneTokens);
            var texts = open.Select(i => resultFirst.TurnOne(batch[i].Input)!).ToArray();
            var lines = engine.Generate(open.Select((i, k) => GenerationRequest.FromText(texts[k], lineSampling with { Seed = Seed(i) + 5_003 })).ToArray());
            for (var k = 0; k < open.Length; k++) turnOne[open[k]] = (_tokenizer.EncodeToIds(texts[k]).ToArray(), lines[k].Samples);
        }
        // Turn 2 (the only turn otherwise): one request of G samples per step, or one request per sampled line.
        var prompts = new string[batch.Count][];
        var requests = new List<GenerationRequest>();
        for (var i = 0; i < batch.Count; i++)
        {
            if (turnOne[i] is { } first)
            {
                prompts[i] = first.Lines.Select(l => _template.Render(batch[i].Input with { Reference = ResultFirstTemplate.LineOf(l.Text) })).ToArray();
                requests.AddRange(prompts[i].Select((p, j) => GenerationRequest.FromText(p, sampling with { NumSamples = 1, Seed = Seed(i) + j })));
            }
            else
            {
                prompts[i] = [_template.Render(batch[i].Input)];
                requests.Add(GenerationRequest.FromText(prompts[i][0], sampling with { Seed = Seed(i) }));
            }
        }
        var results = engine.Generate(requests);
        var generation = clock.Elapsed - generationStart;

        var rollouts = new List<Rollout>();
        double rewardSum = 0, rewardPos = 0, rewardNeg = 0, unparseable = 0, length = 0;
        int countPos = 0, countNeg = 0, zeroGroups = 0, next = 0;
        for (var i = 0; i < batch.Count; i++)
        {
            var promptIds = prompts[i].Select(p => _tokenizer.EncodeToIds(p).ToArray()).ToArray();
            var samples = turnOne[i] is null ? results[next++].Samples : Enumerable.Range(0, prompts[i].Length).Select(_ => results[next++].Samples[0]).ToArray();
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
                length += samples[j].TokenIds.Count + (turnOne[i]?.Lines[j].TokenIds.Count ?? 0);
                if (std < 1e-9) continue;
                var advantage = (rewards[j] - mean) / (std + 1e-6);
                if (samples[j].TokenIds.Count > 0)
                    rollouts.Add(new Rollout(promptIds[turnOne[i] is null ? 0 : j], samples[j].TokenIds.ToArray(), samples[j].LogProbs!.ToArray(), advantage));
                if (turnOne[i] is { } first && first.Lines[j].TokenIds.Count > 0)
                    rollouts.Add(new Rollout(first.Prompt, first.Lines[j].TokenIds.ToArray(), first.Lines[j].LogProbs!.ToArray(), advantage));
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
    internal (double Entropy, double ClipFraction) Update(IReadOnlyList<Rollout> rollouts, AdamW optimizer, CausalLM? reference, double lr)
    {
        if (rollouts.Count == 0) return (double.NaN, 0);
        _model.train();
        var statistics = new UpdateStatistics();
        foreach (var mini in rollouts.Chunk(_options.MiniBatchSize))
        {
            optimizer.ZeroGrad();
            Accumulate(mini, reference, statistics);
            if (_options.MaxGradNorm > 0) nn.utils.clip_grad_norm_(optimizer.Parameters, _options.MaxGradNorm);
            optimizer.Update(lr);
        }
        _model.eval();
        return (statistics.Entropy / statistics.Tokens, statistics.Clipped / statistics.Tokens);
    }

    /// <summary>
    /// Adds to the parameters' gradients those of one mini-batch's clipped-surrogate loss (token-level: the sum over its
    /// response tokens divided by their number), one micro-batch of <see cref="GrpoOptions.MicroBatchSize"/> responses
    /// at a time: each micro-batch's token sum is divided by the mini-batch's token count, so the accumulated gradient
    /// is the mini-batch's, up to the order of floating-point sums.
    /// </summary>
    internal void Accumulate(IReadOnlyList<Rollout> mini, CausalLM? reference, UpdateStatistics statistics)
    {
        float total = mini.Sum(r => r.Response.Length);
        foreach (var micro in mini.Chunk(_microBatch ?? _options.MicroBatchSize ?? mini.Count))
        {
            using var scope = NewDisposeScope();
            // Only the N positions that predict a response token carry loss, so the output head, log-softmax, KL and
            // entropy run on those alone: row after row, each response token's target, old log-prob and advantage.
            var device = _model.Device;
            var targets = tensor(micro.SelectMany(r => r.Response.Select(x => (long)x)).ToArray(), device: device);      // (N)
            var old = tensor(micro.SelectMany(r => r.OldLogProbs.Take(r.Response.Length)).ToArray(), device: device);    // (N)
            var adv = tensor(micro.SelectMany(r => r.Response.Select(_ => (float)r.Advantage)).ToArray(), device: device); // (N)
            // The group's responses share their prompt: computed once per micro-batch (SharedPromptForward), or each
            // response's full sequence on its own (the reference path, and the one activation checkpointing recomputes;
            // the same logits up to floating-point order).
            var shared = _options.SharedPromptForward && !_options.ActivationCheckpointing;
            var (prompts, rows) = shared ? SharedRows(micro) : ([], []);
            var (input, index) = shared ? (null, null) : FullSequences(micro);
            // The reference's log-probs first, in a scope of their own: none of its activations meets the policy's.
            Tensor? refLogProbs = null;
            if (reference is not null)
                using (var referenceScope = NewDisposeScope())
                using (no_grad())
                    refLogProbs = TargetLogProbs(shared ? reference.ForwardShared(prompts, rows) : reference.ForwardAt(input!, index!), targets).MoveToOuterDisposeScope();

            // Scalar arguments kept alive through each native call (Models.KeptScalars): the same values the operators made.
            using var clipLow = (1 - _options.ClipLow).ToScalar();
            using var clipHigh = (1 + _options.ClipHigh).ToScalar();
            using var klCoefficient = _options.KlCoefficient.ToScalar();
            using var tokenCount = total.ToScalar();
            Tensor Loss(Tensor logits)
            {
                var logProbsAll = TemperedLogSoftmax(logits);                                             // (N, V)
                var logProbs = logProbsAll.gather(-1, targets.unsqueeze(-1)).squeeze(-1);                // (N)
                var ratio = (logProbs - old).exp();
                var unclipped = ratio * adv;
                var clippedObjective = ratio.clamp(clipLow, clipHigh) * adv;
                var perToken = -minimum(unclipped, clippedObjective);
                if (refLogProbs is not null)
                {
                    // k3 estimator of KL(current || reference): exp(ref − cur) − (ref − cur) − 1, gradient through cur.
                    var diff = refLogProbs - logProbs;
                    perToken = perToken.Plus((diff.exp() - diff).sub_(KeptScalars.One).mul_(klCoefficient));
                }
                using (var statisticsScope = NewDisposeScope())
                using (no_grad())
                {
                    var entropy = logProbsAll.exp().mul_(logProbsAll).sum(-1).neg_();                     // (N)
                    statistics.Entropy += entropy.sum().item<float>();
                    statistics.Clipped += (unclipped > clippedObjective).to(ScalarType.Float32).sum().item<float>();   // the clipped term was the active one
                    statistics.Tokens += targets.shape[0];
                }
                return perToken.sum().div(tokenCount);                                                  // token-level aggregation over the mini-batch
            }
            if (shared) Loss(_model.ForwardShared(prompts, rows)).backward();
            else _model.ForwardBackward(input!, hidden => Loss(_model.Logits(hidden.reshape(-1, hidden.shape[2]).index_select(0, index!))), _options.ActivationCheckpointing);   // (N, V)
        }
    }

    /// <summary>
    /// Log-probs (N, V) of the tempered distribution the responses were sampled from, as the sampler returned them,
    /// computed in float32; the logits and their float32 copy are freed as soon as they are used (the log-softmax keeps
    /// only its output for the backward pass).
    /// </summary>
    private Tensor TemperedLogSoftmax(Tensor logits)
    {
        var wide = logits.to(ScalarType.Float32);
        if (!ReferenceEquals(wide, logits)) logits.Dispose();
        using var temperature = _options.Temperature.ToScalar();                                    // kept through the call (Models.KeptScalars)
        var result = nn.functional.log_softmax(wide.div_(temperature), -1);
        wide.Dispose();
        return result;
    }

    private Tensor TargetLogProbs(Tensor logits, Tensor targets) => TemperedLogSoftmax(logits).gather(-1, targets.unsqueeze(-1)).squeeze(-1);

    /// <summary>The distinct prompts of <paramref name="micro"/> and each row's prompt and response.</summary>
    private static (List<int[]> Prompts, (int Prompt, int[] Response)[] Rows) SharedRows(IReadOnlyList<Rollout> micro)
    {
        var promptIndex = new Dictionary<int[], int>(ReferenceEqualityComparer.Instance);
        var prompts = new List<int[]>();
        var rows = micro.Select(r =>
        {
            if (!promptIndex.TryGetValue(r.Prompt, out var p)) { p = prompts.Count; promptIndex[r.Prompt] = p; prompts.Add(r.Prompt); }
            return (p, r.Response);
        }).ToArray();
        return (prompts, rows);
    }

    /// <summary>The rows' full sequences, right-padded (B, T), and the flat indices b·T + t that predict response tokens.</summary>
    private (Tensor Input, Tensor Index) FullSequences(IReadOnlyList<Rollout> micro)
    {
        var maxLen = micro.Max(r => r.Prompt.Length + r.Response.Length);
        var ids = new long[micro.Count * maxLen];
        var at = new List<long>();
        for (var b = 0; b < micro.Count; b++)
        {
            var r = micro[b];
            r.Prompt.Concat(r.Response).Select(x => (long)x).ToArray().CopyTo(ids, b * maxLen);
            // Position p predicts token p + 1: response token t is predicted at prompt length − 1 + t.
            for (var t = 0; t < r.Response.Length; t++) at.Add(b * maxLen + r.Prompt.Length - 1 + t);
        }
        return (tensor(ids, device: _model.Device).view(micro.Count, maxLen), tensor(at.ToArray(), device: _model.Device));   // (B, T), (N)
    }

    /// <summary>
    /// With <see cref="GrpoOptions.MemoryLimitBytes"/>: the memory plan of the run (the longest prompt, MaxNewTokens,
    /// the micro-batch), before anything is allocated; throws <see cref="MemoryPlanException"/> when it does not fit,
    /// or returns the largest micro-batch that does (<see cref="GrpoOptions.ChooseMicroBatch"/>). Null: no choice made.
    /// </summary>
    private int? CheckMemory(IReadOnlyList<JudgeExample> examples)
    {
        if (_options.MemoryLimitBytes is not { } limit) return null;
        var wanted = Math.Min(_options.MicroBatchSize ?? _options.MiniBatchSize, _options.MiniBatchSize);
        var plan = new MemoryPlanOptions
        {
            Task = MemoryTask.Grpo, BatchSize = wanted, PromptLength = examples.Max(e => _tokenizer.CountTokens(_template.Render(_template.ResultFirst?.NeedsTurnOne(e.Input) == true ? e.Input with { Reference = "" } : e.Input))
                + (_template.ResultFirst?.TurnOneTokens ?? 0)),
            ResponseLength = _options.MaxNewTokens, DType = _model.DType, Precision = _options.Precision, ActivationCheckpointing = _options.ActivationCheckpointing,
            KlReference = _options.KlCoefficient > 0, GenerationBatchRows = _options.GenerationBatchRows, GroupSize = _options.GroupSize,
        };
        if (MemoryPlan.For(_model.Config, plan).Fits(limit)) return _options.ChooseMicroBatch ? wanted : null;
        var fitting = MemoryPlan.LargestBatch(_model.Config, plan, limit, wanted);
        if (fitting == 0 || !_options.ChooseMicroBatch) throw new MemoryPlanException(MemoryPlan.For(_model.Config, plan), limit, fitting);
        return fitting;
    }

    private IReadOnlyList<JudgeExample> SamplePrompts(IReadOnlyList<JudgeExample> all, JudgeExample[] positives, JudgeExample[] negatives, int step)
    {
        // A stable mix (HashCode.Combine is randomised per process, which made GRPO runs differ from process to process).
        var random = new Random(unchecked((int)(((long)_options.Seed * 1_000_003L + step) * 7_919L % int.MaxValue)));
        if (!_options.BalancePrompts) return Enumerable.Range(0, _options.PromptsPerStep).Select(_ => all[random.Next(all.Count)]).ToArray();
        return Enumerable.Range(0, _options.PromptsPerStep)
            .Select(i => i % 2 == 0 ? positives[random.Next(positives.Length)] : negatives[random.Next(negatives.Length)]).ToArray();
    }

    /// <summary>The KL reference: a copy of the starting model in the model's own type (a bfloat16 model's reference is bfloat16).</summary>
    internal CausalLM Snapshot() => _model.Copy();

    private MetricsLog? OpenLog(int start) => _options.LogCsvPath is { } path ? new MetricsLog(path, start) : null;

    /// <summary>
    /// The per-step metrics CSV, replaced whole after every step (a temporary file renamed into place): an earlier
    /// file at the path stays as it was until this run finishes its first step, a killed run leaves the rows of the
    /// steps it finished, and a run resumed from a checkpoint after step k keeps the earlier rows of steps 1..k only (no
    /// row twice).
    /// </summary>
    private sealed class MetricsLog
    {
        private readonly string _path;
        private readonly List<string> _lines = [GrpoStepMetrics.CsvHeader];

        public MetricsLog(string path, int start)
        {
            _path = path;
            if (start == 0 || !File.Exists(path)) return;
            foreach (var line in File.ReadLines(path).Skip(1))
                if (int.TryParse(line.Split(',')[0], System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var step) && step <= start)
                    _lines.Add(line);
        }

        public void WriteLine(string line)
        {
            _lines.Add(line);
            AtomicFile.WriteText(_path, w => { foreach (var l in _lines) w.Write(l + "\n"); });
        }
    }

    /// <summary>One sampled response with its prompt, the sampler's log-probs and its advantage.</summary>
    internal sealed record Rollout(int[] Prompt, int[] Response, float[] OldLogProbs, double Advantage);

    /// <summary>Sums over the response tokens of the updates: entropy, clipped tokens and tokens.</summary>
    internal sealed class UpdateStatistics
    {
        public double Entropy { get; set; }

        public double Clipped { get; set; }

        public double Tokens { get; set; }
    }
}
