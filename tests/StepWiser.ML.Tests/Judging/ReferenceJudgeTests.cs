using StepWiser.ML.Generation;
using StepWiser.ML.Judging;

namespace StepWiser.ML.Tests.Judging;

/// <summary>The two-pass "solve, then compare" judge: its text operations and its reference writing.</summary>
[TestClass]
public sealed class ReferenceJudgeTests
{
    [TestMethod]
    public void PairsAndMarkedAnalysisAlignTheTwoTextsByCharacter()
    {
        Assert.AreEqual("aa bc", ReferenceComparison.Pairs("ab", "ac"));
        Assert.AreEqual("11 22 3_", ReferenceComparison.Pairs("123", "12"), "past the shorter text's end");
        Assert.AreEqual("aa    bb", ReferenceComparison.Pairs("a\n\nb", "a b"), "both texts on one line first (the space pair between the letters)");
        var same = new JudgeInput("p", [], "7+1=8") { Reference = "7+1=8" };
        Assert.AreEqual("77= ++= 11= === 88= Same.", ReferenceComparison.Analysis(same));
        Assert.AreEqual("77= ++= 11= === 89! Different.", ReferenceComparison.Analysis(same with { Chunk = "7+1=9" }));
        Assert.AreEqual("77= ++= 11= === 88= _.! Different.", ReferenceComparison.Analysis(same with { Chunk = "7+1=8." }));
        Assert.AreEqual("77= ++= 11= === 89!", ReferenceComparison.Marked("7+1=8", "7+1=9"), "the analysis without its conclusion");
        Assert.IsTrue(ReferenceComparison.ConcludesSame(ReferenceComparison.Analysis(same)));
        Assert.IsFalse(ReferenceComparison.ConcludesSame(ReferenceComparison.Analysis(same with { Chunk = "7+1=9" })));
        Assert.IsTrue(ReferenceComparison.ConcludesSame("aa= Same. Different. garbage"), "the first conclusion counts");
        Assert.IsFalse(ReferenceComparison.ConcludesSame("aa= bb= no conclusion"));
        var cut = new string('9', 200);
        Assert.AreEqual(ReferenceComparison.MaxLength, ReferenceComparison.Pairs(cut, cut).Split(' ').Length, "long texts are cut");

        var error = Assert.ThrowsExactly<ArgumentException>(() => ReferenceComparison.Analysis(new JudgeInput("p", [], "Add 13.")));
        StringAssert.Contains(error.Message, "Add 13.");
        Assert.AreEqual("Compare your step with the new step.\nPairs: 77 ++ 11 == 89\nAnalysis:", JudgeTemplate.ReferencePairs.Render(same with { Chunk = "7+1=9" }));
        Assert.ThrowsExactly<ArgumentException>(() => JudgeTemplate.ReferencePairs.Render(new JudgeInput("p", [], "x")));
        Assert.AreSame(JudgeTemplate.ReferencePairs, JudgeTemplate.FromName(JudgeTemplate.ReferencePairs.Name), "a saved judge finds its template by name");
    }

    [TestMethod]
    public void PracticePairsAreHalfEqualAndOtherwiseChangeOnlyLettersAndDigitsInPlace()
    {
        string[] references = ["Subtract 62. 10-62=58", "Add 13. 07+13=10", "The answer is \\boxed{58}."];
        var pairs = ReferenceComparison.PracticePairs(references, 400, maxEdits: 3, seed: 4);
        Assert.HasCount(400, pairs);
        Assert.AreEqual(200, pairs.Count(p => p.Reference == p.Chunk), "every other pair is unchanged");
        foreach (var p in pairs.Where(p => p.Reference != p.Chunk))
        {
            CollectionAssert.Contains(references, p.Reference);
            Assert.AreEqual(p.Reference!.Length, p.Chunk.Length);
            var changed = Enumerable.Range(0, p.Chunk.Length).Where(i => p.Chunk[i] != p.Reference[i]).ToArray();
            Assert.IsTrue(changed.Length is >= 1 and <= 3, $"{changed.Length} changes in {p.Chunk}");
            Assert.IsTrue(changed.All(i => char.IsAsciiDigit(p.Chunk[i]) == char.IsAsciiDigit(p.Reference[i]) && char.IsAsciiLetterOrDigit(p.Chunk[i])), p.Chunk);
        }
        Assert.IsTrue(pairs.Zip(ReferenceComparison.PracticePairs(references, 400, maxEdits: 3, seed: 4)).All(x => x.First == x.Second), "the same seed gives the same pairs");
    }

