using StepWiser.ML.Models;

namespace StepWiser.ML.Worlds;

/// <summary>The policy recipe of the built-in world: a small causal LM trained from scratch by SFT on canonical chunked solutions.</summary>
public sealed class WorldPolicyOptions
{
    private int _trainProblems = 20000;
    private int _steps = 3000;
    private int _batchSize = 16;
    private double _learningRate = 3e-3;

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

    /// <summary>Optimiser updates.</summary>
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

    /// <summary>Seed of the weights, the problems and the data order.</summary>
    public int Seed { get; set; } = 1;
}
