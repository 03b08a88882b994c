namespace StepWiser.ML.Evaluation;

/// <summary>
/// Per-step accuracy of verdicts against labels: plain accuracy, and balanced accuracy (the mean of the accuracies on
/// positive and on negative steps; undefined (NaN) when either class is absent, since it would then be a plain accuracy
/// under another name).
/// </summary>
/// <param name="Accuracy">Share of steps whose verdict equals the label.</param>
/// <param name="Balanced">Mean of the true-positive and true-negative rates.</param>
/// <param name="PositiveAccuracy">Share of positive steps judged positive (NaN without positives).</param>
/// <param name="NegativeAccuracy">Share of negative steps judged negative (NaN without negatives).</param>
/// <param name="Count">Number of steps.</param>
public sealed record StepAccuracy(double Accuracy, double Balanced, double PositiveAccuracy, double NegativeAccuracy, int Count)
{
    /// <summary>Computes the accuracies of <paramref name="predicted"/> against <paramref name="labels"/> (same length).</summary>
    public static StepAccuracy Compute(IReadOnlyList<bool> labels, IReadOnlyList<bool> predicted)
    {
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(predicted);
        if (labels.Count != predicted.Count) throw new ArgumentException($"{labels.Count} labels but {predicted.Count} verdicts");
        if (labels.Count == 0) return new StepAccuracy(double.NaN, double.NaN, double.NaN, double.NaN, 0);
        int right = 0, positives = 0, truePositives = 0, trueNegatives = 0;
        for (var i = 0; i < labels.Count; i++)
        {
            if (labels[i] == predicted[i]) right++;
            if (labels[i]) { positives++; if (predicted[i]) truePositives++; }
            else if (!predicted[i]) trueNegatives++;
        }
        var negatives = labels.Count - positives;
        var tpr = positives == 0 ? double.NaN : truePositives / (double)positives;
        var tnr = negatives == 0 ? double.NaN : trueNegatives / (double)negatives;
        var balanced = (tpr + tnr) / 2;   // NaN when a class is absent
        return new StepAccuracy(right / (double)labels.Count, balanced, tpr, tnr, labels.Count);
    }
}
