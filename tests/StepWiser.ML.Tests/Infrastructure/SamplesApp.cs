using System.Diagnostics;

namespace StepWiser.ML.Tests.Infrastructure;

/// <summary>Runs the samples app (the CLI) in a child process, as a user would, and returns what it printed and its exit code.</summary>
internal static class SamplesApp
{
    /// <summary>The app's assembly (the tests reference it, so it is built beside them).</summary>
    public static string Dll { get; } = typeof(StepWiser.ML.Samples.Commands.Cli).Assembly.Location;

    /// <summary>
    /// Runs <c>dotnet app.dll args…</c> with the StepWiser API-key variables removed from its environment (and
    /// <paramref name="environment"/> added); a run past <paramref name="timeout"/> is killed and reported with exit code -1.
    /// </summary>
    public static (int Code, string Stdout, string Stderr) Run(IEnumerable<string> args, TimeSpan timeout, IReadOnlyDictionary<string, string>? environment = null, string? workingDirectory = null)
    {
        using var process = Process.Start(StartInfo(args, environment, workingDirectory))!;
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

    /// <summary>Starts the app in the background (a server, or a run to be watched); disposing the handle kills it.</summary>
    public static Running Start(IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment = null, string? workingDirectory = null) =>
        new(Process.Start(StartInfo(args, environment, workingDirectory))!);

    private static ProcessStartInfo StartInfo(IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment, string? workingDirectory)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        if (workingDirectory is not null) start.WorkingDirectory = workingDirectory;
        start.ArgumentList.Add(Dll);
        foreach (var a in args) start.ArgumentList.Add(a);
        start.Environment.Remove("STEPWISER_OPENAI_API_KEY");
        start.Environment.Remove("STEPWISER_SERVE_API_KEY");
        foreach (var (name, value) in environment ?? new Dictionary<string, string>()) start.Environment[name] = value;
        return start;
    }

    /// <summary>A background run of the app: its output lines as they come, its end, and a kill on dispose.</summary>
    public sealed class Running : IDisposable
    {
        private readonly List<string> _stdout = [];
        private readonly List<string> _stderr = [];
        private readonly Lock _lock = new();

        internal Running(Process process)
        {
            Process = process;
            process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (_lock) _stdout.Add(e.Data); };
            process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_lock) _stderr.Add(e.Data); };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
        }

        /// <summary>The child process.</summary>
        public Process Process { get; }

        /// <summary>What it printed to stdout so far.</summary>
        public string Stdout { get { lock (_lock) return string.Join('\n', _stdout); } }

        /// <summary>What it printed to stderr so far.</summary>
        public string Stderr { get { lock (_lock) return string.Join('\n', _stderr); } }

        /// <summary>Waits for a line (stdout or stderr) matching <paramref name="match"/>; fails the test with the output when none comes in time or the app ends.</summary>
        public string WaitForLine(Func<string, bool> match, TimeSpan timeout)
        {
            var clock = Stopwatch.StartNew();
            while (clock.Elapsed < timeout)
            {
                lock (_lock)
                    if (_stdout.Concat(_stderr).FirstOrDefault(match) is { } line) return line;
                if (Process.HasExited)
                {
                    Process.WaitForExit();
                    lock (_lock)
                        if (_stdout.Concat(_stderr).FirstOrDefault(match) is { } line) return line;
                    break;
                }
                Thread.Sleep(50);
            }
            throw new AssertFailedException($"no such line within {timeout.TotalSeconds:F0} s (exited: {Process.HasExited}); stdout:\n{Stdout}\nstderr:\n{Stderr}");
        }

        /// <summary>Waits for the app to end; -1 when it is still running after <paramref name="timeout"/> (then it is killed).</summary>
        public int WaitForExit(TimeSpan timeout)
        {
            if (!Process.WaitForExit(timeout))
            {
                Kill();
                return -1;
            }
            Process.WaitForExit();
            return Process.ExitCode;
        }

        /// <summary>Kills the app (SIGKILL) if it is still running.</summary>
        public void Kill()
        {
            if (Process.HasExited) return;
            Process.Kill(entireProcessTree: true);
            Process.WaitForExit();
        }

        /// <inheritdoc />
        public void Dispose()
        {
            Kill();
            Process.Dispose();
        }
    }
}
