using StepWiser.ML.Annotation;
using StepWiser.ML.Judging;

namespace StepWiser.ML.Evaluation;

/// <summary>
/// The threshold <see cref="JudgeCalibration.ChooseThresholdAsync(IStepJudge, IReadOnlyList{StepwiseExample}, CancellationToken)"/> chose, and the
/// ProcessBench-style scores it gave on the labelled solutions it was chosen on.
/// </summary>
/// <param name="Threshold">Accept a step when its score is at least this.</param>
/// <param name="F1">F1 of the first-rejected step against each solution's first negative label at that threshold.</param>
/// <param name="ErrorAccuracy">Share of solutions with a negative label whose first rejected step is the first negative one.</param>
/// <param name="CorrectAccuracy">Share of all-positive solutions with no step rejected.</param>
/// <param name="DefaultF1">The same F1 at the judge's own verdicts (before calibration), for comparison.</param>
/// <param name="Solutions">Solutions it was chosen on.</param>
public sealed record ThresholdChoice(float Threshold, double F1, double ErrorAccuracy, double CorrectAccuracy, double DefaultF1, int Solutions);

/// <summary>
/// Chooses a judge's acceptance threshold on its step scores from <b>labelled solutions it did not train on</b> —
/// typically held-out Monte-Carlo labels, so no gold label is needed. A judge trained on balanced labels rejects more
/// than the label base rate, and a ProcessBench-style F1 needs every step of a correct solution accepted; the threshold
/// that maximises F1 on the labelled solutions (first rejected step = first negative label; none rejected for an
/// all-positive solution) moves the judge along its own score ranking without retraining it.
/// </summary>
public static class JudgeCalibration
{
    /// <summary>
    /// Scores every step of each solution up to its first negative label (one batched judge call per step index) and
    /// returns the threshold with the best F1 (ties: the one nearest 0.5; the threshold is the midpoint between two
    /// adjacent distinct scores, so it does not sit on a measured score).
    /// </summary>
    public static async Task<ThresholdChoice> ChooseThresholdAsync(IStepJudge judge, IReadOnlyList<StepwiseExample> solutions, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(judge);
        ArgumentNullException.ThrowIfNull(solutions);
        var firstNegative = solutions.Select((s, i) => s.Labels.Count == s.Completions.Count
            ? IndexOfFalse(s.Labels)
            : throw new ArgumentException($"solution {i} has {s.Completions.Count} steps but {s.Labels.Count} labels", nameof(solutions))).ToArray();
        if (!firstNegative.Any(f => f >= 0) || !firstNegative.Any(f => f < 0))
            throw new ArgumentException("calibration needs solutions with a negative label and solutions without one", nameof(solutions));
        // The steps that decide F1: up to and including each first negative (all steps of an all-positive solution).
        var judged = solutions.Select((s, i) => (s.Prompt, Chunks: (IReadOnlyList<string>)s.Completions.Take(firstNegative[i] < 0 ? s.Completions.Count : firstNegative[i] + 1).ToArray())).ToArray();
        var judgments = await StepJudging.JudgeSolutionsAsync(judge, judged, stopAtFirstNegative: false, cancellationToken).ConfigureAwait(false);
        var scores = judgments.Select(j => j.Scores.Select(x => float.IsNaN(x) ? 0f : x).ToArray()).ToArray();

        var defaults = Score(firstNegative, judgments.Select(j => IndexOfFalse(j.Verdicts)).ToArray());
        var distinct = scores.SelectMany(s => s).Distinct().Order().ToArray();
        var candidates = new List<float> { 0f };
        for (var k = 0; k + 1 < distinct.Length; k++) candidates.Add((distinct[k] + distinct[k + 1]) / 2);
        candidates.Add(MathF.BitIncrement(distinct[^1]));
        ThresholdChoice? best = null;
        foreach (var t in candidates)
        {
            var predicted = scores.Select(s => Array.FindIndex(s, x => x < t)).ToArray();
            var (f1, err, cor) = Score(firstNegative, predicted);
            if (best is null || f1 > best.F1 + 1e-12 || (Math.Abs(f1 - best.F1) <= 1e-12 && Math.Abs(t - 0.5f) < Math.Abs(best.Threshold - 0.5f)))
                best = new ThresholdChoice(t, f1, err, cor, defaults.F1, solutions.Count);
        }
        return best!;
    }

    /// <summary>The same judge, accepting a step when its score is at least <paramref name="threshold"/> (scores and rationales unchanged).</summary>
    public static IStepJudge WithThreshold(IStepJudge judge, float threshold)
    {
        ArgumentNullException.ThrowIfNull(judge);
        if (!(threshold >= 0 && threshold <= MathF.BitIncrement(1f))) throw new ArgumentOutOfRangeException(nameof(threshold), threshold, "must be in [0, 1]");
        return new ThresholdJudge(judge, threshold);
    }

    private static (double F1, double Error, double Correct) Score(int[] gold, int[] predicted)
    {
        var s = ProcessBenchMetrics.Compute(gold.Select((g, i) => ("held-out", g, predicted[i]))).Subsets[0];
        return (s.F1, s.ErrorAccuracy, s.CorrectAccuracy);
    }

    private static int IndexOfFalse(IReadOnlyList<bool> values)
    {
        for (var i = 0; i < values.Count; i++) if (!values[i]) return i;
        return -1;
    }

    private sealed class ThresholdJudge(IStepJudge inner, float threshold) : IStepJudge
    {
        public async Task<IReadOnlyList<StepVerdict>> JudgeStepsAsync(IReadOnlyList<JudgeInput> inputs, CancellationToken cancellationToken = default)
        {
            var verdicts = await inner.JudgeStepsAsync(inputs, cancellationToken).ConfigureAwait(false);
            return verdicts.Select(v => v with { Positive = v.Score >= threshold }).ToArray();
        }
    }
}
