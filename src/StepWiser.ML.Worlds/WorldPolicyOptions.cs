using StepWiser.ML.Models;

namespace StepWiser.ML.Worlds;

/// <summary>The policy recipe of the built-in world: a small causal LM trained from scratch by SFT on canonical chunked solutions.</summary>
public sealed class WorldPolicyOptions
{
    private int _trainProblems = 20000;
    private int _steps = 3000;
    private int _batchSize = 16;
    private double _learningRate = 3e-3;
    private int _evaluateEvery = 100;
    private int _validationProblems = 32;
    private int _validationSamples = 4;
    private int? _threads;

    /// <summary>
    /// Architecture (default <see cref="BuiltInModels.Tiny"/>: on a 2-core CPU it learns to copy digit rows within ~600
    /// updates of 16 and runs ~4× faster than <see cref="BuiltInModels.Small"/>, which had still not learned to copy after
    /// 1,200 — measured in docs/world-and-annotation.md).
    /// </summary>
    public ModelConfig Model { get; set; } = BuiltInModels.Tiny;

    /// <summary>Number of training problems generated from the "train" split.</summary>
    public int TrainProblems
    {
        get => _trainProblems;
        set => _trainProblems = value >= 1 ? value : throw new ArgumentOutOfRangeException(nameof(TrainProblems), value, "must be at least 1");
    }

    /// <summary>
    /// Optimiser updates: the most the recipe trains for (it stops earlier once <see cref="TargetAccuracy"/> is reached).
    /// The learning-rate schedule always spans this many updates.
    /// </summary>
    public int Steps
    {
        get => _steps;
        set => _steps = value >= 1 ? value : throw new ArgumentOutOfRangeException(nameof(Steps), value, "must be at least 1");
    }

    /// <summary>Examples per update.</summary>
    public int BatchSize
    {
        get => _batchSize;
        set => _batchSize = value >= 1 ? value : throw new ArgumentOutOfRangeException(nameof(BatchSize), value, "must be at least 1");
    }

    /// <summary>Peak learning rate (warm-up, then cosine decay).</summary>
    public double LearningRate
    {
        get => _learningRate;
        set => _learningRate = value > 0 ? value : throw new ArgumentOutOfRangeException(nameof(LearningRate), value, "must be positive");
    }

    /// <summary>
    /// Train on problems of these difficulties in equal shares instead of the world's own (null). One policy trained on
    /// the whole range is what the difficulty knob is measured with: its accuracy at each difficulty.
    /// </summary>
    public IReadOnlyList<double>? TrainingDifficulties { get; set; }

    /// <summary>Seed of the weights, the problems, the data order and the validation sampling.</summary>
    public int Seed { get; set; } = 1;

    /// <summary>
    /// Early stopping into a band of temperature-1 accuracy on the validation problems: every
    /// <see cref="EvaluateEvery"/> updates the recipe samples <see cref="ValidationSamples"/> solutions per validation
    /// problem and stops at the first check whose accuracy lies in the band. Default [35 %, 70 %]: a policy that makes
    /// mistakes on a good share of problems and solves a good share too, which is what step judges learn from. Null
    /// trains all <see cref="Steps"/> without checks.
    /// </summary>
    public AccuracyBand? TargetAccuracy { get; set; } = new(0.35, 0.70);

    /// <summary>
    /// Updates between validation checks (default 100; a last check runs at <see cref="Steps"/>). Measured on the default
    /// recipe (docs/world-and-annotation.md): accuracy jumps from about 3 % to 35–62 % within 100–500 updates, and every
    /// seed measured still had a check inside [35 %, 70 %]; each check costs about 12 s on 2 cores.
    /// </summary>
    public int EvaluateEvery
    {
        get => _evaluateEvery;
        set => _evaluateEvery = value >= 1 ? value : throw new ArgumentOutOfRangeException(nameof(EvaluateEvery), value, "must be at least 1");
    }

    /// <summary>
    /// Validation problems, generated from the world's <see cref="WorldPolicy.ValidationSplit"/> split (disjoint in
    /// purpose from "train", "heldout", "annotate" and "select") with <see cref="Seed"/>.
    /// </summary>
    public int ValidationProblems
    {
        get => _validationProblems;
        set => _validationProblems = value >= 1 ? value : throw new ArgumentOutOfRangeException(nameof(ValidationProblems), value, "must be at least 1");
    }

    /// <summary>Temperature-1 samples per validation problem.</summary>
    public int ValidationSamples
    {
        get => _validationSamples;
        set => _validationSamples = value >= 1 ? value : throw new ArgumentOutOfRangeException(nameof(ValidationSamples), value, "must be at least 1");
    }

    /// <summary>
    /// Torch intra-op threads to train with (pinned with <see cref="Training.TorchThreads.Pin"/> for the duration of
    /// training, then restored); null leaves the process's setting. Training is deterministic for a given thread count
    /// and may differ across thread counts (float rounding of parallel reductions), so pin it to reproduce a policy
    /// exactly (on the measured 2-core x64 CPU, 1 and 2 threads gave identical runs).
    /// </summary>
    public int? Threads
    {
        get => _threads;
        set => _threads = value is null or >= 1 ? value : throw new ArgumentOutOfRangeException(nameof(Threads), value, "must be at least 1, or null");
    }
}
