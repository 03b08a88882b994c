namespace StepWiser.ML.Evaluation;

/// <summary>ProcessBench scores of one subset.</summary>
/// <param name="Subset">Subset name.</param>
/// <param name="ErroneousCount">Records with an error (gold label ≠ −1).</param>
/// <param name="CorrectCount">Records without an error.</param>
/// <param name="ErrorAccuracy">Share of erroneous records whose predicted index equals the gold index exactly.</param>
/// <param name="CorrectAccuracy">Share of correct records predicted −1.</param>
/// <param name="F1">Harmonic mean of the two accuracies (0 when both are 0).</param>
public sealed record ProcessBenchSubsetScore(string Subset, int ErroneousCount, int CorrectCount, double ErrorAccuracy, double CorrectAccuracy, double F1);
