using StepWiser.ML.Chunking;

namespace StepWiser.ML.Tests.Chunking;

[TestClass]
public sealed class ChunkParserTests
{
    [TestMethod]
    public void WellFormedTagsGiveTheirTrimmedContentsAndReconstructTheText()
    {
        const string text = "<chunk>Add 5.\n\n7+5=3</chunk>\n\n<chunk>3*2=6</chunk>\n\n<chunk>The answer is \\boxed{6}.</chunk>";
        var parsed = ChunkParser.ParseTags(text);
        CollectionAssert.AreEqual(new[] { "Add 5.\n\n7+5=3", "3*2=6", "The answer is \\boxed{6}." }, parsed.Chunks.ToArray());
        Assert.AreEqual(0, parsed.Repairs);
        Assert.AreEqual(text, ChunkParser.Wrap(parsed.Chunks));
        Assert.AreEqual("Add 5.\n\n7+5=3\n\n3*2=6\n\nThe answer is \\boxed{6}.", ChunkParser.StripTags(text));
    }

    [TestMethod]
    [DataRow("<chunk>a</chunk><chunk>b", "never closed", 1)]
    [DataRow("<chunk>a<chunk>b</chunk>", "nested or unclosed", 1)]
    [DataRow("a</chunk><chunk>b</chunk>", "closing tag without an opening tag", 2)]
    [DataRow("intro <chunk>a</chunk>", "text outside chunks", 1)]
    [DataRow("<chunk>a</chunk><chunk>  </chunk>", "empty chunk", 1)]
    public void MalformedMarkupIsAnErrorByDefaultAndRepairedAndCountedOnRequest(string text, string problem, int repairs)
    {
        var e = Assert.ThrowsExactly<FormatException>(() => ChunkParser.ParseTags(text));
        StringAssert.Contains(e.Message, problem);
        StringAssert.Contains(e.Message, "offset");
        var repaired = ChunkParser.ParseTags(text, MalformedChunkPolicy.Repair);
        Assert.AreEqual(repairs, repaired.Repairs);
        Assert.IsTrue(repaired.Chunks.All(c => c.Length > 0 && !c.Contains("<chunk>") && !c.Contains("</chunk>")));
    }

    [TestMethod]
    public void EmptyTextAndTextWithoutTagsAreErrors()
    {
        StringAssert.Contains(Assert.ThrowsExactly<FormatException>(() => ChunkParser.ParseTags("  \n")).Message, "empty text");
        Assert.ThrowsExactly<FormatException>(() => ChunkParser.ParseTags("just prose"));
        Assert.AreEqual(1, ChunkParser.ParseTags("just prose", MalformedChunkPolicy.Repair).Chunks.Count);
    }

    [TestMethod]
    public void BlankLinesAndStepMarkersSplitLikeTheBaselines()
    {
        CollectionAssert.AreEqual(new[] { "a", "b\nc", "d" }, ChunkParser.SplitBlankLines("a\n\nb\nc\n \n\n d\n\n").ToArray());
        CollectionAssert.AreEqual(new[] { "a", "b" }, ChunkParser.SplitBlankLines("a\r\n\r\nb").ToArray());
        var steps = ChunkParser.SplitStepMarkers("We solve it.\nStep 1: x=2\nStep 2. y=3\n**Step 3:** done");
        CollectionAssert.AreEqual(new[] { "We solve it.", "Step 1: x=2", "Step 2. y=3", "**Step 3:** done" }, steps.ToArray());
        CollectionAssert.AreEqual(new[] { "no markers here" }, ChunkParser.SplitStepMarkers("no markers here").ToArray());
    }
}
