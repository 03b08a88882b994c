using StepWiser.ML.Models;
using StepWiser.ML.Training;

namespace StepWiser.ML.Judging;

/// <summary>Options of <see cref="GrpoTrainer"/> (docs/judging-evaluation-search.md, "GRPO"; DAPO-style token-level loss, no KL by default).</summary>
public sealed record GrpoOptions
{
    /// <summary>RL steps (one batch of prompts each).</summary>
    public int Steps { get; init; } = 100;

    /// <summary>Prompts per RL step (paper: 1024).</summary>
    public int PromptsPerStep { get; init; } = 16;

    /// <summary>Responses sampled per prompt, G (paper: 4).</summary>
    public int GroupSize { get; init; } = 4;

    /// <summary>Responses per optimiser update; a step with more responses makes several updates (paper: 256 of 4096).</summary>
    public int MiniBatchSize { get; init; } = 64;

    /// <summary>Learning rate (paper: 1e-6 for 1.5B/7B models; small models need more).</summary>
    public double LearningRate { get; init; } = 1e-5;

    /// <summary>Linear warm-up steps of the learning rate, then constant.</summary>
    public int WarmupSteps { get; init; } = 5;

    /// <summary>Lower clip ε_low of the ratio (paper: 0.2).</summary>
    public double ClipLow { get; init; } = 0.2;

    /// <summary>Upper clip ε_high ("clip-higher", paper: 0.28).</summary>
    public double ClipHigh { get; init; } = 0.28;

    /// <summary>Weight of the k3 KL estimate to the initial model (default 0: off, the common choice).</summary>
    public double KlCoefficient { get; init; }

    /// <summary>Sampling temperature of the responses (default 1).</summary>
    public float Temperature { get; init; } = 1.0f;

    /// <summary>Longest response in tokens.</summary>
    public int MaxNewTokens { get; init; } = 64;

    /// <summary>Subtracted from the reward of an unparseable response (default 0: it simply earns 0).</summary>
    public double FormatPenalty { get; init; }

    /// <summary>Sample half the prompts of each step from positive and half from negative examples (on by default: the paper found it essential).</summary>
    public bool BalancePrompts { get; init; } = true;

    /// <summary>
    /// For a result-first template (<see cref="JudgeTemplate.ResultFirst"/>): sample turn 1 too (default false). Each
    /// step that states a result and carries no <see cref="JudgeInput.Reference"/> gets <see cref="GroupSize"/> sampled
    /// turn-1 lines, each followed by one sampled turn 2, and both turns' tokens take the group's advantage, so RL also
    /// trains the judge's own recomputation. Off, turn 2 trains on the lines the steps carry (the recipe fills them with
    /// the judge's greedy lines first).
    /// </summary>
    public bool SampleTurnOne { get; init; }

    /// <summary>Global gradient-norm clip; 0 disables it.</summary>
    public double MaxGradNorm { get; init; } = 1.0;

    /// <summary>
    /// Compute each prompt once per forward pass (a micro-batch) for all of its group's responses there (its keys and
    /// values shared, gradients flowing back into it from every response), instead of every response's full sequence on
    /// its own (default true; the same loss up to floating-point order, with a G-response group's prompt forward and
    /// backward done once instead of G times; lab/benchmarks.md, "Where the time of a training step goes"). Does not
    /// apply with <see cref="ActivationCheckpointing"/>.
    /// </summary>
    public bool SharedPromptForward { get; init; } = true;

    /// <summary>
    /// Responses per forward and backward pass inside a mini-batch (gradient accumulation): their gradients add up to the
    /// mini-batch's, so the update is the same as from one pass over the whole mini-batch, up to the order of
    /// floating-point sums, with the activations of this many responses at a time. Null (the default): the whole
    /// mini-batch in one pass, or with <see cref="ChooseMicroBatch"/> the largest that the memory plan fits.
    /// </summary>
    public int? MicroBatchSize { get; init; }

    /// <summary>
    /// Recompute each decoder layer's activations in the backward pass instead of keeping them (activation checkpointing,
    /// <see cref="CausalLM.ForwardBackward"/>): far less memory for one more forward pass through the layers, the same
    /// gradients up to the order of floating-point sums. Each response's full sequence runs (<see cref="SharedPromptForward"/>
    /// does not apply). Off by default.
    /// </summary>
    public bool ActivationCheckpointing { get; init; }

    /// <summary>How AdamW updates bfloat16 or float16 parameters (float32 master weights by default; <see cref="OptimizerPrecision"/>).</summary>
    public OptimizerPrecision Precision { get; init; } = OptimizerPrecision.MasterWeights;

