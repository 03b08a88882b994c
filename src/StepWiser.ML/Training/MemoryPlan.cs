using System.Globalization;
using System.Text;
using StepWiser.ML.Models;
using static TorchSharp.torch;

namespace StepWiser.ML.Training;

/// <summary>
/// The predicted memory of a training or generation run, by part (weights, gradients, optimizer state, master weights,
/// reference model, activations, KV cache, …), computed from the model's configuration alone before anything is
/// allocated. The peak is what is held throughout plus the largest of the phases that never overlap (a forward and
/// backward pass, the optimizer's step, generation). The counts follow this library's modules and trainers tensor by
/// tensor; <c>--suite memory-plan</c> of the benchmarks compares them with measured peaks (docs/training-at-scale.md).
/// Not counted: the device runtime (a CUDA context takes about 0.5–1 GiB), the allocator's fragmentation, the
/// tokenizer and the data.
/// </summary>
public sealed class MemoryPlan
{
    private const double GiB = 1024.0 * 1024 * 1024;

    private MemoryPlan(ModelConfig config, MemoryPlanOptions options, long parameters, IReadOnlyList<MemoryPart> parts)
    {
        Config = config;
        Options = options;
        ParameterCount = parameters;
        Parts = parts;
        var held = parts.Where(p => p.Phase == MemoryPhase.Held).Sum(p => p.Bytes);
        var phases = parts.Where(p => p.Phase != MemoryPhase.Held).GroupBy(p => p.Phase).Select(g => (Phase: g.Key, Bytes: g.Sum(p => p.Bytes))).ToArray();
        PeakPhase = phases.Length == 0 ? MemoryPhase.Held : phases.MaxBy(p => p.Bytes).Phase;
        PeakBytes = held + (phases.Length == 0 ? 0 : phases.Max(p => p.Bytes));
        LargestPart = parts.Where(p => p.Phase == MemoryPhase.Held || p.Phase == PeakPhase).MaxBy(p => p.Bytes)!;
    }

    /// <summary>The model's configuration.</summary>
    public ModelConfig Config { get; }

    /// <summary>What the plan is for.</summary>
    public MemoryPlanOptions Options { get; }

    /// <summary>Parameters of the model (a tied output head counted once).</summary>
    public long ParameterCount { get; }

    /// <summary>The parts, each with its phase.</summary>
    public IReadOnlyList<MemoryPart> Parts { get; }

    /// <summary>The predicted peak in bytes: the held parts and the largest other phase.</summary>
    public long PeakBytes { get; }

    /// <summary>The phase that makes the peak (besides what is held).</summary>
    public MemoryPhase PeakPhase { get; }

    /// <summary>The largest part at the peak.</summary>
    public MemoryPart LargestPart { get; }

    /// <summary>Whether the predicted peak is at most <paramref name="budgetBytes"/>.</summary>
    public bool Fits(long budgetBytes) => PeakBytes <= budgetBytes;

    /// <summary>The number of parameters of a model of <paramref name="config"/>, without building it.</summary>
    public static long CountParameters(ModelConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        long h = config.HiddenSize, a = (long)config.NumAttentionHeads * config.HeadDim, k = (long)config.KeyValueHeads * config.HeadDim, d = config.HeadDim;
        var attention = h * a + 2 * h * k + a * h + (config.QkvBias ? a + 2 * k : 0) + (config.OutputBias ? h : 0) + (config.QueryKeyNorm ? 2 * d : 0);
        var layer = attention + 3 * h * config.IntermediateSize + 2 * h;
        var embeddings = (long)config.VocabSize * h * (config.TieWordEmbeddings ? 1 : 2);
        return embeddings + config.NumHiddenLayers * layer + h;
    }

