// Headless runner for .NET Interactive C# notebooks: every code cell in order, in one in-process C# kernel with
// #r "nuget:..." and #i "nuget:<folder>" support. Prints outputs and displayed values as text; exits 1 naming the
// first cell that fails (compile error, exception, timeout), 2 on a usage error, 0 when every cell succeeded.
// Usage: StepWiser.ML.NotebookRunner <notebook.ipynb> [--timeout-seconds N]
// Cells run with the notebook's folder as the working directory, as in Jupyter.
using System.Diagnostics;
using Microsoft.CodeAnalysis;
using Microsoft.DotNet.Interactive;
using Microsoft.DotNet.Interactive.Commands;
using Microsoft.DotNet.Interactive.CSharp;
using Microsoft.DotNet.Interactive.Documents;
using Microsoft.DotNet.Interactive.Documents.Jupyter;
using Microsoft.DotNet.Interactive.Events;
using Microsoft.DotNet.Interactive.Formatting;
using Microsoft.DotNet.Interactive.PackageManagement;

if (args.Length is not (1 or 3) || !File.Exists(args[0]) || (args.Length == 3 && (args[1] != "--timeout-seconds" || !int.TryParse(args[2], out _))))
{
    Console.Error.WriteLine("usage: StepWiser.ML.NotebookRunner <notebook.ipynb> [--timeout-seconds N]");
    return 2;
}
var notebookPath = Path.GetFullPath(args[0]);
var timeout = TimeSpan.FromSeconds(args.Length == 3 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 600);

// While a cell runs the kernel redirects Console and reports writes as events; writing to Console from an event
// handler would feed itself forever, so the runner writes to the raw standard streams.
using var stdout = new StreamWriter(Console.OpenStandardOutput()) { AutoFlush = true };
using var stderr = new StreamWriter(Console.OpenStandardError()) { AutoFlush = true };
Formatter.DefaultMimeType = "text/plain";

var kernels = new KernelInfoCollection { new Microsoft.DotNet.Interactive.Documents.KernelInfo("csharp", "C#", ["c#", "C#", "cs"]) };
kernels.DefaultKernelName = "csharp";
InteractiveDocument notebook;
using (var stream = File.OpenRead(notebookPath)) notebook = Notebook.Read(stream, kernels);
Directory.SetCurrentDirectory(Path.GetDirectoryName(notebookPath)!);

// The same wiring as the dotnet-interactive tool's C# kernel: #r "nuget:", #i "nuget:" and the restore step.
var csharp = new CSharpKernel()
    .UseNugetDirective((kernel, references) =>
    {
        kernel.AddAssemblyReferences(references.SelectMany(r => r.AssemblyPaths));
        return Task.CompletedTask;
    })
    .UseKernelHelpers()
    .UseValueSharing();
using var composite = new CompositeKernel { DefaultKernelName = "csharp" };
composite.Add(csharp, ["c#", "C#"]);

var total = Stopwatch.StartNew();
var ran = 0;
for (var index = 0; index < notebook.Elements.Count; index++)
{
    var cell = notebook.Elements[index];
    var language = cell.KernelName ?? "csharp";
    if (language is "markdown" or "md" || string.IsNullOrWhiteSpace(cell.Contents)) continue;
    if (language is not ("csharp" or "c#" or "C#"))
    {
        stderr.WriteLine($"FAILED: cell {index}: unsupported kernel '{language}'");
        return 1;
    }
    stdout.WriteLine($"=== cell {index} ===");
    var clock = Stopwatch.StartNew();
    var errors = new List<string>();
    using var cancel = new CancellationTokenSource(timeout);
    using var subscription = composite.KernelEvents.Subscribe(new Observer(e =>
    {
        switch (e)
        {
            case StandardOutputValueProduced o: stdout.Write(Text(o)); break;
            case StandardErrorValueProduced o: stderr.Write(Text(o)); break;
            case ReturnValueProduced o: stdout.WriteLine($"[return] {Text(o)}"); break;
            case DisplayEvent o when o.Value is InstallPackagesMessage && Text(o).Contains("Installing", StringComparison.Ordinal): break; // restore progress
            case DisplayedValueProduced o: stdout.WriteLine($"[display] {Shorten(Text(o))}"); break;
            case DisplayedValueUpdated o: stdout.WriteLine($"[display] {Shorten(Text(o))}"); break;
            case ErrorProduced o: errors.Add(o.Message); break;
            case DiagnosticsProduced d: errors.AddRange(d.Diagnostics.Where(x => x.Severity == DiagnosticSeverity.Error).Select(x => x.ToString())); break;
            case CommandFailed f: errors.Add(f.Exception is null or CodeSubmissionCompilationErrorException ? f.Message : f.Exception.ToString()); break;
        }
    }));
    KernelCommandResult? result = null;
    try { result = await composite.SendAsync(new SubmitCode(cell.Contents, "csharp"), cancel.Token); }
    catch (Exception e) { errors.Add(e.ToString()); }
    if (cancel.IsCancellationRequested) errors.Add($"timed out after {timeout.TotalSeconds:F0} s");
    if (errors.Count == 0 && (result is null || !result.Events.OfType<CommandSucceeded>().Any(s => s.Command == result.Command)))
        errors.Add("the kernel did not report success");
    if (errors.Count > 0)
    {
        stderr.WriteLine($"FAILED: cell {index} of {Path.GetFileName(notebookPath)} after {clock.Elapsed.TotalSeconds:F1} s:");
        foreach (var error in errors.Distinct()) stderr.WriteLine("  " + error);
        stderr.WriteLine("--- cell source ---\n" + cell.Contents);
        return 1;
    }
    ran++;
    stdout.WriteLine($"--- cell {index} ok ({clock.Elapsed.TotalSeconds:F1} s)");
}
stdout.WriteLine($"notebook ok: {ran} code cells of {Path.GetFileName(notebookPath)} ran in {total.Elapsed.TotalSeconds:F1} s");
return 0;

static string Text(DisplayEvent e) =>
    e.FormattedValues.FirstOrDefault(v => v.MimeType == "text/plain")?.Value ?? e.FormattedValues.FirstOrDefault()?.Value ?? e.Value?.ToString() ?? "";

static string Shorten(string text) => text.Length <= 2000 ? text : text[..2000] + $"… ({text.Length} characters)";

internal sealed class Observer(Action<KernelEvent> onNext) : IObserver<KernelEvent>
{
    public void OnNext(KernelEvent value) => onNext(value);
    public void OnError(Exception error) { }
    public void OnCompleted() { }
}
