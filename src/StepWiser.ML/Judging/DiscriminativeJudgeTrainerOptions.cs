using StepWiser.ML.Models;
using StepWiser.ML.Training;

namespace StepWiser.ML.Judging;

/// <summary>
/// Options of <c>mlContext.StepWiser().Trainers.Discriminative</c>: the base model (trained in place), its tokenizer,
/// the template, the supervised recipe and how the fitted judge runs. The input columns hold labelled steps, as for
/// <see cref="StepwiseJudgeTrainer"/>.
/// </summary>
public sealed class DiscriminativeJudgeTrainerOptions
{
    /// <summary>
    /// The model the judge starts from, with its tokenizer; for a fair comparison, the generative judge's weights before
    /// its verdict stage. Trained in place; the fitted judge takes ownership of it. Required.
    /// </summary>
    public ModelBundle? Model { get; set; }

    /// <summary>Prompt template (default <see cref="JudgeTemplate.Compact"/>).</summary>
    public JudgeTemplate Template { get; set; } = JudgeTemplate.Compact;

    /// <summary>
    /// Updates, batch, learning rate, balancing and seed: the verdict stage's settings of <see cref="JudgeRecipe"/>
    /// (<see cref="JudgeRecipeOptions.WarmupSteps"/>, <see cref="JudgeRecipeOptions.WarmupLearningRate"/>,
    /// <see cref="JudgeRecipeOptions.BatchSize"/>, <see cref="JudgeRecipeOptions.Balance"/>, <see cref="JudgeRecipeOptions.Seed"/>),
    /// so that the baseline sees what the generative judge's verdict stage sees.
    /// </summary>
    public JudgeRecipeOptions Recipe { get; set; } = new();

    /// <summary>How the fitted judge runs: its solution columns, batch size and whether to stop at the first Negative (generation settings do not apply).</summary>
    public StepwiseJudgeOptions Judge { get; set; } = new();

    /// <summary>Input column: the problem (text). Default "Problem".</summary>
    public string ProblemColumnName { get; set; } = "Problem";

    /// <summary>Input column: the earlier chunks (text vector). Default "History".</summary>
    public string HistoryColumnName { get; set; } = "History";

    /// <summary>Input column: the chunk to judge (text). Default "Chunk".</summary>
    public string ChunkColumnName { get; set; } = "Chunk";

    /// <summary>Input column: the label (bool). Default "Label".</summary>
    public string LabelColumnName { get; set; } = "Label";

    /// <summary>Receives the training progress.</summary>
    public IProgress<TrainingProgress>? Progress { get; set; }

    /// <summary>Throws naming the first missing or invalid option.</summary>
    public void Validate()
    {
        if (Model is null) throw new ArgumentException("Model (the base model with its tokenizer) is required", nameof(Model));
        ArgumentNullException.ThrowIfNull(Template, nameof(Template));
        ArgumentNullException.ThrowIfNull(Recipe, nameof(Recipe));
        ArgumentNullException.ThrowIfNull(Judge, nameof(Judge));
        Recipe.Validate();
        Data.ColumnReader.RequireNames((nameof(ProblemColumnName), ProblemColumnName), (nameof(HistoryColumnName), HistoryColumnName), (nameof(ChunkColumnName), ChunkColumnName),
            (nameof(LabelColumnName), LabelColumnName));
    }
}
