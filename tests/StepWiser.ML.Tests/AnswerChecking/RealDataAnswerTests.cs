using System.Text.Json;
using StepWiser.ML.AnswerChecking;
using StepWiser.ML.Tests.Infrastructure;

namespace StepWiser.ML.Tests.AnswerChecking;

/// <summary>
/// The verifier on the real data in ../shared/data: MATH-500 and GSM8K references, all pairs of distinct MATH-500
/// answers (false positives), and the final-answer labels of ProcessBench records whose problems are MATH-500 or
/// GSM8K problems. The counts are those written in docs/answer-checking.md.
/// </summary>
[TestClass]
public sealed class RealDataAnswerTests
{
    private static IEnumerable<JsonElement> Lines(string folder, string file) =>
        File.ReadLines(TestData.PathOf(folder, file)).Select(line => JsonDocument.Parse(line).RootElement);

    /// <summary>
    /// The boxed answer of each reference solution against the answer field, as given and wrapped in math delimiters
    /// (which makes the texts differ, so the comparison runs through normalisation).
    /// </summary>
    [TestMethod]
    public void EveryMath500SolutionsBoxedAnswerEqualsItsAnswerField()
    {
        var verifier = new MathAnswerVerifier();
        var rows = Lines("math500", "test.jsonl").ToArray();
        var misses = rows
            .SelectMany(r => new[] { r.GetProperty("answer").GetString()!, "$" + r.GetProperty("answer").GetString()! + "$" }
                .Select(reference => verifier.Verify(r.GetProperty("solution").GetString()!, reference)))
            .Where(v => !v.IsCorrect).ToArray();
        Assert.AreEqual(500, rows.Length);
        Assert.AreEqual(0, misses.Length, string.Join("\n", misses.Take(10)));
    }

    [TestMethod]
    public void EveryGsm8kAnswerEqualsItselfAfterExtraction()
    {
        var verifier = new MathAnswerVerifier();
        var answers = Lines("gsm8k", "test.jsonl").Select(r => r.GetProperty("answer").GetString()!).ToArray();
        var misses = answers.Where(a => !verifier.Verify(a, a).IsCorrect).ToArray();
        Assert.AreEqual(1319, answers.Length);
        Assert.AreEqual(0, misses.Length, string.Join("\n", misses.Take(5)));
        // The marker's number, thousands separators included (14 answers have them), equals its plain form.
        var plain = answers.Select(a => verifier.ExtractAnswer(a)!).Where(a => a.Contains(',')).ToArray();
        Assert.AreEqual(14, plain.Length);
        Assert.IsTrue(plain.All(a => verifier.IsEquivalent(a, a.Replace(",", ""))));
    }

    /// <summary>
    /// Compares every pair of distinct MATH-500 answer strings (45,150 pairs). Only these pairs may be judged
    /// equivalent: each is the same answer written two ways under the documented rules (degrees, units, currency
    /// and base subscripts dropped, x = 5 is 5, lists unordered, \frac14 is \frac{1}{4}).
    /// </summary>
    [TestMethod]
    public void DistinctMath500AnswersAreEquivalentOnlyWhenTheyAreTheSameAnswer()
    {
        string[][] expectedPairs =
        [
            [@"90^\circ", "90"], ["5", "x=5"], ["1,-2", "-2,1"], ["40_9", "40"], [@"120^\circ", "120"], ["36", @"36^\circ"],
            ["36", @"\$36"], [@"\frac{1}{4}", @"\frac14"], [@"30^\circ", "30"], [@"10,\!080", "10080"],
            ["15", @"15\mbox{ cm}^2"], [@"36^\circ", @"\$36"], [@"2 \sqrt{5}", @"2\sqrt{5}"],
        ];
        var verifier = new MathAnswerVerifier();
        var answers = Lines("math500", "test.jsonl").Select(r => r.GetProperty("answer").GetString()!).Distinct().ToArray();
        var found = new List<string>();
        for (int i = 0; i < answers.Length; i++)
            for (int j = i + 1; j < answers.Length; j++)
                if (verifier.Compare(answers[i], answers[j]).Outcome != AnswerOutcome.NotEquivalent) found.Add($"{answers[i]} == {answers[j]}");
        Assert.AreEqual(301, answers.Length);
        CollectionAssert.AreEquivalent(expectedPairs.Select(p => $"{p[0]} == {p[1]}").ToArray(), found, string.Join("\n", found));
    }

