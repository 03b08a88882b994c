namespace StepWiser.ML.Annotation;

/// <summary>
/// Balances labelled examples to 50/50 by down-sampling the majority class at random (seeded), as the paper found
/// essential: without it an RL judge learns to say Positive and collapses. Order of the kept items is preserved.
/// </summary>
public static class LabelBalancer
{
    /// <summary>The items, with the majority class down-sampled to the size of the minority class.</summary>
    public static IReadOnlyList<T> Balance<T>(IReadOnlyList<T> items, Func<T, bool> label, int seed = 0)
    {
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(label);
        var positives = Enumerable.Range(0, items.Count).Where(i => label(items[i])).ToArray();
        var negatives = Enumerable.Range(0, items.Count).Where(i => !label(items[i])).ToArray();
        var (minority, majority) = positives.Length <= negatives.Length ? (positives, negatives) : (negatives, positives);
        var random = new Random(seed);
        var kept = majority.OrderBy(_ => random.Next()).Take(minority.Length).Concat(minority).Order().ToArray();
        return kept.Select(i => items[i]).ToArray();
    }
}
