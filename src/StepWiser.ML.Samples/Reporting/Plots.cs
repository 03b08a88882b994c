using ScottPlot;

namespace StepWiser.ML.Samples.Reporting;

/// <summary>One named series of a line chart.</summary>
internal sealed record Series(string Name, IReadOnlyList<double> X, IReadOnlyList<double> Y);

/// <summary>One labelled point of a scatter chart.</summary>
internal sealed record LabelledPoint(string Label, double X, double Y);

/// <summary>PNG charts of the main job (ScottPlot, rendered headless by SkiaSharp; no display needed).</summary>
internal static class Plots
{
    private const int Width = 900;
    private const int Height = 540;

    /// <summary>A line chart with one line per series and a legend.</summary>
    public static void Lines(string path, string title, string xLabel, string yLabel, IEnumerable<Series> series, double? yMin = null, double? yMax = null)
    {
        var plot = new Plot();
        foreach (var s in series)
        {
            if (s.X.Count == 0) continue;
            var line = plot.Add.Scatter(s.X.ToArray(), s.Y.ToArray());
            line.LegendText = s.Name;
            line.MarkerSize = s.X.Count > 40 ? 0 : 5;
            line.LineWidth = 2;
        }
        Finish(plot, path, title, xLabel, yLabel, yMin, yMax);
    }

    /// <summary>A scatter chart of labelled points (one colour and legend entry per point).</summary>
    public static void Points(string path, string title, string xLabel, string yLabel, IEnumerable<LabelledPoint> points, double? yMin = null, double? yMax = null)
    {
        var plot = new Plot();
        foreach (var p in points)
        {
            var marker = plot.Add.Marker(p.X, p.Y);
            marker.LegendText = p.Label;
            marker.MarkerSize = 12;
        }
        Finish(plot, path, title, xLabel, yLabel, yMin, yMax);
    }

    /// <summary>A moving average (window <paramref name="window"/>, shorter at the start) to read noisy RL curves.</summary>
    public static IReadOnlyList<double> Smooth(IReadOnlyList<double> values, int window)
    {
        var result = new double[values.Count];
        for (var i = 0; i < values.Count; i++)
        {
            var from = Math.Max(0, i - window + 1);
            var sum = 0.0;
            for (var j = from; j <= i; j++) sum += values[j];
            result[i] = sum / (i - from + 1);
        }
        return result;
    }

    private static void Finish(Plot plot, string path, string title, string xLabel, string yLabel, double? yMin, double? yMax)
    {
        plot.Title(title);
        plot.XLabel(xLabel);
        plot.YLabel(yLabel);
        plot.ShowLegend(Edge.Right);
        plot.Axes.AutoScale();
        if (yMin is not null || yMax is not null)
        {
            var limits = plot.Axes.GetLimits();
            plot.Axes.SetLimitsY(yMin ?? limits.Bottom, yMax ?? limits.Top);
        }
        var directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (directory is not null) Directory.CreateDirectory(directory);
        plot.SavePng(path, Width, Height);
    }
}
