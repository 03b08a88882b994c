using StepWiser.ML.Tests.Infrastructure;

namespace StepWiser.ML.Tests.Architecture;

/// <summary>
/// The library's layering and public surface (issue 16): no namespace cycle, nothing in the library depends on the
/// built-in world, docs/architecture.md shows the graph the sources have, and the public API is the approved one.
/// </summary>
[TestClass]
public sealed class ArchitectureTests
{
    private static readonly Lazy<NamespaceGraph> Graph = new(() => NamespaceGraph.FromSources(Repository.PathOf("src", "StepWiser.ML"), Repository.PathOf("src", "StepWiser.ML.Worlds")));

    [TestMethod]
    public void TheLibrarysNamespacesFormNoCycle()
    {
        var cycles = Graph.Value.Cycles();
        Assert.AreEqual(0, cycles.Count, "namespace cycles: " + string.Join("; ", cycles));
        // The graph is read for real: the judge uses the model and generation namespaces.
        CollectionAssert.IsSubsetOf(new[] { "Generation", "Models" }, Graph.Value.Edges["Judging"].ToArray());
    }

    [TestMethod]
    public void NothingInTheLibraryDependsOnTheBuiltInWorld()
    {
        var users = Graph.Value.Edges.Where(e => e.Value.Contains("Worlds")).Select(e => e.Key.Length == 0 ? NamespaceGraph.Root : e.Key).ToArray();
        Assert.AreEqual(0, users.Length, "these namespaces use StepWiser.ML.Worlds, which must stay a leaf: " + string.Join(", ", users));
        Assert.IsTrue(Graph.Value.Edges["Worlds"].Count > 0, "the world uses the library");
    }

    [TestMethod]
    public void ArchitectureDocShowsTheGraphOfTheSources()
    {
        var doc = File.ReadAllText(Repository.PathOf("docs", "architecture.md")).ReplaceLineEndings("\n");
        var graph = Graph.Value.ToMermaid();
        Assert.IsTrue(doc.Contains(graph, StringComparison.Ordinal),
            "docs/architecture.md does not show the current namespace graph; regenerate it with `dotnet run --project tests/StepWiser.ML.Benchmarks -c Release -- --suite namespaces` and paste:\n" + graph);
    }

    [TestMethod]
    public void TheCorePackageDoesNotReferenceTheWorldsPackage()
    {
        var core = typeof(StepWiserCatalog).Assembly;
        CollectionAssert.DoesNotContain(core.GetReferencedAssemblies().Select(a => a.Name).ToArray(), "StepWiser.ML.Worlds");
        StringAssert.Contains(File.ReadAllText(Repository.PathOf("src", "StepWiser.ML.Worlds", "StepWiser.ML.Worlds.csproj")), "StepWiser.ML.csproj", "the world builds on the library");
    }

    [TestMethod]
    [DataRow("StepWiser.ML")]
    [DataRow("StepWiser.ML.Worlds")]
    public void ThePublicApiIsTheApprovedOne(string package)
    {
        var approvedPath = Repository.PathOf("tests", "StepWiser.ML.Tests", "Architecture", $"{package}.approved.txt");
        var receivedPath = Path.ChangeExtension(approvedPath, null).Replace(".approved", ".received") + ".txt";
        var assembly = package == "StepWiser.ML" ? typeof(StepWiserCatalog).Assembly : typeof(StepWiser.ML.Worlds.ArithmeticChainWorld).Assembly;
        var received = PublicApi.Describe(assembly);
        var approved = File.Exists(approvedPath) ? File.ReadAllText(approvedPath).ReplaceLineEndings("\n") : "";
        if (received == approved)
        {
            File.Delete(receivedPath);
            return;
        }
        File.WriteAllText(receivedPath, received);
        var a = approved.Split('\n').ToHashSet(StringComparer.Ordinal);
        var r = received.Split('\n').ToHashSet(StringComparer.Ordinal);
        var added = r.Except(a).ToArray();
        var removed = a.Except(r).ToArray();
        Assert.Fail($"the public API changed ({added.Length} lines added, {removed.Length} removed; first added: {added.FirstOrDefault() ?? "none"}; first removed: {removed.FirstOrDefault() ?? "none"}). " +
            $"If the change is deliberate, review {receivedPath} and copy it over {approvedPath}.");
    }

    [TestMethod]
    public void PublicApiTextNamesTypesMembersAndDefaults()
    {
        var text = PublicApi.Describe(typeof(StepWiserCatalog).Assembly);
        StringAssert.Contains(text, "sealed class StepWiser.ML.Judging.GrpoTrainer\n");
        StringAssert.Contains(text, "  ctor(CausalLM model, Tokenizer tokenizer, JudgeTemplate template, GrpoOptions options)\n");
        StringAssert.Contains(text, "static class StepWiser.ML.Judging.JudgeRecipe\n");
        StringAssert.Contains(text, "record StepWiser.ML.Judging.JudgeInput\n");
        Assert.IsFalse(text.Contains("<Clone>$", StringComparison.Ordinal), "compiler-generated record members are left out");
    }
}
