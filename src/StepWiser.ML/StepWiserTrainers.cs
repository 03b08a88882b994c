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
}