    /// <summary>Responses sampled at once (the rows of one generation batch, whose KV cache is allocated together; default 64).</summary>
    public int GenerationBatchRows { get; init; } = 64;

    /// <summary>
    /// Memory the training may use, in bytes (the GPU's, or the process's on the CPU); null (the default) checks nothing.
    /// When set, <see cref="GrpoTrainer.Train"/> computes the <see cref="MemoryPlan"/> of the run (the longest prompt and
    /// <see cref="MaxNewTokens"/>) before it allocates anything, and refuses a run whose predicted peak exceeds it with a
    /// <see cref="MemoryPlanException"/> naming the largest part and the micro-batch that would fit.
    /// </summary>
    public long? MemoryLimitBytes { get; init; }

    /// <summary>
    /// With <see cref="MemoryLimitBytes"/>: train with the largest micro-batch the memory plan fits (at most
    /// <see cref="MicroBatchSize"/>, or the mini-batch) instead of refusing a larger one.
    /// </summary>
    public bool ChooseMicroBatch { get; init; }

    /// <summary>
    /// Generate the groups with the engine's managed decode (LocalGeneratorOptions.UseManagedDecodeKernel; default true).
    /// Off, for benchmarks that measure the trainer as it was before it.
    /// </summary>
    internal bool ManagedDecode { get; init; } = true;

    /// <summary>Seed of prompt sampling and response sampling.</summary>
    public int Seed { get; init; } = 1;

    /// <summary>CSV file receiving one line of metrics per step; null for none.</summary>
    public string? LogCsvPath { get; init; }

    /// <summary>Folder for checkpoints and exact resume; null disables them.</summary>
    public string? CheckpointDirectory { get; init; }

    /// <summary>Steps between checkpoints.</summary>
    public int CheckpointEvery { get; init; } = 25;

    /// <summary>Throws naming the first invalid option.</summary>
    public void Validate()
    {
        if (Steps < 1) throw new ArgumentOutOfRangeException(nameof(Steps), Steps, "must be at least 1");
        if (PromptsPerStep < 1) throw new ArgumentOutOfRangeException(nameof(PromptsPerStep), PromptsPerStep, "must be at least 1");
        if (GroupSize < 2) throw new ArgumentOutOfRangeException(nameof(GroupSize), GroupSize, "must be at least 2 (advantages are relative to the group)");
        if (MiniBatchSize < 1) throw new ArgumentOutOfRangeException(nameof(MiniBatchSize), MiniBatchSize, "must be at least 1");
        if (LearningRate <= 0) throw new ArgumentOutOfRangeException(nameof(LearningRate), LearningRate, "must be positive");
        if (ClipLow is <= 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(ClipLow), ClipLow, "must be in (0, 1)");
        if (ClipHigh <= 0) throw new ArgumentOutOfRangeException(nameof(ClipHigh), ClipHigh, "must be positive");
        if (KlCoefficient < 0) throw new ArgumentOutOfRangeException(nameof(KlCoefficient), KlCoefficient, "must be >= 0");
        if (Temperature <= 0) throw new ArgumentOutOfRangeException(nameof(Temperature), Temperature, "must be positive (RL samples)");
        if (MaxNewTokens < 1) throw new ArgumentOutOfRangeException(nameof(MaxNewTokens), MaxNewTokens, "must be at least 1");
        if (CheckpointEvery < 1) throw new ArgumentOutOfRangeException(nameof(CheckpointEvery), CheckpointEvery, "must be at least 1");
        if (MicroBatchSize < 1) throw new ArgumentOutOfRangeException(nameof(MicroBatchSize), MicroBatchSize, "must be at least 1 (or null: the whole mini-batch)");
        if (!Enum.IsDefined(Precision)) throw new ArgumentOutOfRangeException(nameof(Precision), Precision, "is not an OptimizerPrecision");
        if (GenerationBatchRows < 1) throw new ArgumentOutOfRangeException(nameof(GenerationBatchRows), GenerationBatchRows, "must be at least 1");
        if (MemoryLimitBytes <= 0) throw new ArgumentOutOfRangeException(nameof(MemoryLimitBytes), MemoryLimitBytes, "must be positive (or null: no check)");
        if (ChooseMicroBatch && MemoryLimitBytes is null) throw new ArgumentException("ChooseMicroBatch needs MemoryLimitBytes (the memory the micro-batch must fit)", nameof(ChooseMicroBatch));
    }
}