    /// <summary>The plan of <paramref name="options"/> for a model of <paramref name="config"/>.</summary>
    /// <exception cref="InvalidDataException">The configuration is invalid, or its sizes make a byte count beyond 64 bits (no such model can exist).</exception>
    public static MemoryPlan For(ModelConfig config, MemoryPlanOptions options)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(options);
        config.Validate();
        options.Validate();
        try
        {
            return Compute(config, options);
        }
        catch (OverflowException)
        {
            throw new InvalidDataException(FormattableString.Invariant(
                $"config: the memory of a model of hidden_size {config.HiddenSize}, intermediate_size {config.IntermediateSize}, vocab_size {config.VocabSize} and num_hidden_layers {config.NumHiddenLayers} overflows a 64-bit count of bytes"));
        }
    }

    private static MemoryPlan Compute(ModelConfig config, MemoryPlanOptions options)
    {
        var s = options.DType == ScalarType.Float32 ? 4 : 2;
        var p = CountParameters(config);
        var type = TypeName(options.DType);
        var parts = new List<MemoryPart> { new("weights", p * s, MemoryPhase.Held, $"{Count(p)} parameters × {s} bytes ({type})") };
        var memory = new ActivationMemory(config, s);
        if (options.Task != MemoryTask.Inference) parts.AddRange(TrainingParts(config, options, memory, p, s));
        if (options.Task != MemoryTask.Sft) parts.AddRange(GenerationParts(config, options, memory, s));
        return new MemoryPlan(config, options, p, parts);
    }

    /// <summary>
    /// The largest batch (micro-batch for training, rows for inference) from 1 to <paramref name="maxBatch"/> whose plan
    /// fits <paramref name="budgetBytes"/>; 0 when not even one fits.
    /// </summary>
    public static int LargestBatch(ModelConfig config, MemoryPlanOptions options, long budgetBytes, int maxBatch)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBatch, 1);
        int lo = 0, hi = maxBatch;   // the plan grows with the batch: the largest fitting one by bisection
        while (lo < hi)
        {
            var mid = lo + (hi - lo + 1) / 2;
            if (For(config, options.WithBatchSize(mid)).Fits(budgetBytes)) lo = mid;
            else hi = mid - 1;
        }
        return lo;
    }

    private static IEnumerable<MemoryPart> TrainingParts(ModelConfig config, MemoryPlanOptions o, ActivationMemory memory, long p, int s)
    {
        yield return new("gradients", p * s, MemoryPhase.Held, $"one a parameter, {TypeName(o.DType)}");
        var lowPrecision = s < 4;
        var (momentBytes, momentType) = !lowPrecision ? (2L * s, "float32")
            : o.Precision switch { OptimizerPrecision.MasterWeights => (8L, "float32"), OptimizerPrecision.SplitMasterWeights => (4L, "bfloat16"), _ => (2L * s, TypeName(o.DType)) };
        yield return new("optimizer state", p * momentBytes, MemoryPhase.Held, $"AdamW's two moments, {momentType}");
        if (lowPrecision && o.Precision == OptimizerPrecision.MasterWeights)
            yield return new("master weights", p * 4, MemoryPhase.Held, "a float32 copy of every parameter");
        if (lowPrecision && o.Precision == OptimizerPrecision.SplitMasterWeights)
            yield return o.DType == ScalarType.BFloat16 ? new("master weights", p * 2, MemoryPhase.Held, "the 16 lower bits of every float32 master (the bfloat16 weight is its upper half)")
                : new("master weights", p * 4, MemoryPhase.Held, "a float32 copy of every parameter");
        if (o.Task == MemoryTask.Grpo && o.KlReference)
            yield return new("reference model", p * s, MemoryPhase.Held, $"the KL reference, a copy of the weights in {TypeName(o.DType)}");

        long rows = o.BatchSize, tokens = rows * (o.PromptLength + o.ResponseLength), lossTokens = rows * o.ResponseLength;
        long layers = config.NumHiddenLayers;
        var shape = $"{rows} × ({o.PromptLength} + {o.ResponseLength}) tokens";
        var headSaved = memory.HeadSaved(tokens, lossTokens) + memory.RotaryTables * tokens;
        var headBackward = memory.HeadBackward(lossTokens);
        if (!o.ActivationCheckpointing)
        {
            var saved = layers * memory.LayerSaved * tokens + headSaved;
            yield return new("activations", saved, MemoryPhase.Update,
                $"{shape}: {Count(memory.LayerSaved)} bytes a token in each of {layers} layers, and the head's float32 log-softmax over {lossTokens} response tokens × {config.VocabSize} vocabulary");
            yield return new("backward working memory", Math.Max(headBackward, memory.LayerBackward * tokens), MemoryPhase.Update,
                "the gradients flowing through the head or through one layer at a time");
        }
        else
        {
            var kept = layers * memory.Hidden * tokens;
            // Two moments of the pass: the head's backward with every layer input kept, and the last layer's recomputation.
            var head = headSaved + headBackward;
            var layer = memory.LayerSaved * tokens + memory.LayerBackward * tokens;
            yield return new("activations", kept, MemoryPhase.Update,
                $"{shape}: activation checkpointing keeps each of {layers} layers' input ({Count(memory.Hidden)} bytes a token)");
            yield return new("backward working memory", Math.Max(head, layer), MemoryPhase.Update,
                head >= layer ? $"the head's log-softmax over {lossTokens} response tokens × {config.VocabSize} vocabulary and its gradients"
                    : "one layer's recomputed activations and the gradients flowing through it");
        }
        if (o.Task == MemoryTask.Grpo && o.KlReference)
            yield return new("reference forward", memory.LayerForward * tokens + memory.LogitsForward(lossTokens), MemoryPhase.ReferenceForward,
                $"the reference's log-probs, before the policy's pass: one layer's activations over {tokens} tokens and the logits of {lossTokens}");
        var largest = Math.Min(AdamW.SliceElements, LargestTensor(config));
        var temporaries = !lowPrecision ? 1 : o.Precision == OptimizerPrecision.SplitMasterWeights ? 6 : 2;
        yield return new("optimizer step", largest * 4 * temporaries, MemoryPhase.Step,
            $"{temporaries} float32 temporaries of the largest slice updated at once ({Count(largest)} elements)");
    }

    private static IEnumerable<MemoryPart> GenerationParts(ModelConfig config, MemoryPlanOptions o, ActivationMemory memory, int s)
    {
        var rows = o.Task == MemoryTask.Grpo ? o.GenerationBatchRows : o.BatchSize;
        var prompts = o.Task == MemoryTask.Grpo ? (rows + o.GroupSize - 1) / o.GroupSize : rows;
        long capacity = o.PromptLength + o.ResponseLength;
        var perToken = 2L * config.NumHiddenLayers * config.KeyValueHeads * config.HeadDim * s;
        yield return new("KV cache", rows * capacity * perToken, MemoryPhase.Generation,
            $"{rows} rows × {capacity} positions × {Count(perToken)} bytes (keys and values of {config.NumHiddenLayers} layers)");
        long prefillTokens = prompts * o.PromptLength;
        var foldedMask = prompts * (config.NumAttentionHeads / config.KeyValueHeads) * (long)o.PromptLength * o.PromptLength;
        yield return new("prefill working memory", memory.LayerForward * prefillTokens + foldedMask + memory.LogitsForward(rows), MemoryPhase.Generation,
            $"one layer's activations over {prompts} prompts × {o.PromptLength} tokens, the attention mask, the logits of {rows} rows");
    }

    private static long LargestTensor(ModelConfig config) => Math.Max((long)config.VocabSize * config.HiddenSize,
        Math.Max(2L * config.IntermediateSize * config.HiddenSize, (long)(config.NumAttentionHeads + 2 * config.KeyValueHeads) * config.HeadDim * config.HiddenSize));

    /// <summary>The one-line refusal of a run over <paramref name="limitBytes"/>, naming the largest part and the micro-batch that would fit.</summary>
    public string Refusal(long limitBytes, int fittingBatch) => string.Create(CultureInfo.InvariantCulture,
        $"the memory plan predicts a peak of {Gib(PeakBytes)} GiB, over the limit of {Gib(limitBytes)} GiB; the largest part is {LargestPart.Name} ({Gib(LargestPart.Bytes)} GiB: {LargestPart.Detail}); ")
        + (fittingBatch > 0 ? $"a micro-batch of {fittingBatch} would fit" : "not even a micro-batch of 1 fits: use bfloat16, activation checkpointing, split master weights, fewer generation rows or shorter sequences");

    /// <summary>The plan as a table (part, GiB, phase, how it was computed) and the peak.</summary>
    public string Describe()
    {
        var o = Options;
        var text = new StringBuilder();
        var shape = FormattableString.Invariant($"({o.PromptLength} + {o.ResponseLength}) tokens");
        text.Append(FormattableString.Invariant($"memory plan: {Config.ModelType}, {Count(ParameterCount)} parameters ({Config.NumHiddenLayers} layers, hidden {Config.HiddenSize}, vocabulary {Config.VocabSize}); {o.Task}, {TypeName(o.DType)}"));
        text.Append(o.Task == MemoryTask.Inference ? $", {o.BatchSize} rows × {shape}" : $", {o.Precision}, micro-batch {o.BatchSize} × {shape}{(o.ActivationCheckpointing ? ", activation checkpointing" : "")}");
        text.AppendLine(o.Task == MemoryTask.Grpo ? $", {o.GenerationBatchRows} rows sampled at once{(o.KlReference ? ", KL reference" : "")}" : "");
        text.AppendLine("| part | GiB | when | how |");
        text.AppendLine("|---|---|---|---|");
        foreach (var part in Parts)
            text.AppendLine($"| {part.Name} | {Gib(part.Bytes)} | {part.Phase.ToString().ToLowerInvariant()} | {part.Detail} |");
        var held = Parts.Where(p => p.Phase == MemoryPhase.Held).Sum(p => p.Bytes);
        text.Append($"predicted peak: {Gib(PeakBytes)} GiB = held {Gib(held)} + {PeakPhase.ToString().ToLowerInvariant()} {Gib(PeakBytes - held)}; largest part: {LargestPart.Name}");
        return text.ToString();
    }

    private static string Gib(long bytes) => (bytes / GiB).ToString(bytes < 0.1 * GiB ? "0.000" : "0.00", CultureInfo.InvariantCulture);

    private static string Count(long n) => n.ToString("N0", CultureInfo.InvariantCulture);

    private static string TypeName(ScalarType type) => type switch { ScalarType.BFloat16 => "bfloat16", ScalarType.Float16 => "float16", _ => "float32" };
}
