using System.Globalization;
using System.Text;

namespace StepWiser.ML.Evaluation;

/// <summary>ProcessBench metrics: per subset and the plain mean of the subset F1 scores (the headline number).</summary>
/// <param name="Subsets">Scores per subset, in first-seen order.</param>
/// <param name="StepAccuracy">Per-step accuracy of verdicts against step labels, when they were given (else null).</param>
public sealed record ProcessBenchMetrics(IReadOnlyList<ProcessBenchSubsetScore> Subsets, double? StepAccuracy = null)
{
    /// <summary>Mean of the subset F1 scores.</summary>
    public double AverageF1 => Subsets.Any(s => !double.IsNaN(s.F1)) ? Subsets.Where(s => !double.IsNaN(s.F1)).Average(s => s.F1) : double.NaN;

    /// <summary>Subsets whose F1 is undefined (no erroneous or no correct records): left out of <see cref="AverageF1"/>.</summary>
    public IReadOnlyList<string> UndefinedSubsets => Subsets.Where(s => double.IsNaN(s.F1)).Select(s => s.Subset).ToArray();

    /// <summary>Scores predicted first-error indices against gold ones.</summary>
    public static ProcessBenchMetrics Compute(IEnumerable<(string Subset, int Gold, int Predicted)> rows)
    {
        var scores = rows.GroupBy(r => r.Subset).Select(g =>
        {
            var erroneous = g.Where(r => r.Gold != -1).ToArray();
            var correct = g.Where(r => r.Gold == -1).ToArray();
            // As in Qwen's evaluation: an accuracy over no records is undefined (NaN), and so is the subset's F1.
            var accError = erroneous.Length == 0 ? double.NaN : erroneous.Count(r => r.Predicted == r.Gold) / (double)erroneous.Length;
            var accCorrect = correct.Length == 0 ? double.NaN : correct.Count(r => r.Predicted == -1) / (double)correct.Length;
            var f1 = double.IsNaN(accError) || double.IsNaN(accCorrect) ? double.NaN : accError + accCorrect == 0 ? 0 : 2 * accError * accCorrect / (accError + accCorrect);
            return new ProcessBenchSubsetScore(g.Key, erroneous.Length, correct.Length, accError, accCorrect, f1);
        }).ToArray();
        return new ProcessBenchMetrics(scores);
    }

    /// <summary>The paper's table: one column per subset (F1, in percent) and the average; accuracies below.</summary>
    public override string ToString()
    {
        var sb = new StringBuilder();
        sb.Append("| |").Append(string.Concat(Subsets.Select(s => $" {s.Subset} |"))).AppendLine(" Avg. F1 |");
        sb.Append("|---|").Append(string.Concat(Subsets.Select(_ => "---|"))).AppendLine("---|");
        sb.Append("| F1 |").Append(string.Concat(Subsets.Select(s => $" {Percent(s.F1)} |"))).AppendLine($" {Percent(AverageF1)} |");
        sb.Append("| error acc. |").Append(string.Concat(Subsets.Select(s => $" {Percent(s.ErrorAccuracy)} |"))).AppendLine(" |");
        sb.Append("| correct acc. |").Append(string.Concat(Subsets.Select(s => $" {Percent(s.CorrectAccuracy)} |"))).AppendLine(" |");
        if (UndefinedSubsets.Count > 0)
            sb.AppendLine($"n/a: {string.Join(", ", UndefinedSubsets)} {(UndefinedSubsets.Count == 1 ? "has" : "have")} no erroneous or no correct records, so F1 is undefined there and left out of the average.");
        if (StepAccuracy is { } step) sb.AppendLine(F($"Per-step accuracy: {100 * step:F1} %"));
        return sb.ToString();
    }

    /// <summary>A share as a percentage with one decimal, or "n/a" where it is undefined.</summary>
    public static string Percent(double share) => double.IsNaN(share) ? "n/a" : F($"{100 * share:F1}");

    private static string F(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
