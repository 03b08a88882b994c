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
    public void TheDocsExampleIsTheCompiledExampleWordForWord()
    {
        var source = File.ReadAllLines(Repository.PathOf("src", "StepWiser.ML.Samples", "Stages", "PipelineExample.cs"));
        var start = Array.FindIndex(source, l => l.Trim() == "// <pipeline>");
        var end = Array.FindIndex(source, l => l.Trim() == "// </pipeline>");
        Assert.IsTrue(start >= 0 && end > start, "the pipeline markers are in PipelineExample.cs");
        var indent = source[start].Length - source[start].TrimStart().Length;
        var code = string.Join("\n", source[(start + 1)..end].Select(l => l.Length >= indent ? l[indent..] : l.TrimStart()));

        var doc = File.ReadAllText(Repository.PathOf("docs", "pipeline.md")).Replace("\r\n", "\n", StringComparison.Ordinal);
        var open = doc.IndexOf("```csharp\n", StringComparison.Ordinal);
        Assert.IsGreaterThanOrEqualTo(0, open, "docs/pipeline.md has a csharp block");
        var body = doc[(open + "```csharp\n".Length)..];
        Assert.AreEqual(code, body[..body.IndexOf("\n```", StringComparison.Ordinal)], "docs/pipeline.md's example must be PipelineExample.cs's pipeline region");
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
