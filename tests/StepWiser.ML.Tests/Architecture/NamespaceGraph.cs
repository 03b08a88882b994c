using System.Text;
using System.Text.RegularExpressions;

namespace StepWiser.ML.Tests.Architecture;

/// <summary>
/// Which namespace of the library uses which, read from the sources: a file in namespace <c>StepWiser.ML.A</c> uses
/// <c>StepWiser.ML.B</c> when it imports it (<c>using</c>, <c>using static</c>), names it in full, or names a type
/// through it (<c>B.Type</c>, as code inside <c>StepWiser.ML</c> may). Doc-comment references count: they are compile
/// dependencies too. Shared by the architecture tests and <c>--suite namespaces</c>, which prints the graph that
/// docs/architecture.md shows.
/// </summary>
internal sealed class NamespaceGraph
{
    public const string Root = "StepWiser.ML";

    private NamespaceGraph(SortedDictionary<string, SortedSet<string>> edges) => Edges = edges;

    /// <summary>Namespace (without the root prefix; "" for the root) → the namespaces it uses.</summary>
    public SortedDictionary<string, SortedSet<string>> Edges { get; }

    public static NamespaceGraph FromSources(params string[] libraryDirectories)
    {
        var files = libraryDirectories.SelectMany(d => Directory.EnumerateFiles(d, "*.cs", SearchOption.AllDirectories))
            .Where(f => !f.Split(Path.DirectorySeparatorChar).Any(p => p is "bin" or "obj")).ToArray();
        var ofFile = files.ToDictionary(f => f, f => Regex.Match(File.ReadAllText(f), @"^namespace (StepWiser\.ML(?:\.\w+)*)\s*;", RegexOptions.Multiline) is { Success: true } m ? Short(m.Groups[1].Value) : null);
        var names = ofFile.Values.Where(n => !string.IsNullOrEmpty(n)).Select(n => n!).ToHashSet(StringComparer.Ordinal);
        var edges = new SortedDictionary<string, SortedSet<string>>(StringComparer.Ordinal);
        foreach (var n in names.Append("")) edges[n] = new SortedSet<string>(StringComparer.Ordinal);
        var partial = new Regex(@"(?<![\w.])(" + string.Join("|", names.Select(Regex.Escape)) + @")\.[A-Z]\w*", RegexOptions.Compiled);
        foreach (var (file, own) in ofFile)
        {
            if (own is null) continue;
            var text = File.ReadAllText(file);
            var used = new HashSet<string>(StringComparer.Ordinal);
            foreach (Match m in Regex.Matches(text, @"\bStepWiser\.ML\.(\w+)")) used.Add(m.Groups[1].Value);
            foreach (Match m in partial.Matches(text)) used.Add(m.Groups[1].Value);
            foreach (var u in used.Where(names.Contains).Where(u => u != own)) edges[own].Add(u);
        }
        return new NamespaceGraph(edges);
    }

    /// <summary>The namespaces on a dependency cycle, as "A → B → A" lines (none when the graph is acyclic).</summary>
    public IReadOnlyList<string> Cycles()
    {
        var cycles = new List<string>();
        var state = new Dictionary<string, int>();   // 1: on the path, 2: done
        var path = new List<string>();
        void Visit(string n)
        {
            state[n] = 1;
            path.Add(n);
            foreach (var m in Edges.GetValueOrDefault(n) ?? [])
            {
                if (state.GetValueOrDefault(m) == 1) cycles.Add(string.Join(" → ", path.Skip(path.IndexOf(m)).Append(m).Select(Display)));
                else if (state.GetValueOrDefault(m) == 0) Visit(m);
            }
            path.RemoveAt(path.Count - 1);
            state[n] = 2;
        }
        foreach (var n in Edges.Keys) if (state.GetValueOrDefault(n) == 0) Visit(n);
        return cycles;
    }

    /// <summary>The graph as a Mermaid flowchart, one edge per line, sorted (what docs/architecture.md embeds).</summary>
    public string ToMermaid()
    {
        var text = new StringBuilder("```mermaid\nflowchart TD\n");
        foreach (var n in Edges.Keys) text.Append("  ").Append(n.Length == 0 ? "Root[\"StepWiser.ML (catalog)\"]" : n).Append('\n');
        foreach (var (from, tos) in Edges)
            foreach (var to in tos) text.Append("  ").Append(Id(from)).Append(" --> ").Append(Id(to)).Append('\n');
        return text.Append("```\n").ToString();
    }

    private static string Id(string n) => n.Length == 0 ? "Root" : n;

    private static string Display(string n) => n.Length == 0 ? Root : Root + "." + n;

    private static string Short(string ns) => ns == Root ? "" : ns[(Root.Length + 1)..];
}
