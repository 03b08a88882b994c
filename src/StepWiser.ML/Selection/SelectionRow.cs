namespace StepWiser.ML.Selection;

/// <summary>A row of data selection's output (the input's Prompt and Problem, and the columns it adds under their default names), for <c>mlContext.Data.CreateEnumerable</c>.</summary>
public sealed class SelectionRow
{
    /// <summary>The prompt.</summary>
    public string Prompt { get; set; } = "";

    /// <summary>The problem.</summary>
    public string Problem { get; set; } = "";

    /// <summary>The correct solution with the highest mean chunk score (empty when no sample was correct).</summary>
    public string JudgeSelected { get; set; } = "";

    /// <summary>Its mean chunk score (NaN when no sample was correct).</summary>
    public float JudgeScore { get; set; }

    /// <summary>A correct solution picked at random, outcome-only selection (empty when none).</summary>
    public string OutcomeSelected { get; set; } = "";

    /// <summary>Every sampled solution with a right final answer (outcome-only rejection sampling keeps them all).</summary>
    [Microsoft.ML.Data.VectorType] public string[] CorrectSolutions { get; set; } = [];

    /// <summary>The judge's mean chunk score of each correct solution, in the same order.</summary>
    [Microsoft.ML.Data.VectorType] public float[] CorrectScores { get; set; } = [];

    /// <summary>Solutions sampled.</summary>
    public int Sampled { get; set; }

    /// <summary>Sampled solutions with a right final answer.</summary>
    public int CorrectCount { get; set; }
}
