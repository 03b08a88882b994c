namespace StepWiser.ML.Training;

/// <summary>Options of <see cref="SftTrainer"/>. Every property is validated by <see cref="Validate"/>.</summary>
public sealed class SftOptions
{
    /// <summary>Number of optimiser updates.</summary>
    public int Steps { get; set; } = 1000;

    /// <summary>Examples per micro-batch.</summary>
    public int BatchSize { get; set; } = 16;

    /// <summary>Micro-batches accumulated into one update.</summary>
    public int GradientAccumulationSteps { get; set; } = 1;

    /// <summary>Peak learning rate.</summary>
    public double LearningRate { get; set; } = 1e-3;

    /// <summary>Linear warm-up updates.</summary>
    public int WarmupSteps { get; set; } = 50;

    /// <summary>Final learning rate as a share of the peak (cosine decay).</summary>
    public double MinLearningRateRatio { get; set; } = 0.1;

    /// <summary>AdamW decoupled weight decay.</summary>
    public double WeightDecay { get; set; } = 0.01;

    /// <summary>Global gradient-norm clip; 0 disables it.</summary>
    public double MaxGradNorm { get; set; } = 1.0;

    /// <summary>Longest tokenised example; longer ones are truncated from the right.</summary>
    public int MaxSequenceLength { get; set; } = 1024;

    /// <summary>Seed of the data order (the only randomness of SFT).</summary>
    public int Seed { get; set; } = 1;

    /// <summary>Folder for periodic checkpoints; null disables checkpointing and resume.</summary>
    public string? CheckpointDirectory { get; set; }

    /// <summary>Updates between checkpoints.</summary>
    public int CheckpointEvery { get; set; } = 100;

    /// <summary>Checkpoints kept (older ones are deleted).</summary>
    public int KeepCheckpoints { get; set; } = 2;

    /// <summary>Append the end-of-sequence token to every response so the model learns to stop.</summary>
    public bool AppendEos { get; set; } = true;

    /// <summary>
    /// Recompute each decoder layer's activations in the backward pass instead of keeping them (activation
    /// checkpointing, <see cref="Models.CausalLM.ForwardBackward"/>): far less memory for one more forward pass through
    /// the layers; the same gradients up to the order of floating-point sums. Off by default.
    /// </summary>
    public bool ActivationCheckpointing { get; set; }

    /// <summary>How AdamW updates bfloat16 or float16 parameters (float32 master weights by default; <see cref="OptimizerPrecision"/>).</summary>
    public OptimizerPrecision Precision { get; set; } = OptimizerPrecision.MasterWeights;

    /// <summary>
    /// Memory the training may use, in bytes; null (the default) checks nothing. When set, <see cref="SftTrainer.Train(IReadOnlyList{SftExample}, IProgress{TrainingProgress}, CancellationToken)"/>
    /// computes the <see cref="MemoryPlan"/> of a micro-batch of <see cref="BatchSize"/> of the longest prompt and response
    /// before it allocates anything, and refuses a run over it with a <see cref="MemoryPlanException"/> naming the
    /// largest part and the batch size that would fit.
    /// </summary>
    public long? MemoryLimitBytes { get; set; }

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first invalid option.</summary>
    public void Validate()
    {
        static void Check(bool ok, string name, object value, string rule)
        {
            if (!ok) throw new ArgumentOutOfRangeException(name, value, rule);
        }
        Check(Steps >= 1, nameof(Steps), Steps, "must be at least 1");
        Check(BatchSize >= 1, nameof(BatchSize), BatchSize, "must be at least 1");
        Check(GradientAccumulationSteps >= 1, nameof(GradientAccumulationSteps), GradientAccumulationSteps, "must be at least 1");
        Check(LearningRate > 0, nameof(LearningRate), LearningRate, "must be positive");
        Check(WarmupSteps >= 0, nameof(WarmupSteps), WarmupSteps, "must be >= 0");
        Check(MinLearningRateRatio is >= 0 and <= 1, nameof(MinLearningRateRatio), MinLearningRateRatio, "must be in [0, 1]");
        Check(WeightDecay >= 0, nameof(WeightDecay), WeightDecay, "must be >= 0");
        Check(MaxGradNorm >= 0, nameof(MaxGradNorm), MaxGradNorm, "must be >= 0");
        Check(MaxSequenceLength >= 2, nameof(MaxSequenceLength), MaxSequenceLength, "must be at least 2");
        Check(CheckpointEvery >= 1, nameof(CheckpointEvery), CheckpointEvery, "must be at least 1");
        Check(KeepCheckpoints >= 1, nameof(KeepCheckpoints), KeepCheckpoints, "must be at least 1");
        Check(Enum.IsDefined(Precision), nameof(Precision), Precision, "is not an OptimizerPrecision");
        Check(MemoryLimitBytes is null or > 0, nameof(MemoryLimitBytes), MemoryLimitBytes!, "must be positive (or null: no check)");
    }
}
