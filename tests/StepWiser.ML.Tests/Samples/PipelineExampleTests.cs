using StepWiser.ML.Models;
using StepWiser.ML.Samples.Stages;
using StepWiser.ML.Tests.Infrastructure;
using StepWiser.ML.Tokenization;

namespace StepWiser.ML.Tests.Samples;

/// <summary>docs/pipeline.md's example is compiled code (PipelineExample.cs) and runs through every catalog stage.</summary>
[TestClass]
public sealed class PipelineExampleTests
{
    [TestMethod]
    [DataRow("PipelineExample.cs", "pipeline", 0)]
    [DataRow("RecipeExample.cs", "recipe", 1)]
    public void TheDocsExamplesAreTheCompiledExamplesWordForWord(string file, string marker, int block)
    {
        var source = File.ReadAllLines(Repository.PathOf("src", "StepWiser.ML.Samples", "Stages", file));
        var start = Array.FindIndex(source, l => l.Trim() == $"// <{marker}>");
        var end = Array.FindIndex(source, l => l.Trim() == $"// </{marker}>");
        Assert.IsTrue(start >= 0 && end > start, $"the {marker} markers are in {file}");
        var indent = source[start].Length - source[start].TrimStart().Length;
        var code = string.Join("\n", source[(start + 1)..end].Select(l => l.Length >= indent ? l[indent..] : l.TrimStart()));

        var doc = File.ReadAllText(Repository.PathOf("docs", "pipeline.md")).Replace("\r\n", "\n", StringComparison.Ordinal);
        var open = -1;
        for (var i = 0; i <= block; i++)
        {
            open = doc.IndexOf("```csharp\n", open + 1, StringComparison.Ordinal);
            Assert.IsGreaterThanOrEqualTo(0, open, $"docs/pipeline.md has csharp block {block + 1}");
        }
        var body = doc[(open + "```csharp\n".Length)..];
        Assert.AreEqual(code, body[..body.IndexOf("\n```", StringComparison.Ordinal)], $"docs/pipeline.md's csharp block {block + 1} must be {file}'s {marker} region");
    }

    [TestMethod]
    public void TheExampleRunsEveryStageFromLabelsToSelection()
    {
        using var judgeBase = ModelBundle.Load(WorldPolicyFixture.Directory);
        var outcome = PipelineExample.Run(WorldPolicyFixture.Engine(), judgeBase, WorldPolicyFixture.World, problems: 6, rlSteps: 1);

        Assert.IsGreaterThan(0, outcome.PositiveSteps, "some labelled step is positive");
        Assert.IsLessThan(outcome.LabelledSteps, outcome.PositiveSteps, "some labelled step is negative");
        Assert.AreEqual("world", outcome.Metrics.Subsets.Single().Subset);
        Assert.HasCount(6, outcome.SearchedSolutions);
        Assert.IsTrue(outcome.SearchedSolutions.Any(s => s.Contains("\\boxed", StringComparison.Ordinal)), "search wrote a finished solution");
        Assert.HasCount(6, outcome.JudgeSelected);
    }
}
