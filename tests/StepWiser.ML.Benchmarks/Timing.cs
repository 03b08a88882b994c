using System.Diagnostics;

/// <summary>Wall-clock timing shared by the benchmarks.</summary>
internal static class Timing
{
    /// <summary>Seconds of the first run (cold caches) and the best of the next <paramref name="repeats"/>.</summary>
    public static (double Cold, double Best) ColdAndBest(int repeats, Action action)
    {
        var first = Stopwatch.StartNew();
        action();
        var cold = first.Elapsed.TotalSeconds;
        var best = double.MaxValue;
        for (var i = 0; i < repeats; i++)
        {
            var clock = Stopwatch.StartNew();
            action();
            best = Math.Min(best, clock.Elapsed.TotalSeconds);
        }
        return (cold, best);
    }

    /// <summary>Best of <paramref name="repeats"/> runs after one warm-up run.</summary>
    public static double Best(int repeats, Action action) => ColdAndBest(repeats, action).Best;
}
