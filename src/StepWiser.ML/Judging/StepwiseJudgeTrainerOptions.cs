using StepWiser.ML.Models;

namespace StepWiser.ML.Judging;

/// <summary>
/// Options of <c>mlContext.StepWiser().Trainers.StepwiseJudge</c>: the base model (copied, unless
/// <see cref="TrainInPlace"/>), its tokenizer, the template, the GRPO options, and how the fitted judge runs. The input
/// holds labelled steps or, with <see cref="StepLabelsColumnName"/>, annotated solutions.
/// </summary>
public sealed class StepwiseJudgeTrainerOptions
{
    /// <summary>
    /// The model the judge starts from, with its tokenizer (the paper: the chunk-tuned instruct model; here: a
    /// format-warmed-up model). <c>Fit</c> trains a copy of it (<see cref="ModelBundle.Copy"/>) and leaves it as it was, so one bundle can start
    /// any number of fits and stays its owner's to dispose; with <see cref="TrainInPlace"/> it is trained itself and the
    /// fitted judge takes ownership of it. Required.
    /// </summary>
    public ModelBundle? Model { get; set; }

    /// <summary>Prompt template (default <see cref="JudgeTemplate.Compact"/>).</summary>
    public JudgeTemplate Template { get; set; } = JudgeTemplate.Compact;

    /// <summary>GRPO options when the trainer runs GRPO alone (<see cref="Recipe"/> null); with a recipe, set them in its <see cref="JudgeRecipeOptions.Grpo"/>.</summary>
    public GrpoOptions Grpo { get; set; } = new();

    /// <summary>
    /// The whole judge recipe (<see cref="JudgeRecipe"/>) instead of GRPO alone: the analysis stage on
    /// <see cref="Analysis"/>'s unlabelled steps, the verdict stage on the Monte-Carlo-labelled steps (analysis then
    /// boxed verdict), then GRPO (<see cref="JudgeRecipeOptions.Grpo"/>), as <see cref="JudgeRecipeOptions.Stages"/> says;
    /// steps of annotated solutions are selected by <see cref="JudgeRecipeOptions.StepSelection"/>. With a recipe,
    /// <see cref="Grpo"/> and <see cref="StepSelection"/> stay at their defaults (the recipe holds them). Default null: GRPO alone.
    /// </summary>
    public JudgeRecipeOptions? Recipe { get; set; }

    /// <summary>
    /// What the recipe's judge writes before its verdict and the unlabelled steps it learns that on; read only with
    /// <see cref="Recipe"/> (required when its analysis stage runs). Null: the verdict stage teaches the verdict alone.
    /// With a result-first template (<see cref="ResultFirstTemplate.TurnTwo"/>) its Write gives the turn-1 lines
    /// (required for the analysis and verdict stages; e.g. <see cref="ResultFirstTemplate.SelfDistilledAsync"/>): the
    /// analysis stage teaches both turns, the verdict stage turn 2's comparison and verdict with as many turn-1 examples
    /// kept, and GRPO trains turn 2 on the judge's own turn-1 results (or both turns, with
    /// <see cref="GrpoOptions.SampleTurnOne"/>).
    /// </summary>
    public JudgeAnalysis? Analysis { get; set; }

    /// <summary>Receives one record per update of the recipe's supervised stages (analysis and verdicts).</summary>
    public IProgress<Training.TrainingProgress>? SupervisedProgress { get; set; }

    /// <summary>How the fitted judge runs.</summary>
    public StepwiseJudgeOptions Judge { get; set; } = new();

    /// <summary>
    /// Trains <see cref="Model"/> itself instead of a copy (default false): the fitted judge then owns that bundle and a
    /// second <c>Fit</c> would continue from the first one's weights. For a model too large to hold twice; a cancelled
    /// or failed fit leaves it partly trained.
    /// </summary>
    public bool TrainInPlace { get; set; }

    /// <summary>Cancels <c>Fit</c> between training steps (checked once per step); <c>Fit</c> then throws <see cref="OperationCanceledException"/>.</summary>
    public CancellationToken CancellationToken { get; set; }

