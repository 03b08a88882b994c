using StepWiser.ML.Generation;

namespace StepWiser.ML.Selection;

/// <summary>Options of judge-based data selection (<c>mlContext.StepWiser().Selection.ByJudge</c>).</summary>
public sealed class JudgeDataSelectionOptions
{
    /// <summary>How the policy samples the N solutions per prompt (default 8 samples at T = 1, 256 new tokens, seed 1).</summary>
    public SamplingOptions Sampling { get; set; } = new() { NumSamples = 8, MaxNewTokens = 256, Temperature = 1, Seed = 1 };

    /// <summary>Seed of the outcome-only pick among a prompt's correct solutions.</summary>
    public int Seed { get; set; } = 1;

    /// <summary>
    /// Prompts selected together (default 256): their samples and judge calls are batched, and the outcome-only pick
    /// draws from one random sequence per batch, so the picks depend on the batch a row falls in.
    /// </summary>
    public int BatchSize { get; set; } = 256;

    /// <summary>Input column: the prompt the policy completes (text). Default "Prompt".</summary>
    public string PromptColumnName { get; set; } = "Prompt";

    /// <summary>Input column: the problem the judge reads (text). Default "Problem".</summary>
    public string ProblemColumnName { get; set; } = "Problem";

    /// <summary>Input column: the reference answer the verifier compares with (text). Default "Answer".</summary>
    public string AnswerColumnName { get; set; } = "Answer";

    /// <summary>Output column: the correct solution with the highest mean chunk score (text; empty when no sample is correct). Default "JudgeSelected".</summary>
    public string JudgeSelectedColumnName { get; set; } = "JudgeSelected";

    /// <summary>Output column: its mean chunk score (float; NaN when no sample is correct). Default "JudgeScore".</summary>
    public string JudgeScoreColumnName { get; set; } = "JudgeScore";

    /// <summary>Output column: a correct solution picked at random, outcome-only selection (text; empty when none). Default "OutcomeSelected".</summary>
    public string OutcomeSelectedColumnName { get; set; } = "OutcomeSelected";

    /// <summary>Output column: every correct solution, in sampling order (text vector). Default "CorrectSolutions".</summary>
    public string CorrectSolutionsColumnName { get; set; } = "CorrectSolutions";

    /// <summary>Output column: the judge's mean chunk score of each correct solution (float vector). Default "CorrectScores".</summary>
    public string CorrectScoresColumnName { get; set; } = "CorrectScores";

    /// <summary>Output column: solutions sampled (int). Default "Sampled".</summary>
    public string SampledColumnName { get; set; } = "Sampled";

    /// <summary>Output column: sampled solutions with a right final answer (int). Default "CorrectCount".</summary>
    public string CorrectCountColumnName { get; set; } = "CorrectCount";

    /// <summary>A copy, so that a fitted transformer does not change when the caller's options object does.</summary>
    internal JudgeDataSelectionOptions Snapshot() => (JudgeDataSelectionOptions)MemberwiseClone();

    /// <summary>Throws naming the first invalid option.</summary>
    public void Validate()
    {
        ArgumentNullException.ThrowIfNull(Sampling, nameof(Sampling));
        Sampling.Validate();
        if (BatchSize < 1) throw new ArgumentOutOfRangeException(nameof(BatchSize), BatchSize, "must be at least 1");
        Data.ColumnReader.RequireNames((nameof(PromptColumnName), PromptColumnName), (nameof(ProblemColumnName), ProblemColumnName), (nameof(AnswerColumnName), AnswerColumnName),
            (nameof(JudgeSelectedColumnName), JudgeSelectedColumnName), (nameof(JudgeScoreColumnName), JudgeScoreColumnName), (nameof(OutcomeSelectedColumnName), OutcomeSelectedColumnName),
            (nameof(SampledColumnName), SampledColumnName), (nameof(CorrectCountColumnName), CorrectCountColumnName),
            (nameof(CorrectSolutionsColumnName), CorrectSolutionsColumnName), (nameof(CorrectScoresColumnName), CorrectScoresColumnName));
    }
}
