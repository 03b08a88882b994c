using System.Diagnostics;

namespace StepWiser.ML.Tests.Infrastructure;

/// <summary>Runs the samples app (the CLI) in a child process, as a user would, and returns what it printed and its exit code.</summary>
internal static class SamplesApp
{
    /// <summary>The app's assembly (the tests reference it, so it is built beside them).</summary>
    public static string Dll { get; } = typeof(StepWiser.ML.Samples.Commands.Cli).Assembly.Location;

    /// <summary>
    /// Runs <c>dotnet app.dll args…</c> with the StepWiser API-key variables removed from its environment; a run past
    /// <paramref name="timeout"/> is killed and reported with exit code -1.
    /// </summary>
    public static (int Code, string Stdout, string Stderr) Run(IEnumerable<string> args, TimeSpan timeout)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Dll);
        foreach (var a in args) start.ArgumentList.Add(a);
        start.Environment.Remove("STEPWISER_OPENAI_API_KEY");
        start.Environment.Remove("STEPWISER_SERVE_API_KEY");
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            return (-1, stdout.Result, $"timed out (still running after {timeout.TotalSeconds:F0} s): " + stderr.Result);
        }
        return (process.ExitCode, stdout.Result, stderr.Result);
    }
}
