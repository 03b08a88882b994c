using StepWiser.ML.Judging;

namespace StepWiser.ML;

/// <summary>The trainers of StepWiser, reached from <c>mlContext.StepWiser().Trainers</c>.</summary>
public sealed class StepWiserTrainers
{
    internal StepWiserTrainers()
    {
    }

    /// <summary>The generative stepwise judge trained with GRPO on labelled steps.</summary>
    public StepwiseJudgeTrainer StepwiseJudge(StepwiseJudgeTrainerOptions options) => new(options);

    /// <summary>
    /// The discriminative baseline: the same backbone trained on the same labelled steps to emit "+" or "-" after the
    /// step, no analysis (the paper's comparison is CoT or no CoT, nothing else).
    /// </summary>
    public DiscriminativeJudgeTrainer Discriminative(DiscriminativeJudgeTrainerOptions options) => new(options);
}
