using StepWiser.ML.AnswerChecking;

namespace StepWiser.ML.Tests.AnswerChecking;

[TestClass]
public sealed class MathAnswerVerifierTests
{
    [TestMethod]
    public void VerifyExtractsTheCandidateAndAcceptsMarkedReferences()
    {
        IAnswerVerifier verifier = new MathAnswerVerifier();
        var verdict = verifier.Verify(@"Thus $x = \boxed{\dfrac{1}{2}}$.", "0.5");
        Assert.AreEqual(AnswerOutcome.Equivalent, verdict.Outcome, verdict.Reason);
        Assert.AreEqual(@"\dfrac{1}{2}", verdict.CandidateAnswer);
        Assert.IsTrue(verdict.IsCorrect);

        var gsm = verifier.Verify("so she pays 1600 dollars: \\boxed{1600}", "Each costs 800.\n#### 1,600");
        Assert.AreEqual("1,600", gsm.ReferenceAnswer);
        Assert.IsTrue(gsm.IsCorrect, gsm.Reason);
        Assert.IsTrue(verifier.Verify("\\boxed{7}", "The total is $\\boxed{7}$.").IsCorrect);
        Assert.AreEqual(AnswerOutcome.NotEquivalent, verifier.Verify("\\boxed{8}", "7").Outcome);
    }

    [TestMethod]
    public void ResponseWithoutAnAnswerIsNoAnswerAndNotCorrect()
    {
        var verdict = new MathAnswerVerifier().Verify("I think it is 7.", "7");
        Assert.AreEqual(AnswerOutcome.NoAnswer, verdict.Outcome);
        Assert.IsNull(verdict.CandidateAnswer);
        Assert.IsFalse(verdict.IsCorrect);
        var fallback = new MathAnswerVerifier(new MathAnswerVerifierOptions { ExtractionModes = AnswerExtractionModes.Default | AnswerExtractionModes.LastNumber });
        Assert.IsTrue(fallback.Verify("I think it is 7.", "7").IsCorrect);
    }

    [TestMethod]
    public void AnswerPatternOptionExtractsWithTheConfiguredExpression()
    {
        var options = new MathAnswerVerifierOptions { AnswerPattern = @"Final answer:\s*(?<answer>[^\n]+)" };
        Assert.IsTrue(options.ExtractionModes.HasFlag(AnswerExtractionModes.Pattern));
        var verifier = new MathAnswerVerifier(options);
        Assert.AreEqual(@"\frac{3}{4}", verifier.ExtractAnswer("work...\nFinal answer: \\frac{3}{4}"));
        Assert.IsTrue(verifier.Verify("Final answer: 0.75", "\\frac34").IsCorrect);
        options.AnswerPattern = null;
        Assert.IsFalse(options.ExtractionModes.HasFlag(AnswerExtractionModes.Pattern));
    }

    [TestMethod]
    public void CatastrophicAnswerPatternIsUndecidedWithinTheBudget()
    {
        var verifier = new MathAnswerVerifier(new MathAnswerVerifierOptions { AnswerPattern = "(a+)+b", TimeBudget = TimeSpan.FromMilliseconds(100) });
        var verdict = verifier.Verify(new string('a', 5000) + "c", "1");
        Assert.AreEqual(AnswerOutcome.Undecided, verdict.Outcome, verdict.Reason);
    }

