using System.Text.RegularExpressions;
using StepWiser.ML.AnswerChecking;

namespace StepWiser.ML.Tests.AnswerChecking;

[TestClass]
public sealed class AnswerExtractorTests
{
    [TestMethod]
    [DataRow(@"so the answer is $\boxed{5}$.", "5")]
    [DataRow(@"first \boxed{1}, then \boxed{2}", "2")]
    [DataRow(@"\fbox{7} and nothing else", "7")]
    [DataRow(@"$\boxed 5$", "5")]
    [DataRow(@"\boxed {x+1}", "x+1")]
    [DataRow(@"\boxed{\frac{\sqrt{3}}{2}}", @"\frac{\sqrt{3}}{2}")]
    [DataRow(@"\boxed{\{1,2\}}", @"\{1,2\}")]
    [DataRow(@"\boxed{\text{(C)}}", @"\text{(C)}")]
    [DataRow(@"\boxed{\boxed{3}} then \boxed{4}", "4")]
    [DataRow(@"\boxed{\left( 3, \frac{\pi}{2} \right)}.", @"\left( 3, \frac{\pi}{2} \right)")]
    [DataRow(@"$d = 15\frac{975}{1000} = \boxed{15\frac{39}{40}},$ or $\boxed{\frac{639}{40}}$ inches.", @"\frac{639}{40}")]
    public void BoxedTakesTheLastOutermostBalancedBox(string text, string expected) =>
        Assert.AreEqual(expected, AnswerExtractor.ExtractBoxed(text));

    [TestMethod]
    [DataRow("no box here")]
    [DataRow(@"\boxed{}")]
    [DataRow(@"\boxed{5} but then \boxed{6")]
    [DataRow(@"\boxedsymbol{5}")]
    public void BoxedFindsNothingWithoutACompleteBox(string text) => Assert.IsNull(AnswerExtractor.ExtractBoxed(text));

    [TestMethod]
    public void BoxedHandlesDeepNestingWithoutRecursion()
    {
        string text = @"\boxed{" + new string('{', 100_000) + "1" + new string('}', 100_000) + "}";
        Assert.AreEqual(new string('{', 100_000) + "1" + new string('}', 100_000), AnswerExtractor.ExtractBoxed(text));
    }

    [TestMethod]
    public void HashMarkerTakesTheRestOfTheLastMarkedLine()
    {
        Assert.AreEqual("18", AnswerExtractor.ExtractAfterHashMarker("She makes 9 * 2 = $<<9*2=18>>18.\n#### 18"));
        Assert.AreEqual("1,600", AnswerExtractor.ExtractAfterHashMarker("#### 3\nwait\n#### 1,600 \nthanks"));
        Assert.IsNull(AnswerExtractor.ExtractAfterHashMarker("#### \n"));
        Assert.IsNull(AnswerExtractor.ExtractAfterHashMarker("no marker"));
    }

    [TestMethod]
    public void LastNumberKeepsSignSeparatorsAndDecimals()
    {
        Assert.AreEqual("-1,234.5", AnswerExtractor.ExtractLastNumber("first 3 then -1,234.5 dollars."));
        Assert.AreEqual(".25", AnswerExtractor.ExtractLastNumber("the share is .25"));
        Assert.AreEqual("4", AnswerExtractor.ExtractLastNumber("34 hours in 4 weeks"));
        Assert.IsNull(AnswerExtractor.ExtractLastNumber("no digits"));
    }

    [TestMethod]
    public void PatternUsesTheAnswerGroupThenTheFirstGroupThenTheMatch()
    {
        const string text = "Answer: 3\nmore thought\nAnswer: 42";
        Assert.AreEqual("42", AnswerExtractor.ExtractByPattern(text, new Regex(@"Answer:\s*(?<answer>\S+)")));
        Assert.AreEqual("42", AnswerExtractor.ExtractByPattern(text, new Regex(@"Answer: (\d+)")));
        Assert.AreEqual("Answer: 42", AnswerExtractor.ExtractByPattern(text, new Regex(@"Answer: \d+")));
        Assert.IsNull(AnswerExtractor.ExtractByPattern(text, new Regex("Final: (.*)")));
    }

    [TestMethod]
    public void ExtractTriesPatternThenBoxedThenMarkerThenLastNumber()
    {
        const string text = "Answer: 1 and \\boxed{2}\n#### 3\nfinally 4";
        var pattern = new Regex(@"Answer: (\d)");
        Assert.AreEqual("1", AnswerExtractor.Extract(text, AnswerExtractionModes.Pattern | AnswerExtractionModes.Boxed, pattern));
        Assert.AreEqual("2", AnswerExtractor.Extract(text));
        Assert.AreEqual("3", AnswerExtractor.Extract(text, AnswerExtractionModes.HashMarker | AnswerExtractionModes.LastNumber));
        Assert.AreEqual("4", AnswerExtractor.Extract(text, AnswerExtractionModes.LastNumber));
        Assert.IsNull(AnswerExtractor.Extract(text, AnswerExtractionModes.None));
        Assert.ThrowsExactly<ArgumentException>(() => AnswerExtractor.Extract(text, AnswerExtractionModes.Pattern));
    }
}
