using System.Reflection;
using System.Text;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using StepWiser.ML.Tests.Infrastructure;

namespace StepWiser.ML.Tests.Architecture;

/// <summary>
/// The API reference of docs/api/, generated from the library's public types and its XML documentation file: an index
/// of namespaces, then one page per namespace with every public type's summary and its documented public members
/// (signature as the XML documentation names it, summary, parameters, returns). Nothing in it is written by hand.
/// </summary>
internal static partial class ApiReference
{
    private const BindingFlags Declared = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;

    /// <summary>The pages: file name (relative to docs/api/) → text.</summary>
    public static SortedDictionary<string, string> Pages(IReadOnlyList<Assembly> assemblies)
    {
        var docs = assemblies.SelectMany(a => XDocument.Load(Path.ChangeExtension(a.Location, ".xml")).Root!.Element("members")!.Elements("member"))
            .GroupBy(m => m.Attribute("name")!.Value, StringComparer.Ordinal)      // generated helpers (regex) appear in both
            .ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
        var pages = new SortedDictionary<string, string>(StringComparer.Ordinal);
        var types = assemblies.SelectMany(a => a.GetExportedTypes()).OrderBy(t => t.FullName, StringComparer.Ordinal).ToArray();
        var names = string.Join(" and ", assemblies.Select(a => $"`{a.GetName().Name}`"));
        var approved = string.Join(" and ", assemblies.Select(a => $"`tests/StepWiser.ML.Tests/Architecture/{a.GetName().Name}.approved.txt`"));
        var index = new StringBuilder($"# API reference\n\nGenerated from the public types of the packages {names} and their XML documentation (the same text the\nIDE shows); regenerated and checked by `ApiReferenceTests`. The approved lists of every public member, with its\ndefaults, are {approved}.\n\n| namespace | package | public types |\n|---|---|---|\n");
        foreach (var group in types.GroupBy(t => t.Namespace ?? "").OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            var file = group.Key + ".md";
            index.Append(System.Globalization.CultureInfo.InvariantCulture, $"| [{group.Key}]({file}) | {group.First().Assembly.GetName().Name} | {group.Count()} |\n");
            var page = new StringBuilder($"# {group.Key}\n\n[API reference](README.md)\n");
            foreach (var type in group)
            {
                var typeId = "T:" + type.FullName!.Replace('+', '.');
                page.Append("\n## ").Append(Kind(type)).Append(' ').Append(DisplayName(type)).Append("\n\n");
                if (docs.TryGetValue(typeId, out var typeDoc)) AppendDoc(page, typeDoc);
                if (type.IsEnum)
                {
                    foreach (var name in Enum.GetNames(type))
                    {
                        page.Append("- `").Append(name).Append('`');
                        if (docs.TryGetValue($"F:{typeId[2..]}.{name}", out var f)) page.Append(": ").Append(Text(f.Element("summary")));
                        page.Append('\n');
                    }
                    continue;
                }
                var publicNames = PublicMemberNames(type);
                var prefix = typeId[2..] + ".";
                foreach (var (id, member) in docs.Where(d => d.Key.Length > 2 && d.Key[2..].StartsWith(prefix, StringComparison.Ordinal)).OrderBy(d => d.Key, StringComparer.Ordinal))
                {
                    var rest = id[(2 + prefix.Length)..];
                    var name = rest.Split('(')[0];
                    if (name.Contains('.', StringComparison.Ordinal) && !name.StartsWith('#')) continue;          // a nested type's member, or an explicit implementation
                    var bare = name.Split('`')[0];
                    if (!publicNames.Contains(bare)) continue;
                    page.Append("\n### `").Append(Signature(id[0], type, rest)).Append("`\n\n");
                    AppendDoc(page, member);
                }
            }
            pages[file] = BlankLines().Replace(page.ToString(), "\n\n");
        }
        pages["README.md"] = index.ToString();
        return pages;
    }

