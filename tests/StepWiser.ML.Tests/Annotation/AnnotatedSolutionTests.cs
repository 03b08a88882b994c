using StepWiser.ML.Annotation;

namespace StepWiser.ML.Tests.Annotation;

[TestClass]
public sealed class AnnotatedSolutionTests
{
    [TestMethod]
    public void ACompleteSolutionGivesEachSchemesLabelsAndAnIncompleteOneGivesNone()
    {
        var complete = new AnnotatedSolution("p", ["a", "b", "c"], new AnnotationResult(0.5f, [0.75f, 0f, 0f], 0));
        Assert.IsTrue(complete.IsComplete);
        var absQ = complete.ToExample(LabelScheme.AbsoluteQ);
        CollectionAssert.AreEqual(new[] { true, false, false }, absQ.Labels.ToArray());
        Assert.AreEqual("p", absQ.Prompt);
        CollectionAssert.AreEqual(new[] { "a", "b", "c" }, absQ.Completions.ToArray());

        var failed = new AnnotatedSolution("p", ["a", "b"], new AnnotationResult(0.5f, [0.75f, float.NaN], 1));
        var missingValue = new AnnotatedSolution("p", ["a", "b"], new AnnotationResult(0.5f, [0.75f], 0));
        Assert.IsFalse(failed.IsComplete);
        Assert.IsFalse(missingValue.IsComplete, "fewer values than chunks");
        var fromRow = new AnnotatedRow { Problem = "p", Chunks = ["a", "b"], InitialValue = 0.5f, StepValues = [0.75f, float.NaN], FailedPrefixes = 1 }.ToSolution();
        Assert.IsFalse(fromRow.IsComplete, "an annotator row with a failed prefix gives an incomplete solution");
        Assert.AreEqual(0.5f, fromRow.Values.InitialValue);
        var e = Assert.ThrowsExactly<InvalidOperationException>(() => failed.ToExample(LabelScheme.RelativeRatio));
        StringAssert.Contains(e.Message, "without a value");
    }

    [TestMethod]
    public void EveryNthPromptHoldsOutWholePromptsStartingWithTheFirst()
    {
        var items = new[] { ("p1", 1), ("p2", 2), ("p1", 3), ("p3", 4), ("p4", 5), ("p3", 6), ("p5", 7) };
        var (train, heldOut) = HeldOutSplit.EveryNthPrompt(items, x => x.Item1, every: 3);
        CollectionAssert.AreEqual(new[] { 1, 3, 5 }, heldOut.Select(x => x.Item2).ToArray(), "p1 and p4 (the 1st and 4th distinct prompts), all their items");
        CollectionAssert.AreEqual(new[] { 2, 4, 6, 7 }, train.Select(x => x.Item2).ToArray());
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => HeldOutSplit.EveryNthPrompt(items, x => x.Item1, every: 0));
    }
}
