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
    [DataRow("PipelineExample.cs", "pipeline", "# The pipeline, stage by stage")]
    [DataRow("RecipeExample.cs", "recipe", "## The judge recipe as one trainer")]
    public void TheDocsExamplesAreTheCompiledExamplesWordForWord(string file, string marker, string heading)
    {
        var source = File.ReadAllLines(Repository.PathOf("src", "StepWiser.ML.Samples", "Stages", file));
        var start = Array.FindIndex(source, l => l.Trim() == $"// <{marker}>");
        var end = Array.FindIndex(source, l => l.Trim() == $"// </{marker}>");
        Assert.IsTrue(start >= 0 && end > start, $"the {marker} markers are in {file}");
        var indent = source[start].Length - source[start].TrimStart().Length;
        var code = string.Join("\n", source[(start + 1)..end].Select(l => l.Length >= indent ? l[indent..] : l.TrimStart()));

        var doc = File.ReadAllText(Repository.PathOf("docs", "pipeline.md")).Replace("\r\n", "\n", StringComparison.Ordinal);
        var section = doc.IndexOf(heading + "\n", StringComparison.Ordinal);
        Assert.IsGreaterThanOrEqualTo(0, section, $"docs/pipeline.md has the section \"{heading}\"");
        var open = doc.IndexOf("```csharp\n", section, StringComparison.Ordinal);
        Assert.IsGreaterThanOrEqualTo(0, open, $"docs/pipeline.md has a csharp block after \"{heading}\"");
        var body = doc[(open + "```csharp\n".Length)..];
        Assert.AreEqual(code, body[..body.IndexOf("\n```", StringComparison.Ordinal)], $"docs/pipeline.md's first csharp block after \"{heading}\" must be {file}'s {marker} region");
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