    [TestMethod]
    public void OptionSettersRejectInvalidValues()
    {
        var options = new MathAnswerVerifierOptions();
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => options.RelativeTolerance = -1e-9);
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => options.RelativeTolerance = 0.5);
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => options.TimeBudget = TimeSpan.Zero);
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => options.TimeBudget = TimeSpan.FromHours(1));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => options.RandomPoints = 0);
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => options.MaxAnswerLength = 0);
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => options.MaxNestingDepth = 1001);
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => options.ExtractionModes = (AnswerExtractionModes)64);
        Assert.ThrowsExactly<ArgumentException>(() => options.AnswerPattern = "(unclosed");
        Assert.ThrowsExactly<ArgumentException>(() => options.AnswerPattern = "");
        Assert.AreEqual(1e-4, options.RelativeTolerance);
        Assert.AreEqual(TimeSpan.FromSeconds(1), options.TimeBudget);
        Assert.ThrowsExactly<ArgumentException>(() => new MathAnswerVerifier(new MathAnswerVerifierOptions { ExtractionModes = AnswerExtractionModes.Pattern }));
    }

    [TestMethod]
    public void ToleranceOptionDecidesRoundedDecimalsButNeverExactOnes()
    {
        var strict = new MathAnswerVerifier(new MathAnswerVerifierOptions { RelativeTolerance = 0 });
        var loose = new MathAnswerVerifier(new MathAnswerVerifierOptions { RelativeTolerance = 0.01 });
        Assert.IsFalse(strict.IsEquivalent("0.33333", @"\frac13"));
        Assert.IsTrue(strict.IsEquivalent("0.25", @"\frac14"));
        Assert.IsTrue(loose.IsEquivalent("0.333", @"\frac13"));
        Assert.IsFalse(loose.IsEquivalent("1000", "1001"), "integers are compared exactly whatever the tolerance");
    }

    [TestMethod]
    public void OptionsAreCopiedWhenTheVerifierIsCreated()
    {
        var options = new MathAnswerVerifierOptions { RelativeTolerance = 0 };
        var verifier = new MathAnswerVerifier(options);
        options.RelativeTolerance = 0.1;
        Assert.IsFalse(verifier.IsEquivalent("3.1", "3.2"));
    }

    [TestMethod]
    public void SymbolicVerdictsAreDeterministicAndThreadSafe()
    {
        string[][] pairs = [["p - q", "-q + p"], ["x^2", "2x"], [@"\sin^2 x + \cos^2 x", "1"], [@"(a+5)(b+2)", "ab+2a+5b+10"], ["x^3", "x^2"]];
        var expected = pairs.Select(p => new MathAnswerVerifier().Compare(p[0], p[1])).ToArray();
        var shared = new MathAnswerVerifier();
        var results = new AnswerVerdict[pairs.Length * 50];
        Parallel.For(0, results.Length, i => results[i] = shared.Compare(pairs[i % pairs.Length][0], pairs[i % pairs.Length][1]));
        for (int i = 0; i < results.Length; i++) Assert.AreEqual(expected[i % pairs.Length], results[i]);
        Assert.IsTrue(expected[0].IsCorrect && !expected[1].IsCorrect && expected[2].IsCorrect && expected[3].IsCorrect && !expected[4].IsCorrect);
    }

    [TestMethod]
    public void OverflowingValuesAreUndecidedAndNotEquivalent()
    {
        var verifier = new MathAnswerVerifier();
        var verdict = verifier.Compare("10^{10^{10}}", "10^{10^{10}}+1");
        Assert.AreEqual(AnswerOutcome.Undecided, verdict.Outcome, verdict.Reason);
        Assert.IsFalse(verifier.IsEquivalent("10^{10^{10}}", "10^{10^{10}}+1"));
        Assert.IsTrue(verifier.IsEquivalent("10^{10^{10}}", "10^{10^{10}}"), "identical text needs no evaluation");
    }

    [TestMethod]
    public void AnswersLongerThanTheLimitAreComparedLiterally()
    {
        var verifier = new MathAnswerVerifier(new MathAnswerVerifierOptions { MaxAnswerLength = 8 });
        Assert.IsTrue(verifier.IsEquivalent("1+1+1+1+1", "1+1+1+1+1"));
        var verdict = verifier.Compare("1+1+1+1+1", "5");
        Assert.AreEqual(AnswerOutcome.NotEquivalent, verdict.Outcome);
        StringAssert.Contains(verdict.Reason, "literal");
    }
}
