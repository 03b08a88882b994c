using static TorchSharp.torch;

namespace StepWiser.ML.Training;

/// <summary>
/// What a <see cref="MemoryPlan"/> is computed for: the task, the shape of one forward and backward pass, the weights'
/// type and the optimizer's precision. Every property is validated by <see cref="Validate"/>.
/// </summary>
public sealed class MemoryPlanOptions
{
    /// <summary>The task (default GRPO).</summary>
    public MemoryTask Task { get; set; } = MemoryTask.Grpo;

    /// <summary>
    /// Training: sequences in one forward and backward pass (the micro-batch; accumulation over several does not add
    /// memory). Inference: rows decoded at once. Default 1.
    /// </summary>
    public int BatchSize { get; set; } = 1;

    /// <summary>Tokens of the longest prompt (default 512).</summary>
    public int PromptLength { get; set; } = 512;

    /// <summary>Tokens of the longest response: trained on (SFT, GRPO) or generated (GRPO, inference). Default 512.</summary>
    public int ResponseLength { get; set; } = 512;

    /// <summary>Type of the weights: Float32, BFloat16 (the default) or Float16.</summary>
    public ScalarType DType { get; set; } = ScalarType.BFloat16;

    /// <summary>How AdamW keeps its state for low-precision weights (default master weights).</summary>
    public OptimizerPrecision Precision { get; set; } = OptimizerPrecision.MasterWeights;

    /// <summary>Whether each decoder layer's activations are recomputed in the backward pass.</summary>
    public bool ActivationCheckpointing { get; set; }

    /// <summary>GRPO: whether a KL reference model (a copy of the weights in their type) is held.</summary>
    public bool KlReference { get; set; }

    /// <summary>GRPO: responses sampled at once (one KV cache; the trainer's default is 64).</summary>
    public int GenerationBatchRows { get; set; } = 64;

    /// <summary>GRPO: responses per prompt; a generation batch computes rows ÷ group-size prompts (default 4).</summary>
    public int GroupSize { get; set; } = 4;

    /// <summary>A copy with another <see cref="BatchSize"/>.</summary>
    public MemoryPlanOptions WithBatchSize(int batchSize)
    {
        var copy = (MemoryPlanOptions)MemberwiseClone();
        copy.BatchSize = batchSize;
        return copy;
    }

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first invalid option.</summary>
    public void Validate()
    {
        static void Check(bool ok, string name, object value, string rule)
        {
            if (!ok) throw new ArgumentOutOfRangeException(name, value, rule);
        }
        Check(Enum.IsDefined(Task), nameof(Task), Task, "is not a MemoryTask");
        Check(BatchSize >= 1, nameof(BatchSize), BatchSize, "must be at least 1");
        Check(PromptLength >= 1, nameof(PromptLength), PromptLength, "must be at least 1");
        Check(ResponseLength >= 1, nameof(ResponseLength), ResponseLength, "must be at least 1");
        Check(DType is ScalarType.Float32 or ScalarType.BFloat16 or ScalarType.Float16, nameof(DType), DType, "must be Float32, BFloat16 or Float16");
        Check(Enum.IsDefined(Precision), nameof(Precision), Precision, "is not an OptimizerPrecision");
        Check(GenerationBatchRows >= 1, nameof(GenerationBatchRows), GenerationBatchRows, "must be at least 1");
        Check(GroupSize >= 1, nameof(GroupSize), GroupSize, "must be at least 1");
    }
}
