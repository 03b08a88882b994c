namespace StepWiser.ML.Worlds;

/// <summary>A closed range of accuracies, [<see cref="Min"/>, <see cref="Max"/>], both in [0, 1].</summary>
public sealed record AccuracyBand
{
    /// <summary>Creates the band [<paramref name="min"/>, <paramref name="max"/>].</summary>
    /// <param name="min">Lowest accuracy inside the band, in [0, 1].</param>
    /// <param name="max">Highest accuracy inside the band, in [<paramref name="min"/>, 1].</param>
    /// <exception cref="ArgumentOutOfRangeException">A bound is outside [0, 1] (or NaN), or <paramref name="min"/> exceeds <paramref name="max"/>.</exception>
    public AccuracyBand(double min, double max)
    {
        if (!(min is >= 0 and <= 1)) throw new ArgumentOutOfRangeException(nameof(min), min, "must be in [0, 1]");
        if (!(max is >= 0 and <= 1)) throw new ArgumentOutOfRangeException(nameof(max), max, "must be in [0, 1]");
        if (min > max) throw new ArgumentOutOfRangeException(nameof(min), min, $"must not exceed max ({max})");
        Min = min;
        Max = max;
    }

    /// <summary>Lowest accuracy inside the band.</summary>
    public double Min { get; }

    /// <summary>Highest accuracy inside the band.</summary>
    public double Max { get; }

    /// <summary>Whether <paramref name="accuracy"/> lies in [<see cref="Min"/>, <see cref="Max"/>].</summary>
    public bool Contains(double accuracy) => accuracy >= Min && accuracy <= Max;

    /// <inheritdoc/>
    public override string ToString() => $"[{Min:P0}, {Max:P0}]";
}
