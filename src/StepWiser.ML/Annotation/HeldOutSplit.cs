namespace StepWiser.ML.Annotation;

/// <summary>
/// A held-out split by prompt: every n-th distinct prompt (in order of first appearance, starting with the first) and
/// all its solutions are held out, so no judge trains on a problem whose held-out labels it is checked against.
/// </summary>
public static class HeldOutSplit
{
    /// <summary>Splits <paramref name="items"/> by the prompt <paramref name="promptOf"/> gives, holding out every <paramref name="every"/>-th prompt.</summary>
    /// <returns>The training items and the held-out items, each in input order.</returns>
    public static (IReadOnlyList<T> Train, IReadOnlyList<T> HeldOut) EveryNthPrompt<T>(IReadOnlyList<T> items, Func<T, string> promptOf, int every)
    {
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(promptOf);
        ArgumentOutOfRangeException.ThrowIfLessThan(every, 1);
        var heldOut = items.Select(promptOf).Distinct(StringComparer.Ordinal).Where((_, i) => i % every == 0).ToHashSet(StringComparer.Ordinal);
        return (items.Where(x => !heldOut.Contains(promptOf(x))).ToArray(), items.Where(x => heldOut.Contains(promptOf(x))).ToArray());
    }
}