    /// <summary>
    /// Hard negatives from real answers: the last digit of each MATH-500 answer that has one is changed (9 becomes 0,
    /// others go up by one); the result must be judged different. The exceptions, each explained: a changed unit
    /// exponent (<c>inches^2</c> to <c>^3</c>, <c>cm^2</c> to <c>^3</c>) is part of the unit, which is dropped; and
    /// <c>.35625</c> against <c>.35626</c> is within the 1e-4 relative tolerance that decimals get.
    /// </summary>
    [TestMethod]
    public void ChangingOneDigitOfAMath500AnswerMakesItDifferent()
    {
        var verifier = new MathAnswerVerifier();
        int changed = 0;
        var notDifferent = new List<string>();
        foreach (string answer in Lines("math500", "test.jsonl").Select(r => r.GetProperty("answer").GetString()!))
        {
            int at = answer.AsSpan().LastIndexOfAnyInRange('0', '9');
            if (at < 0) continue;
            changed++;
            string perturbed = answer[..at] + (char)('0' + (answer[at] - '0' + 1) % 10) + answer[(at + 1)..];
            if (verifier.Compare(answer, perturbed).Outcome != AnswerOutcome.NotEquivalent) notDifferent.Add(answer);
        }
        Assert.AreEqual(489, changed);
        CollectionAssert.AreEquivalent(new[] { @"864 \mbox{ inches}^2", @"15\mbox{ cm}^2", ".35625" }, notDifferent, string.Join("\n", notDifferent));
    }

    /// <summary>
    /// ProcessBench's <c>final_answer_correct</c> label against our verdict on the same response, for the 112 MATH
    /// records whose problem is in MATH-500 and the 400 GSM8K records (all from the GSM8K test set).
    /// </summary>
    [TestMethod]
    public void VerdictsAgreeWithProcessBenchFinalAnswerLabels()
    {
        var references = Lines("math500", "test.jsonl").ToDictionary(r => r.GetProperty("problem").GetString()!.Trim(), r => r.GetProperty("answer").GetString()!);
        foreach (var row in Lines("gsm8k", "test.jsonl")) references[row.GetProperty("question").GetString()!.Trim()] = row.GetProperty("answer").GetString()!;
        var records = new[] { "math", "gsm8k" }
            .SelectMany(subset => JsonDocument.Parse(File.ReadAllText(TestData.PathOf("processbench", subset + ".json"))).RootElement.EnumerateArray())
            .Where(r => references.ContainsKey(r.GetProperty("problem").GetString()!.Trim())).ToArray();
        Assert.AreEqual(512, records.Length);

        (int Answered, List<string> Disagreements) Run(MathAnswerVerifier verifier)
        {
            int answered = 0;
            var disagreements = new List<string>();
            foreach (var record in records)
            {
                string response = string.Join("\n\n", record.GetProperty("steps").EnumerateArray().Select(s => s.GetString()));
                var verdict = verifier.Verify(response, references[record.GetProperty("problem").GetString()!.Trim()]);
                if (verdict.Outcome == AnswerOutcome.NoAnswer) continue;
                answered++;
                if (verdict.IsCorrect != record.GetProperty("final_answer_correct").GetBoolean()) disagreements.Add(record.GetProperty("id").GetString()!);
            }
            return (answered, disagreements);
        }

        // Boxed answers only (the default): 80 responses state none.
        var boxed = Run(new MathAnswerVerifier());
        Assert.AreEqual(432, boxed.Answered);
        // With the last-number fallback every response has an answer.
        var fallback = Run(new MathAnswerVerifier(new MathAnswerVerifierOptions { ExtractionModes = AnswerExtractionModes.Default | AnswerExtractionModes.LastNumber }));
        Assert.AreEqual(512, fallback.Answered);

        // The disagreements, each explained:
        // math-392: "\frac{1}{\sin x \cos x} - \tan x" does equal \cot x; the label rejects it as not simplified.
        // gsm8k-70, gsm8k-74: the boxed answer is the reference number (59, 2); the label says incorrect.
        // gsm8k-319: "4 blue shoe boxes and 6 red shoe boxes" for 10; the label accepts the unsummed words.
        // With the fallback also: math-902 ends "-\frac{24}{25}" in prose, whose last number is 25; gsm8k-238 ends
        // "34 hours in 4 weeks", whose last number is 4.
        CollectionAssert.AreEquivalent(new[] { "math-392", "gsm8k-70", "gsm8k-74", "gsm8k-319" }, boxed.Disagreements, string.Join(", ", boxed.Disagreements));
        CollectionAssert.AreEquivalent(new[] { "math-392", "math-902", "gsm8k-70", "gsm8k-74", "gsm8k-238", "gsm8k-319" }, fallback.Disagreements,
            string.Join(", ", fallback.Disagreements));
    }
}
