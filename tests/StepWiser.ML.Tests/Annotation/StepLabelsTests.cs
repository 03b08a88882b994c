using StepWiser.ML.Annotation;

namespace StepWiser.ML.Tests.Annotation;

[TestClass]
public sealed class StepLabelsTests
{
    [TestMethod]
    public void AbsoluteQIsPositiveExactlyWhenSomeContinuationSucceeds()
    {
        CollectionAssert.AreEqual(new[] { true, false, true }, StepLabels.Compute(0.5f, [0.25f, 0f, 0.0625f], LabelScheme.AbsoluteQ));
    }

    [TestMethod]
    public void RelativeRatioComparesWithThePreviousValue()
    {
        // 0.5 -> 0.5 (ratio 1 > 0.8), -> 0.375 (0.75, not > 0.8), -> 0.375 (1), -> 0 (0), -> 0.25 (revives a dead prefix)
        var labels = StepLabels.Compute(0.5f, [0.5f, 0.375f, 0.375f, 0f, 0.25f], LabelScheme.RelativeRatio);
        CollectionAssert.AreEqual(new[] { true, false, true, false, true }, labels);
        var strict = StepLabels.Compute(0.5f, [0f, 0.25f], LabelScheme.RelativeRatio, new StepLabelOptions { RatioPositiveWhenRevivingZero = false });
        CollectionAssert.AreEqual(new[] { false, false }, strict);
        CollectionAssert.AreEqual(new[] { true }, StepLabels.Compute(0.5f, [0.375f], LabelScheme.RelativeRatio, new StepLabelOptions { Gamma = 0.7f }));
    }

    [TestMethod]
    public void RelativeEffectiveUsesTheBestOfNValue()
    {
        // V(q) = 1 - (1-q)^4. From 0.5 (V=0.9375) to 0.125 (V=0.4138): 0.125 + 0.4*(0.4138-0.9375) = -0.0845 -> negative.
        // From 0.5 to 0.25 (V=0.6836): 0.25 + 0.4*(0.6836-0.9375) = 0.1484 -> positive. Q = 0 is always negative here.
        CollectionAssert.AreEqual(new[] { false }, StepLabels.Compute(0.5f, [0.125f], LabelScheme.RelativeEffective));
        CollectionAssert.AreEqual(new[] { true }, StepLabels.Compute(0.5f, [0.25f], LabelScheme.RelativeEffective));
        CollectionAssert.AreEqual(new[] { false }, StepLabels.Compute(0.0f, [0f], LabelScheme.RelativeEffective));
        Assert.AreEqual(0.9375f, StepLabels.BestOfNValue(0.5f, 4), 1e-6f);
        CollectionAssert.AreEqual(new[] { true }, StepLabels.Compute(0.5f, [0.125f], LabelScheme.RelativeEffective, new StepLabelOptions { Alpha = 0.2f }));
    }

    [TestMethod]
    public void FailedRolloutsNeverBecomeLabels()
    {
        // A step whose rollouts failed has no value (NaN) and so no label under any scheme: an error naming the step.
        foreach (var scheme in Enum.GetValues<LabelScheme>())
        {
            var e = Assert.ThrowsExactly<ArgumentException>(() => StepLabels.Compute(0.5f, [1f, float.NaN, 1f], scheme));
            StringAssert.Contains(e.Message, "step 2 of 3");
            Assert.IsFalse(StepLabels.IsComplete(0.5f, [1f, float.NaN], scheme));
        }
        // Q_0 is needed by the relative schemes only.
        CollectionAssert.AreEqual(new[] { true }, StepLabels.Compute(float.NaN, [1f], LabelScheme.AbsoluteQ));
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => StepLabels.Compute(float.NaN, [1f], LabelScheme.RelativeRatio)).Message, "Q_0");
        Assert.IsFalse(new AnnotationResult(0.5f, [float.NaN], 1).IsComplete);
    }

    [TestMethod]
    public void BalancingDownSamplesTheMajorityToFiftyFifty()
    {
        var items = Enumerable.Range(0, 100).Select(i => (Id: i, Label: i % 10 < 7)).ToArray();
        var balanced = LabelBalancer.Balance(items, x => x.Label, seed: 3);
        Assert.AreEqual(60, balanced.Count);
        Assert.AreEqual(30, balanced.Count(x => x.Label));
        CollectionAssert.AreEqual(balanced.OrderBy(x => x.Id).ToArray(), balanced.ToArray(), "order is preserved");
        CollectionAssert.AreEqual(balanced.ToArray(), LabelBalancer.Balance(items, x => x.Label, seed: 3).ToArray(), "seeded");
        Assert.IsEmpty(LabelBalancer.Balance(items.Where(x => x.Label).ToArray(), x => x.Label));
    }

    [TestMethod]
    public void TrlStepwiseJsonlRoundTripsAndNamesBadLines()
    {
        var path = Path.Combine(Path.GetTempPath(), $"trl-{Guid.NewGuid():N}.jsonl");
        try
        {
            StepwiseExample[] examples = [new("Start with 3. Add 4. Work modulo 9.", ["3+4=7", "The answer is \\boxed{7}."], [true, true]), new("p \"quoted\" é", ["a"], [false])];
            TrlStepwiseFormat.Write(path, examples);
            StringAssert.StartsWith(File.ReadAllLines(path)[0], "{\"prompt\":\"Start with 3.");
            StringAssert.Contains(File.ReadAllLines(path)[0], "\"completions\":[\"3+4=7\"");
            var back = TrlStepwiseFormat.Read(path);
            Assert.HasCount(2, back);
            CollectionAssert.AreEqual(examples[0].Completions.ToArray(), back[0].Completions.ToArray());
            CollectionAssert.AreEqual(examples[1].Labels.ToArray(), back[1].Labels.ToArray());
            Assert.AreEqual(examples[1].Prompt, back[1].Prompt);
            File.AppendAllText(path, "{\"prompt\":\"x\",\"completions\":[\"a\",\"b\"],\"labels\":[true]}\n");
            StringAssert.Contains(Assert.ThrowsExactly<InvalidDataException>(() => TrlStepwiseFormat.Read(path)).Message, ":3:");
        }
        finally
        {
            File.Delete(path);
        }
    }
}
