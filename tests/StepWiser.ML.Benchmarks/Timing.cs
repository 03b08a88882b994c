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

    /// <summary>
    /// Two measurements alternated <paramref name="rounds"/> times (first, second, first, …), so that a load that comes
    /// and goes on a shared machine meets both sides alike: each side's best over the rounds, and every round's pair.
    /// </summary>
    public static (double First, double Second, IReadOnlyList<(double First, double Second)> Rounds) Alternate(int rounds, Func<double> first, Func<double> second)
    {
        var each = new List<(double, double)>();
        for (var round = 0; round < rounds; round++) each.Add((first(), second()));
        return (each.Min(r => r.Item1), each.Min(r => r.Item2), each);
    }
}

/// <summary>The <c>--dtype</c> option of the benchmarks.</summary>
internal static class DTypeOption
{
    /// <summary>float32, bfloat16 or float16; anything else is an error naming the option.</summary>
    public static TorchSharp.torch.ScalarType Parse(string name) => name switch
    {
        "float32" => TorchSharp.torch.ScalarType.Float32,
        "bfloat16" => TorchSharp.torch.ScalarType.BFloat16,
        "float16" => TorchSharp.torch.ScalarType.Float16,
        _ => throw new ArgumentException($"--dtype {name}: expected float32, bfloat16 or float16"),
    };
}
