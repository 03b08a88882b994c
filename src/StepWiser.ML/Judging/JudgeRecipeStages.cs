namespace StepWiser.ML.Judging;

/// <summary>The stages of <see cref="JudgeRecipe"/> a recipe fit runs (<see cref="JudgeRecipeOptions.Stages"/>), always in this order.</summary>
[Flags]
public enum JudgeRecipeStages
{
    /// <summary>No stage (invalid: a recipe runs at least one).</summary>
    None = 0,

    /// <summary>The analysis stage on unlabelled steps (<see cref="JudgeRecipe.Pretrain"/>; skipped when <see cref="JudgeRecipeOptions.PretrainSteps"/> is 0).</summary>
    Analysis = 1,

    /// <summary>The verdict stage on Monte-Carlo-labelled steps (<see cref="JudgeRecipe.WarmUp"/>).</summary>
    Verdicts = 2,

    /// <summary>GRPO on the same labelled steps (<see cref="JudgeRecipe.Reinforce"/>).</summary>
    Grpo = 4,

    /// <summary>All three.</summary>
    All = Analysis | Verdicts | Grpo,
}
