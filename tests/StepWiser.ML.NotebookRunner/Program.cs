// Headless runner for .NET Interactive C# notebooks: every code cell in order, in one in-process C# kernel with
// #r "nuget:..." and #i "nuget:<folder>" support. Prints outputs and displayed values as text; exits 1 naming the
// first cell that fails (compile error, exception, timeout), 2 on a usage error, 0 when every cell succeeded.
// Usage: StepWiser.ML.NotebookRunner <notebook.ipynb> [--timeout-seconds N] [--outputs-into <notebook.ipynb>]
// Cells run with the notebook's folder as the working directory, as in Jupyter. With --outputs-into, after every cell
// succeeded, each code cell's outputs (its standard output, displayed values and return value, in every MIME type the
// formatter gave) are written into that notebook's cell of the same index, which must have the same cells; its sources
// are left as they are (so a notebook run against a build's feed saves its outputs into the committed one).
using System.Diagnostics;
using System.Text.Json.Nodes;
using Microsoft.CodeAnalysis;
using Microsoft.DotNet.Interactive;
using Microsoft.DotNet.Interactive.Commands;
using Microsoft.DotNet.Interactive.CSharp;
using Microsoft.DotNet.Interactive.Documents;
using Microsoft.DotNet.Interactive.Documents.Jupyter;
using Microsoft.DotNet.Interactive.Events;
using Microsoft.DotNet.Interactive.Formatting;
using Microsoft.DotNet.Interactive.PackageManagement;

string? outputsInto = null;
var timeoutSeconds = 600;
var usage = args.Length == 0 || !File.Exists(args[0]);
for (var a = 1; a < args.Length && !usage; a += 2)
{
    if (a + 1 >= args.Length) usage = true;
    else if (args[a] == "--timeout-seconds" && int.TryParse(args[a + 1], System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var seconds) && seconds > 0) timeoutSeconds = seconds;
    else if (args[a] == "--outputs-into" && File.Exists(args[a + 1])) outputsInto = Path.GetFullPath(args[a + 1]);
    else usage = true;
}
if (usage)
{
    Console.Error.WriteLine("usage: StepWiser.ML.NotebookRunner <notebook.ipynb> [--timeout-seconds N] [--outputs-into <existing notebook.ipynb>]");
    return 2;
}
var notebookPath = Path.GetFullPath(args[0]);
var timeout = TimeSpan.FromSeconds(timeoutSeconds);

// While a cell runs the kernel redirects Console and reports writes as events; writing to Console from an event
// handler would feed itself forever, so the runner writes to the raw standard streams.
using var stdout = new StreamWriter(Console.OpenStandardOutput()) { AutoFlush = true };
using var stderr = new StreamWriter(Console.OpenStandardError()) { AutoFlush = true };
// Text on the console; a notebook that saves its outputs keeps HTML too (tables, images), as Polyglot Notebooks shows them.
Formatter.DefaultMimeType = outputsInto is null ? "text/plain" : "text/html";

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
var saved = new Dictionary<int, List<JsonObject>>();
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
    var outputs = saved[index] = [];
    var count = ran + 1;
    void Keep(string stream, string text)
    {
        if (outputs.Count > 0 && outputs[^1]["output_type"]?.GetValue<string>() == "stream" && outputs[^1]["name"]?.GetValue<string>() == stream)
            outputs[^1]["text"] = outputs[^1]["text"]!.GetValue<string>() + text;
        else outputs.Add(new JsonObject { ["output_type"] = "stream", ["name"] = stream, ["text"] = text });
    }
    void KeepValue(DisplayEvent e, bool result)
    {
        var data = new JsonObject();
        foreach (var v in e.FormattedValues) data[v.MimeType] = v.Value;
        // An image shown as HTML (<img src="data:image/png;base64,…">) is saved as image/png too, which every viewer renders.
        foreach (var v in e.FormattedValues)
            if (Patterns.EmbeddedPng().Match(v.Value) is { Success: true } png) data["image/png"] = png.Groups[1].Value;
        if (data.Count == 0) data["text/plain"] = e.Value?.ToString() ?? "";
        var output = new JsonObject { ["output_type"] = result ? "execute_result" : "display_data", ["data"] = data, ["metadata"] = new JsonObject() };
        if (result) output["execution_count"] = count;
        outputs.Add(output);
    }
    using var cancel = new CancellationTokenSource(timeout);
    using var subscription = composite.KernelEvents.Subscribe(new Observer(e =>
    {
        switch (e)
        {
            case StandardOutputValueProduced o: stdout.Write(Text(o)); Keep("stdout", Text(o)); break;
            case StandardErrorValueProduced o: stderr.Write(Text(o)); Keep("stderr", Text(o)); break;
            case ReturnValueProduced o: stdout.WriteLine($"[return] {Text(o)}"); KeepValue(o, result: true); break;
            case DisplayEvent o when o.Value is InstallPackagesMessage && Text(o).Contains("Installing", StringComparison.Ordinal): break; // restore progress
            case DisplayedValueProduced o when o.Value is InstallPackagesMessage: stdout.WriteLine($"[display] {Shorten(Text(o))}"); break; // the restore's sources and versions: not saved
            case DisplayedValueProduced o: stdout.WriteLine($"[display] {Shorten(Text(o))}"); KeepValue(o, result: false); break;
            case DisplayedValueUpdated o: stdout.WriteLine($"[display] {Shorten(Text(o))}"); if (o.Value is not InstallPackagesMessage) KeepValue(o, result: false); break;
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
if (outputsInto is not null)
{
    var target = JsonNode.Parse(File.ReadAllText(outputsInto))!.AsObject();
    var cells = target["cells"]!.AsArray();
    if (cells.Count != notebook.Elements.Count)
    {
        stderr.WriteLine($"FAILED: {outputsInto} has {cells.Count} cells, the notebook run has {notebook.Elements.Count}; outputs not written");
        return 1;
    }
    var number = 0;
    for (var i = 0; i < cells.Count; i++)
    {
        var cell = cells[i]!.AsObject();
        if (cell["cell_type"]?.GetValue<string>() != "code") continue;
        cell["execution_count"] = saved.ContainsKey(i) ? ++number : null;
        cell["outputs"] = new JsonArray(saved.TryGetValue(i, out var list) ? list.Select(o => (JsonNode)o).ToArray() : []);
    }
    var temporary = outputsInto + ".partial";
    File.WriteAllText(temporary, target.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true, IndentSize = 1, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }) + "\n");
    File.Move(temporary, outputsInto, overwrite: true);
    stdout.WriteLine($"outputs of {number} code cells written into {outputsInto}");
}
return 0;

static string Text(DisplayEvent e) =>
    e.FormattedValues.FirstOrDefault(v => v.MimeType == "text/plain")?.Value ?? e.FormattedValues.FirstOrDefault()?.Value ?? e.Value?.ToString() ?? "";

static string Shorten(string text) => text.Length <= 2000 ? text : text[..2000] + $"… ({text.Length} characters)";

internal static partial class Patterns
{
    [System.Text.RegularExpressions.GeneratedRegex("^\\s*<img src=\"data:image/png;base64,([A-Za-z0-9+/=]+)\"\\s*/?>\\s*$")]
    public static partial System.Text.RegularExpressions.Regex EmbeddedPng();
}

internal sealed class Observer(Action<KernelEvent> onNext) : IObserver<KernelEvent>
{
    public void OnNext(KernelEvent value) => onNext(value);
    public void OnError(Exception error) { }
    public void OnCompleted() { }
}
