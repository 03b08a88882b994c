using StepWiser.ML.Annotation;
using StepWiser.ML.Evaluation;
using StepWiser.ML.Judging;

namespace StepWiser.ML.Tests.Evaluation;

[TestClass]
public sealed class JudgeCalibrationTests
{
    // Labelled solutions: "r…" steps are right, "w…" wrong; a solution's labels are true up to its first "w".
    private static readonly StepwiseExample[] Solutions =
    [
        Solution("r1", "r2", "r3"),
        Solution("r1", "w2", "r3"),
        Solution("w1", "r2"),
        Solution("r1", "r2"),
        Solution("r1", "r2", "w3"),
    ];

    private static StepwiseExample Solution(params string[] steps)
    {
        var firstWrong = Array.FindIndex(steps, s => s[0] == 'w');
        return new StepwiseExample("p", steps, steps.Select((_, i) => firstWrong < 0 || i < firstWrong).ToArray());
    }

    [TestMethod]
    public async Task ChoosesTheThresholdThatSeparatesTheLabels_ScriptedJudge()
    {
        // A judge that ranks steps right (right 0.3, wrong 0.1) but whose own verdicts (score ≥ 0.5) reject everything.
        var judge = new ScriptedJudge(c => c[0] == 'r' ? 0.3f : 0.1f);
        var choice = await JudgeCalibration.ChooseThresholdAsync(judge, Solutions);
        Assert.AreEqual(0.0, choice.DefaultF1, 1e-9, "rejecting every first step finds no correct solution and only the w1 error");
        Assert.AreEqual(1.0, choice.F1, 1e-9);
        Assert.AreEqual(0.2f, choice.Threshold, 1e-6f, "the midpoint between the two scores");
        Assert.AreEqual(5, choice.Solutions);

        var calibrated = JudgeCalibration.WithThreshold(judge, choice.Threshold);
        var judged = await StepJudging.JudgeSolutionsAsync(calibrated, Solutions.Select(s => (s.Prompt, s.Completions)).ToArray());
        CollectionAssert.AreEqual(new[] { -1, 1, 0, -1, 2 }, judged.Select(j => j.FirstRejected).ToArray());
        Assert.AreEqual(0.3f, judged[0].Scores[0], "scores are the judge's own");
    }

    [TestMethod]
    public async Task RefusesSolutionsOfOneKindOrMismatchedLabels()
    {
        var judge = new ScriptedJudge(_ => 0.5f);
        var e = await Assert.ThrowsExactlyAsync<ArgumentException>(() => JudgeCalibration.ChooseThresholdAsync(judge, [Solution("r1"), Solution("r2", "r3")]));
        StringAssert.Contains(e.Message, "solutions with a negative label and solutions without one");
        e = await Assert.ThrowsExactlyAsync<ArgumentException>(() => JudgeCalibration.ChooseThresholdAsync(judge, [new StepwiseExample("p", ["r1", "w2"], [true]), Solution("w1")]));
        StringAssert.Contains(e.Message, "solution 0 has 2 steps but 1 labels");
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => JudgeCalibration.WithThreshold(judge, 1.5f));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new StepwiseJudgeOptions { AcceptanceThreshold = -0.1f });
    }

    /// <summary>A judge that scores each step by its text and accepts at 0.5 (a mock: the calibration arithmetic is what is tested).</summary>
    private sealed class ScriptedJudge(Func<string, float> score) : IStepJudge
    {
        public Task<IReadOnlyList<StepVerdict>> JudgeStepsAsync(IReadOnlyList<JudgeInput> inputs, CancellationToken cancellationToken = default) =>
            Task.FromResult<IReadOnlyList<StepVerdict>>(inputs.Select(i => new StepVerdict(score(i.Chunk) >= 0.5f, score(i.Chunk), "", 0)).ToArray());
    }
}
