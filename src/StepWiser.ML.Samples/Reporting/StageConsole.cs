using System.Diagnostics;
using System.Globalization;
using Spectre.Console;

namespace StepWiser.ML.Samples.Reporting;

/// <summary>
/// Console output of a long job: timestamped stage lines and, for every long stage, a live progress bar with rate and
/// ETA (Spectre.Console) when the console is interactive. When the output is redirected (CI logs, files, tests) the
/// bar becomes plain lines at every tenth of the work, each with the same rate and ETA, so logs stay readable.
/// </summary>
internal sealed class StageConsole
{
    private readonly Stopwatch _clock = Stopwatch.StartNew();

    /// <summary>Creates the console; <paramref name="interactive"/> overrides detection (tests force plain lines).</summary>
    public StageConsole(bool? interactive = null) =>
        Interactive = interactive ?? (!Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive);

    /// <summary>Whether live bars are drawn.</summary>
    public bool Interactive { get; }

    /// <summary>Time since the job started.</summary>
    public TimeSpan Elapsed => _clock.Elapsed;

    private readonly System.Text.StringBuilder _log = new();

    /// <summary>Every stage's start and duration so far, one Markdown list item each ("- [mm:ss] stage (took mm:ss)").</summary>
    public string Log => _log.ToString();

    /// <summary>A timestamped line.</summary>
    public void Line(string text) => Console.WriteLine($"[{Stamp(_clock.Elapsed)}] {text}");

    /// <summary>Runs <paramref name="work"/> with a bar of <paramref name="total"/> units named <paramref name="unit"/>.</summary>
    public T Run<T>(string description, double total, string unit, Func<IStageBar, T> work) =>
        RunAsync(description, total, unit, bar => Task.FromResult(work(bar))).GetAwaiter().GetResult();

    /// <summary>Runs <paramref name="work"/> with a bar of <paramref name="total"/> units named <paramref name="unit"/>.</summary>
    public async Task<T> RunAsync<T>(string description, double total, string unit, Func<IStageBar, Task<T>> work)
    {
        var start = _clock.Elapsed;
        try
        {
            return await RunStageAsync(description, total, unit, work).ConfigureAwait(false);
        }
        finally
        {
            _log.Append(CultureInfo.InvariantCulture, $"- [{Stamp(start)}] {description} (took {Stamp(_clock.Elapsed - start)})\n");
        }
    }

    private async Task<T> RunStageAsync<T>(string description, double total, string unit, Func<IStageBar, Task<T>> work)
    {
        Line(description + " ...");
        if (!Interactive)
        {
            var plain = new PlainBar(this, description, total, unit);
            var plainResult = await work(plain).ConfigureAwait(false);
            plain.Finish();
            return plainResult;
        }
        T result = default!;
        await AnsiConsole.Progress()
            .AutoClear(false)
            .HideCompleted(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .StartAsync(async context =>
            {
                var task = context.AddTask(Markup.Escape(description), maxValue: Math.Max(total, 1e-9));
                var bar = new LiveBar(task, description, unit);
                result = await work(bar).ConfigureAwait(false);
                task.Value = task.MaxValue;
                task.StopTask();
            }).ConfigureAwait(false);
        return result;
    }

    private static string Stamp(TimeSpan t) => t.TotalHours >= 1 ? t.ToString(@"h\:mm\:ss", CultureInfo.InvariantCulture) : t.ToString(@"mm\:ss", CultureInfo.InvariantCulture);

    private static string Rate(double done, TimeSpan elapsed, string unit) =>
        elapsed.TotalSeconds > 0 ? string.Create(CultureInfo.InvariantCulture, $"{done / elapsed.TotalSeconds:0.##} {unit}/s") : "";

    private sealed class LiveBar(ProgressTask task, string description, string unit) : IStageBar
    {
        private readonly Stopwatch _clock = Stopwatch.StartNew();

        public void Report(double done, string? detail = null)
        {
            task.Value = Math.Min(done, task.MaxValue);
            var text = $"{description} · {Rate(done, _clock.Elapsed, unit)}" + (detail is null ? "" : " · " + detail);
            task.Description = Markup.Escape(text);
        }
    }

    private sealed class PlainBar(StageConsole console, string description, double total, string unit) : IStageBar
    {
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private int _printedTenths;

        public void Report(double done, string? detail = null)
        {
            var tenths = total <= 0 ? 10 : (int)Math.Floor(10 * Math.Min(done, total) / total);
            if (tenths <= _printedTenths) return;
            _printedTenths = tenths;
            var elapsed = _clock.Elapsed;
            var eta = done > 0 && done < total ? TimeSpan.FromSeconds(elapsed.TotalSeconds * (total - done) / done) : TimeSpan.Zero;
            console.Line(string.Create(CultureInfo.InvariantCulture,
                $"  {description}: {done:0.##}/{total:0.##} {unit} ({100 * done / Math.Max(total, 1e-9):0}%), {Rate(done, elapsed, unit)}, ETA {Stamp(eta)}") + (detail is null ? "" : $", {detail}"));
        }

        public void Finish()
        {
            if (_printedTenths < 10) console.Line($"  {description}: done in {Stamp(_clock.Elapsed)}");
        }
    }
}

/// <summary>The bar of one stage: how many units are done, and an optional detail (loss, reward, …).</summary>
internal interface IStageBar
{
    /// <summary>Reports progress.</summary>
    void Report(double done, string? detail = null);
}
