
namespace StepWiser.ML.Judging;

/// <summary>
/// Options of <see cref="JudgeRecipe"/>: which labelled steps to train on, how long to teach the analysis (on unlabelled
/// steps) and the verdicts (on Monte-Carlo labels), and the GRPO stage. The defaults are the recipe measured on the
/// built-in world (docs/results.md, lab/benchmarks.md "judge ladder"). Immutable: change a copy with <c>with</c>.
/// </summary>
public sealed record JudgeRecipeOptions
{
    /// <summary>
    /// Which stages <c>Trainers.StepwiseJudge</c> runs when it is given this recipe (default all three, in order: analysis,
    /// verdicts, GRPO). Running them one fit at a time, each from the previous fit's saved judge, gives the same judge
    /// as one fit of all three (the main job does that to keep each stage's judge as a row).
    /// </summary>
    public JudgeRecipeStages Stages { get; init; } = JudgeRecipeStages.All;

    /// <summary>Which labelled steps of each solution are trained on (default: up to the first Monte-Carlo-negative step).</summary>
    public StepSelection StepSelection { get; init; } = StepSelection.UpToFirstNegative;

    /// <summary>Updates of the analysis-only stage on unlabelled steps (default 1000; 0 skips it). On the built-in world 400 updates left the analysis right on 79 % of benchmark steps' conclusions and 1,000 lifted the judge's balanced gold accuracy from 60 % to 67 % (lab/benchmarks.md, judge ladder).</summary>
    public int PretrainSteps { get; init; } = 1000;

    /// <summary>
    /// When set, the analysis-only stage trains on equal numbers of steps for which this returns true and false (the
    /// majority down-sampled), e.g. <c>a =&gt; a.EndsWith("Same.")</c>. Most policy steps are right, so an analysis that
    /// re-derives the step usually equals it, and a small model learns to copy the step instead of deriving it; balancing
    /// on the analysis's own conclusion removes that shortcut. It reads only the analysis text, never a label. Default null.
    /// </summary>
    public Func<string, bool>? PretrainBalanceBy { get; init; }

    /// <summary>A <see cref="PretrainBalanceBy"/> for analyses that mark each check "=" or "!" (the built-in world's verification analysis): true when no check is flagged.</summary>
    public static Func<string, bool> ByFlaggedCheck { get; } = a => !a.Contains('!', StringComparison.Ordinal);

    /// <summary>A <see cref="PretrainBalanceBy"/> for analyses that end in "Same." or "Different." (both built-in teachers).</summary>
    public static Func<string, bool> BySameOrDifferent { get; } = a => a.EndsWith("Same.", StringComparison.Ordinal);

    /// <summary>Updates of the verdict stage on balanced labelled steps, analysis then boxed verdict (default 150).</summary>
    public int WarmupSteps { get; init; } = 150;

    /// <summary>Examples per update in both supervised stages (default 32).</summary>
    public int BatchSize { get; init; } = 32;

    /// <summary>Peak learning rate of the analysis-only stage (default 3e-3, the built-in policy recipe's).</summary>
    public double PretrainLearningRate { get; init; } = 3e-3;

    /// <summary>Peak learning rate of the verdict stage (default 1e-3).</summary>
    public double WarmupLearningRate { get; init; } = 1e-3;

    /// <summary>Down-sample the majority label to 50/50 in the verdict stage (default true; the paper found balancing essential).</summary>
    public bool Balance { get; init; } = true;

    /// <summary>
    /// Whether the verdict stage balances the labels; null (the default) follows <see cref="Balance"/>. False with
    /// <see cref="Balance"/> true trains the verdicts on the labels as they come and GRPO on balanced prompts (the
    /// result-first judge's recipe: a judge whose comparison reads "same" learns that most such steps are right).
    /// </summary>
    public bool? WarmupBalance { get; init; }

    /// <summary>Longest training sequence in tokens (prompt + response).</summary>
    public int MaxSequenceLength { get; init; } = 1024;

    /// <summary>Seed of the data order and of balancing.</summary>
    public int Seed { get; init; } = 1;

    /// <summary>
    /// The GRPO stage (default: KL 0.2 to the warmed-up judge so the analysis it learned is kept, learning rate 1e-4,
    /// 16 prompts × 4 responses per step, 128 new tokens).
    /// </summary>
    public GrpoOptions Grpo { get; init; } = new()
    {
        Steps = 60, PromptsPerStep = 16, GroupSize = 4, MiniBatchSize = 32, LearningRate = 1e-4, KlCoefficient = 0.2, MaxNewTokens = 128, WarmupSteps = 5,
    };

    /// <summary>Throws naming the first invalid option.</summary>
    public void Validate()
    {
        if (Stages == JudgeRecipeStages.None || (Stages & ~JudgeRecipeStages.All) != 0) throw new ArgumentOutOfRangeException(nameof(Stages), Stages, "must name at least one of Analysis, Verdicts and Grpo");
        if (PretrainSteps < 0) throw new ArgumentOutOfRangeException(nameof(PretrainSteps), PretrainSteps, "must be >= 0");
        if (WarmupSteps < 1) throw new ArgumentOutOfRangeException(nameof(WarmupSteps), WarmupSteps, "must be at least 1");
        if (BatchSize < 1) throw new ArgumentOutOfRangeException(nameof(BatchSize), BatchSize, "must be at least 1");
        if (!(PretrainLearningRate > 0)) throw new ArgumentOutOfRangeException(nameof(PretrainLearningRate), PretrainLearningRate, "must be positive");
        if (!(WarmupLearningRate > 0)) throw new ArgumentOutOfRangeException(nameof(WarmupLearningRate), WarmupLearningRate, "must be positive");
        if (MaxSequenceLength < 2) throw new ArgumentOutOfRangeException(nameof(MaxSequenceLength), MaxSequenceLength, "must be at least 2");
        ArgumentNullException.ThrowIfNull(Grpo, nameof(Grpo));
        Grpo.Validate();
    }
}
