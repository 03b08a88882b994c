using System.Text.Json.Serialization;
using Microsoft.ML.Data;

namespace StepWiser.ML.Evaluation;

/// <summary>One ProcessBench record (also the row type of <see cref="ProcessBench.Load"/>'s IDataView).</summary>
public sealed class ProcessBenchRecord
{
    /// <summary>Record id, e.g. "gsm8k-0".</summary>
    [JsonPropertyName("id")] public string Id { get; set; } = "";

    /// <summary>The model that wrote the solution.</summary>
    [JsonPropertyName("generator")] public string Generator { get; set; } = "";

    /// <summary>The problem.</summary>
    [JsonPropertyName("problem")] public string Problem { get; set; } = "";

    /// <summary>The solution's steps (column "Steps", a text vector).</summary>
    [JsonPropertyName("steps")] [VectorType] public string[] Steps { get; set; } = [];

    /// <summary>Whether the final answer is right.</summary>
    [JsonPropertyName("final_answer_correct")] public bool FinalAnswerCorrect { get; set; }

    /// <summary>0-based index of the earliest wrong step, −1 when every step is correct.</summary>
    [JsonPropertyName("label")] public int Label { get; set; }

    /// <summary>
    /// The subset: a record's own "subset" field when it has one (the built-in world's benchmarks write theirs, e.g.
    /// "short" and "long"), else the file name without extension (e.g. "gsm8k" for ProcessBench's files). Written as
    /// "subset" when not empty, so a benchmark read back is scored by the same subsets.
    /// </summary>
    [JsonIgnore] public string Subset { get; set; } = "";

    /// <summary>What is written as "subset": null (left out) when the record has none.</summary>
    [JsonInclude, JsonPropertyName("subset"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    private string? SubsetField
    {
        get => Subset.Length == 0 ? null : Subset;
        set => Subset = value ?? "";
    }
}