    [TestMethod]
    public async Task TheWriterWritesOnceForEachProblemAndHistoryAndThePassTwoJudgeReadsIt_ScriptedGenerators()
    {
        var prompts = new List<string>();
        var writer = new Scripted(prompt => { prompts.Add(prompt); return "<chunk>mine " + prompt.Length + "</chunk>"; });
        var seen = new List<JudgeInput>();
        var inner = new Recording(seen);
        var references = new ReferenceWriter(writer, i => i.Problem + "|" + string.Join("|", i.History));
        var judge = new ReferenceJudge(references, inner);

        JudgeInput[] inputs = [new("p", [], "a"), new("p", [], "b"), new("p", ["a"], "c"), new("q", [], "d") { Reference = "given" }];
        var verdicts = await judge.JudgeStepsAsync(inputs);
        Assert.HasCount(4, verdicts);
        CollectionAssert.AreEqual(new[] { "p|", "p|a" }, prompts, "one writer prompt per distinct problem and history; a given reference is kept");
        CollectionAssert.AreEqual(new[] { "mine 2", "mine 2", "mine 3", "given" }, seen.Select(i => i.Reference).ToArray());
        CollectionAssert.AreEqual(inputs.Select(i => i.Chunk).ToArray(), seen.Select(i => i.Chunk).ToArray());
        Assert.AreEqual(2, references.Written);

        await judge.JudgeStepsAsync([new JudgeInput("p", [], "e"), new JudgeInput("r", [], "f")]);
        CollectionAssert.AreEqual(new[] { "p|", "p|a", "r|" }, prompts, "a reference written before is reused");
        Assert.AreEqual(3, references.Written);
    }

    [TestMethod]
    public async Task AMemoizedJudgeJudgesEachDistinctInputOnceAndReturnsItsVerdictsInOrder_RecordingJudge()
    {
        var seen = new List<JudgeInput>();
        var judge = new MemoizedJudge(new Recording(seen));
        JudgeInput[] first = [new("p", [], "a") { Reference = "a" }, new("p", [], "b") { Reference = "a" }, new("p", [], "a") { Reference = "a" }];
        var verdicts = await judge.JudgeStepsAsync(first);
        CollectionAssert.AreEqual(new[] { true, false, true }, verdicts.Select(v => v.Positive).ToArray());
        Assert.HasCount(2, seen, "the repeated input is judged once");
        // The same step with another reference, or another history, is another input.
        verdicts = await judge.JudgeStepsAsync([new JudgeInput("p", [], "b") { Reference = "b" }, first[1], new JudgeInput("p", ["x"], "a") { Reference = "a" }]);
        CollectionAssert.AreEqual(new[] { true, false, true }, verdicts.Select(v => v.Positive).ToArray());
        Assert.HasCount(4, seen);
        Assert.AreEqual(4, judge.Judged);
    }

    private sealed class Recording(List<JudgeInput> seen) : IStepJudge
    {
        public Task<IReadOnlyList<StepVerdict>> JudgeStepsAsync(IReadOnlyList<JudgeInput> inputs, CancellationToken cancellationToken = default)
        {
            seen.AddRange(inputs);
            IReadOnlyList<StepVerdict> verdicts = inputs.Select(i => new StepVerdict(i.Reference == i.Chunk, 0.5f, "", 0)).ToArray();
            return Task.FromResult(verdicts);
        }
    }

    private sealed class Scripted(Func<string, string> answer) : ITextGenerator
    {
        public Task<IReadOnlyList<GenerationResult>> GenerateAsync(IReadOnlyList<GenerationRequest> requests, CancellationToken cancellationToken = default)
        {
            IReadOnlyList<GenerationResult> results = requests.Select(r => new GenerationResult([new GeneratedSample(answer(r.Prompt!), [], FinishReason.EndOfSequence)])).ToArray();
            return Task.FromResult(results);
        }
    }
}
