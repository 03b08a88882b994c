using System.Diagnostics;
using StepWiser.ML.AnswerChecking;

namespace StepWiser.ML.Tests.AnswerChecking;

/// <summary>
/// Untrusted model output must not hang the verifier or overflow its stack: each hostile answer returns a verdict
/// within twice the time budget, both with the default length limit and with the limit lifted so that the parser,
/// the depth limit and the budget themselves are exercised.
/// </summary>
[TestClass]
public sealed class HostileInputTests
{
    private static readonly TimeSpan Budget = TimeSpan.FromMilliseconds(500);

    private static IEnumerable<(string Name, string Answer, string Reference)> Cases()
    {
        yield return ("100k nested braces", new string('{', 100_000) + "1" + new string('}', 100_000), "1");
        yield return ("50k nested parentheses", new string('(', 50_000) + "1" + new string(')', 50_000), "1");
        yield return ("20k nested fractions", string.Concat(Enumerable.Repeat(@"\frac{1}{", 20_000)) + "2" + new string('}', 20_000), "1");
        yield return ("100k nested \\text", string.Concat(Enumerable.Repeat(@"\text{", 100_000)) + "a" + new string('}', 100_000), "b");
        yield return ("100k nested \\sqrt", string.Concat(Enumerable.Repeat(@"\sqrt", 100_000)) + "2", "1");
        yield return ("100k minus signs", new string('-', 100_000) + "1", "1");
        yield return ("20k nested tuples", new string('(', 20_000) + "1,2" + new string(')', 20_000), "(1,2)");
        yield return ("1 MB sum", string.Join("+", Enumerable.Repeat("1", 500_000)), "500001");
        yield return ("1 MB of letters", new string('x', 1_000_000), "x");
        yield return ("1 MB of digits", new string('9', 1_000_000), "1");
        yield return ("1 MB of units", "5" + string.Concat(Enumerable.Repeat(" cm", 330_000)), "5");
        yield return ("1 MB of separators", string.Concat(Enumerable.Repeat("1,000", 200_000)), "1");
        yield return ("30k-element sets", @"\{" + string.Join(",", Enumerable.Range(0, 30_000)) + @"\}", @"\{" + string.Join(",", Enumerable.Range(0, 30_000).Reverse()) + @"\}");
        yield return ("power tower", "2^2^2^2^2^2^2", "2^{2^{2^{2^{2^{2^{2}}}}}}+1");
        yield return ("huge exponent", "10^{10^{10}}", "10^{10^{10}}+1");
        yield return ("huge symbolic exponent", "(1+x)^{1000000000}", "(1+x)^{1000000001}");
        yield return ("huge factorial", "1000000!", "1000001!");
        yield return ("huge binomial", @"\binom{1000000}{500000}", @"\binom{1000000}{500001}");
        yield return ("30 plus-minus signs", string.Concat(Enumerable.Repeat(@"1\pm", 30)) + "1", "1");
    }

    [TestMethod]
    [TestCategory("Slow")]
    public void HostileAnswersReturnWithinTwiceTheBudget()
    {
        var capped = new MathAnswerVerifier(new MathAnswerVerifierOptions { TimeBudget = Budget });
        var uncapped = new MathAnswerVerifier(new MathAnswerVerifierOptions { TimeBudget = Budget, MaxAnswerLength = 10_000_000 });
        capped.Compare("x^2", "2x"); // JIT warm-up, outside the measurement
        var slow = new List<string>();
        foreach (var (name, answer, reference) in Cases())
        {
            foreach (var (label, verifier) in new[] { ("capped", capped), ("uncapped", uncapped) })
            {
                var clock = Stopwatch.StartNew();
                var compared = verifier.Compare(answer, reference);
                var verified = verifier.Verify("The answer is $\\boxed{" + answer + "}$.", reference);
                clock.Stop();
                Assert.IsFalse(compared.IsCorrect, $"{name} ({label}): {compared.Reason}");
                Assert.IsFalse(verified.IsCorrect, $"{name} ({label}): {verified.Reason}");
                if (clock.Elapsed > 2 * (2 * Budget)) slow.Add($"{name} ({label}): {clock.ElapsedMilliseconds} ms for two calls");
            }
        }
        Assert.AreEqual(0, slow.Count, string.Join("\n", slow));
    }

    [TestMethod]
    public void DeepNestingIsUndecidedAtTheDepthLimit()
    {
        var verifier = new MathAnswerVerifier(new MathAnswerVerifierOptions { MaxAnswerLength = 1_000_000 });
        foreach (string answer in new[] { new string('(', 50_000) + "1" + new string(')', 50_000), new string('-', 100_000) + "1", "2" + string.Concat(Enumerable.Repeat("^{2", 5000)) + new string('}', 5000) })
        {
            var verdict = verifier.Compare(answer, "1");
            Assert.AreEqual(AnswerOutcome.Undecided, verdict.Outcome, verdict.Reason);
            StringAssert.Contains(verdict.Reason, "nesting deeper than 200");
        }
        Assert.IsTrue(verifier.IsEquivalent(new string('(', 150) + "1" + new string(')', 150), "1"), "nesting within the limit is evaluated");
    }

    [TestMethod]
    public void QuadraticWorkStopsAtTheTimeBudget()
    {
        var verifier = new MathAnswerVerifier(new MathAnswerVerifierOptions { TimeBudget = Budget, MaxAnswerLength = 1_000_000 });
        string forward = @"\{" + string.Join(",", Enumerable.Range(0, 30_000)) + @"\}";
        string backward = @"\{" + string.Join(",", Enumerable.Range(0, 30_000).Reverse()) + @"\}";
        var clock = Stopwatch.StartNew();
        var verdict = verifier.Compare(forward, backward);
        Assert.AreEqual(AnswerOutcome.Undecided, verdict.Outcome, verdict.Reason);
        StringAssert.Contains(verdict.Reason, "time budget of 500 ms exceeded");
        Assert.IsTrue(clock.Elapsed < 2 * Budget, $"{clock.ElapsedMilliseconds} ms");
    }
}