    private static string Kind(Type type) =>
        type.IsEnum ? "enum" : type.IsInterface ? "interface" : PublicApi.IsRecord(type) ? "record" : type.IsValueType ? "struct" : type.IsAbstract && type.IsSealed ? "static class" : "class";

    private static string DisplayName(Type type)
    {
        var name = type.IsNested ? DisplayName(type.DeclaringType!) + "." + type.Name : type.Name;
        var tick = name.IndexOf('`', StringComparison.Ordinal);
        return tick < 0 ? name : name[..tick] + "<" + string.Join(", ", type.GetGenericArguments().Select(a => a.Name)) + ">";
    }

    /// <summary>Names of the type's public and protected members (constructors as <c>#ctor</c>).</summary>
    private static HashSet<string> PublicMemberNames(Type type) =>
        type.GetMembers(Declared).Where(PublicApi.IsVisible).Select(m => m is ConstructorInfo ? "#ctor" : m.Name).ToHashSet(StringComparer.Ordinal);

    /// <summary>A member's signature from its documentation ID: parameter types without their namespaces.</summary>
    private static string Signature(char kind, Type type, string rest)
    {
        var open = rest.IndexOf('(', StringComparison.Ordinal);
        var name = open < 0 ? rest : rest[..open];
        name = name == "#ctor" ? DisplayName(type).Split('<')[0] : GenericArity().Replace(name, "");
        var prefix = kind switch { 'P' => "property ", 'F' => "field ", 'E' => "event ", _ => "" };
        if (open < 0) return prefix + name + (kind == 'M' ? "()" : "");
        var parameters = rest[(open + 1)..rest.LastIndexOf(')')];
        return prefix + name + "(" + Namespaces().Replace(parameters.Replace("{", "<", StringComparison.Ordinal).Replace("}", ">", StringComparison.Ordinal), "").Replace(",", ", ", StringComparison.Ordinal) + ")";
    }

    private static void AppendDoc(StringBuilder page, XElement member)
    {
        var summary = Text(member.Element("summary"));
        if (summary.Length > 0) page.Append(summary).Append("\n\n");
        var parameters = member.Elements("param").ToArray();
        foreach (var p in parameters) page.Append("- `").Append(p.Attribute("name")?.Value).Append("`: ").Append(Text(p)).Append('\n');
        if (member.Element("returns") is { } returns) page.Append("- returns: ").Append(Text(returns)).Append('\n');
        foreach (var e in member.Elements("exception")) page.Append("- throws `").Append(CrefName(e.Attribute("cref")?.Value)).Append("`: ").Append(Text(e)).Append('\n');
        if (parameters.Length > 0 || member.Element("returns") is not null || member.Elements("exception").Any()) page.Append('\n');
        if (member.Element("remarks") is { } remarks && Text(remarks) is { Length: > 0 } r) page.Append(r).Append("\n\n");
    }

    /// <summary>The text of a documentation element as Markdown: references and code as code, paragraphs and list items on their own lines.</summary>
    private static string Text(XElement? element)
    {
        if (element is null) return "";
        var text = new StringBuilder();
        foreach (var node in element.Nodes()) Append(text, node);
        var lines = text.ToString().Split('\n').Select(l => Spaces().Replace(l, " ").Trim());
        return string.Join("\n", lines).Trim().Replace("\n\n\n", "\n\n", StringComparison.Ordinal);
    }