    /// <summary>
    /// Input column of annotated solutions: the per-step labels of one scheme (bool vector, e.g. the Monte-Carlo
    /// annotator's "StepLabels"). When set, the input has one row per solution (<see cref="ProblemColumnName"/>,
    /// <see cref="ChunksColumnName"/> and this column) and each solution becomes labelled steps by
    /// <see cref="StepSelection"/>; a solution without labels is skipped. This is the input that lets the trainer sit in an
    /// <c>EstimatorChain</c> after the annotator. Null (the default): the input holds labelled steps, one row per step
    /// (<see cref="ProblemColumnName"/>, <see cref="HistoryColumnName"/>, <see cref="ChunkColumnName"/>, <see cref="LabelColumnName"/>).
    /// </summary>
    public string? StepLabelsColumnName { get; set; }

    /// <summary>Input column of annotated solutions: the chunks (text vector), read when <see cref="StepLabelsColumnName"/> is set. Default "Chunks".</summary>
    public string ChunksColumnName { get; set; } = "Chunks";

    /// <summary>Which labelled steps of each annotated solution are trained on (default: up to its first negative step); read when <see cref="StepLabelsColumnName"/> is set.</summary>
    public StepSelection StepSelection { get; set; } = StepSelection.UpToFirstNegative;

    /// <summary>Input column: the problem (text). Default "Problem".</summary>
    public string ProblemColumnName { get; set; } = "Problem";

    /// <summary>Input column: the earlier chunks (text vector). Default "History".</summary>
    public string HistoryColumnName { get; set; } = "History";

    /// <summary>Input column: the chunk to judge (text). Default "Chunk".</summary>
    public string ChunkColumnName { get; set; } = "Chunk";

    /// <summary>Input column: the label (bool). Default "Label".</summary>
    public string LabelColumnName { get; set; } = "Label";

    /// <summary>Receives one metrics record per RL step.</summary>
    public IProgress<GrpoStepMetrics>? Progress { get; set; }

    /// <summary>Free-form metadata saved in the judge's manifest (e.g. the label scheme).</summary>
    public Dictionary<string, string> Metadata { get; set; } = [];

    /// <summary>Throws naming the first missing or invalid option (called by <c>Fit</c>).</summary>
    public void Validate()
    {
        if (Model is null) throw new ArgumentException("Model (the base model with its tokenizer) is required", nameof(Model));
        ArgumentNullException.ThrowIfNull(Template, nameof(Template));
        ArgumentNullException.ThrowIfNull(Grpo, nameof(Grpo));
        ArgumentNullException.ThrowIfNull(Judge, nameof(Judge));
        if (Recipe is null)
        {
            Grpo.Validate();
            if (Analysis is not null) throw new ArgumentException("Analysis is read by the recipe only: set Recipe too, or leave Analysis null for GRPO alone", nameof(Analysis));
        }
        else
        {
            Recipe.Validate();
            if (Grpo != new GrpoOptions()) throw new ArgumentException("with a Recipe, set the GRPO options in Recipe.Grpo (Grpo must stay at its default)", nameof(Grpo));
            if (StepSelection != StepSelection.UpToFirstNegative) throw new ArgumentException("with a Recipe, set the step selection in Recipe.StepSelection", nameof(StepSelection));
            if (Recipe.Stages.HasFlag(JudgeRecipeStages.Analysis) && Recipe.PretrainSteps > 0 && (Analysis is null || Analysis.UnlabelledSteps.Count == 0))
                throw new ArgumentException("the recipe's analysis stage needs Analysis with unlabelled steps (or Recipe.PretrainSteps = 0, or Stages without Analysis)", nameof(Analysis));
            if (Template.ResultFirst is not null && Recipe.Stages.HasFlag(JudgeRecipeStages.Verdicts) && Analysis is null)
                throw new ArgumentException("a result-first template's verdict stage needs Analysis: its Write gives the turn-1 lines (e.g. ResultFirstTemplate.SelfDistilledAsync)", nameof(Analysis));
        }
        Data.ColumnReader.RequireNames((nameof(ProblemColumnName), ProblemColumnName), (nameof(HistoryColumnName), HistoryColumnName), (nameof(ChunkColumnName), ChunkColumnName),
            (nameof(LabelColumnName), LabelColumnName), (nameof(ChunksColumnName), ChunksColumnName));
        if (StepLabelsColumnName is not null) Data.ColumnReader.RequireNames((nameof(StepLabelsColumnName), StepLabelsColumnName));
    }

    /// <summary>The input columns the trainer reads, named for errors by <paramref name="stage"/>.</summary>
    internal JudgeTrainingInput Input(string stage) =>
        new(stage, ProblemColumnName, HistoryColumnName, ChunkColumnName, LabelColumnName, ChunksColumnName, StepLabelsColumnName, Recipe?.StepSelection ?? StepSelection);
}
