using StepWiser.ML.Models;

namespace StepWiser.ML.Judging;

/// <summary>
/// Options of <c>mlContext.StepWiser().Trainers.StepwiseJudge</c>: the base model (trained in place), its tokenizer,
/// the template, the GRPO options, and how the fitted judge runs. The input columns hold labelled steps.
/// </summary>
public sealed class StepwiseJudgeTrainerOptions
{
    /// <summary>
    /// The model the judge starts from, with its tokenizer (the paper: the chunk-tuned instruct model; here: a
    /// format-warmed-up model). Trained in place; the fitted judge takes ownership of it. Required.
    /// </summary>
    public ModelBundle? Model { get; set; }

    /// <summary>Prompt template (default <see cref="JudgeTemplate.Compact"/>).</summary>
    public JudgeTemplate Template { get; set; } = JudgeTemplate.Compact;

    /// <summary>GRPO options.</summary>
    public GrpoOptions Grpo { get; set; } = new();

    /// <summary>How the fitted judge runs.</summary>
    public StepwiseJudgeOptions Judge { get; set; } = new();

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
        Grpo.Validate();
        Data.ColumnReader.RequireNames((nameof(ProblemColumnName), ProblemColumnName), (nameof(HistoryColumnName), HistoryColumnName), (nameof(ChunkColumnName), ChunkColumnName),
            (nameof(LabelColumnName), LabelColumnName));
    }
}