    private static void Append(StringBuilder text, XNode node)
    {
        switch (node)
        {
            case XText t: text.Append(t.Value.Replace('\n', ' ')); break;
            case XElement e when e.Name == "see" || e.Name == "seealso":
                text.Append('`').Append(e.Attribute("cref") is { } cref ? CrefName(cref.Value) : e.Attribute("langword")?.Value ?? e.Attribute("href")?.Value ?? e.Value).Append('`');
                break;
            case XElement e when e.Name == "paramref" || e.Name == "typeparamref": text.Append('`').Append(e.Attribute("name")?.Value).Append('`'); break;
            case XElement e when e.Name == "c": text.Append('`').Append(e.Value).Append('`'); break;
            case XElement e when e.Name == "code": text.Append("\n\n```csharp\n").Append(e.Value.Trim('\n')).Append("\n```\n\n"); break;
            case XElement e when e.Name == "para": text.Append("\n\n"); foreach (var n in e.Nodes()) Append(text, n); text.Append("\n\n"); break;
            case XElement e when e.Name == "list": text.Append('\n'); foreach (var item in e.Elements("item")) { text.Append("\n- "); foreach (var n in item.Nodes()) Append(text, n); } text.Append("\n\n"); break;
            case XElement e when e.Name == "term" || e.Name == "description": foreach (var n in e.Nodes()) Append(text, n); text.Append(' '); break;
            case XElement e: foreach (var n in e.Nodes()) Append(text, n); break;
        }
    }

    /// <summary>"M:StepWiser.ML.Judging.JudgeRecipe.WarmUp(…)" → "JudgeRecipe.WarmUp".</summary>
    private static string CrefName(string? cref)
    {
        if (cref is null) return "";
        var id = cref.Length > 2 && cref[1] == ':' ? cref[2..] : cref;
        var open = id.IndexOf('(', StringComparison.Ordinal);
        if (open >= 0) id = id[..open];
        var parts = GenericArity().Replace(id, "").Split('.');
        return cref.StartsWith("T:", StringComparison.Ordinal) || parts.Length < 2 ? parts[^1] : parts[^2] + "." + parts[^1].Replace("#ctor", "new", StringComparison.Ordinal);
    }

    [GeneratedRegex(@"``?\d+")]
    private static partial Regex GenericArity();

    [GeneratedRegex(@"\b(?:[A-Za-z_][A-Za-z0-9_]*\.)+(?=[A-Za-z_])")]
    private static partial Regex Namespaces();

    [GeneratedRegex(@"\n{3,}")]
    private static partial Regex BlankLines();

    [GeneratedRegex(@"[ \t]+")]
    private static partial Regex Spaces();
}

[TestClass]
public sealed class ApiReferenceTests
{
    /// <summary>
    /// docs/api/ is what <see cref="ApiReference"/> generates from the built library and its XML documentation. With
    /// <c>STEPWISER_WRITE_API_DOCS=1</c> the test writes the pages instead (then review the diff and commit).
    /// </summary>
    [TestMethod]
    public void TheApiReferenceIsTheOneGeneratedFromTheXmlDocumentation()
    {
        Assembly[] assemblies = [typeof(StepWiserCatalog).Assembly, typeof(StepWiser.ML.Worlds.ArithmeticChainWorld).Assembly];
        foreach (var assembly in assemblies)
            Assert.IsTrue(File.Exists(Path.ChangeExtension(assembly.Location, ".xml")), $"{assembly.Location}: the package's XML documentation is built beside it");
        var pages = ApiReference.Pages(assemblies);
        var folder = Repository.PathOf("docs", "api");
        if (Environment.GetEnvironmentVariable("STEPWISER_WRITE_API_DOCS") == "1")
        {
            if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
            Directory.CreateDirectory(folder);
            foreach (var (file, text) in pages) File.WriteAllText(Path.Combine(folder, file), text);
        }
        var existing = Directory.Exists(folder) ? Directory.GetFiles(folder, "*.md").Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray() : [];
        CollectionAssert.AreEqual(pages.Keys.ToArray(), existing, "docs/api/ holds one page per namespace and the index; regenerate with STEPWISER_WRITE_API_DOCS=1 dotnet test --filter ApiReferenceTests");
        foreach (var (file, text) in pages)
            Assert.AreEqual(text, File.ReadAllText(Path.Combine(folder, file)), $"docs/api/{file} is not the generated text; regenerate with STEPWISER_WRITE_API_DOCS=1 dotnet test --filter ApiReferenceTests");
        Assert.IsTrue(pages.Values.Sum(p => p.Length) > 50_000, "the reference documents the library, not only its names");
    }
}
