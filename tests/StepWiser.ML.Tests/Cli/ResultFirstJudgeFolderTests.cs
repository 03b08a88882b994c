using StepWiser.ML.Evaluation;
using StepWiser.ML.Judging;
using StepWiser.ML.Models;
using StepWiser.ML.Tests.Infrastructure;
using StepWiser.ML.Worlds;

namespace StepWiser.ML.Tests.Cli;

/// <summary>
/// A saved result-first judge loads again as one: by its template's name for a built-in inner template, and through
/// <c>evaluate --judge</c> for the built-in world's (the main job's judges), whose turn 1 runs on every step that states
/// a result.
/// </summary>
[TestClass]
public sealed class ResultFirstJudgeFolderTests
{
    [TestMethod]
    public void TurnTwoOfABuiltInTemplateIsFoundByItsNameAndTheWorldsByTheirs()
    {
        var numbered = JudgeTemplate.FromName("result-first-numbered");
        Assert.IsNotNull(numbered?.ResultFirst);
        Assert.AreEqual("numbered", numbered.ResultFirst.Inner.Name);
        Assert.IsNull(JudgeTemplate.FromName("result-first-nonesuch"));
        foreach (var template in new[] { StepVerification.ResultFirst, StepVerification.ResultFirstInPolicyContext, StepVerification.WorldIndependentResultFirst })
            Assert.AreSame(template.TurnTwo, StepVerification.TemplateNamed(template.TurnTwo.Name));
        Assert.AreEqual(3, new[] { StepVerification.ResultFirst, StepVerification.ResultFirstInPolicyContext, StepVerification.WorldIndependentResultFirst }.Select(t => t.TurnTwo.Name).Distinct().Count(), "each saved name says which template it is");
        Assert.IsNull(StepVerification.TemplateNamed("numbered"));
    }

    [TestMethod]
    public void EvaluateRunsASavedWorldResultFirstJudgeWithItsTurnOne()
    {
        var dir = Directory.CreateTempSubdirectory("result-first-judge").FullName;
        try
        {
            var judgeDir = Path.Combine(dir, "judge");
            using (var judge = new StepwiseJudgeTransformer(ModelBundle.BuiltIn(CausalLM.CreateRandom(BuiltInModels.Tiny, seed: 3)), StepVerification.WorldIndependentResultFirst.TurnTwo,
                       new StepwiseJudgeOptions { MaxNewTokens = 8 }))
                judge.Save(judgeDir);
            var input = Path.Combine(dir, "bench.json");
            ProcessBench.Write(input, [new ProcessBenchRecord { Id = "r1", Subset = "world", Problem = "Start with 16. Add 88.", Steps = ["Add 88.\n\n16+88=04", "\\boxed{04}"], Label = -1 }]);
            var output = Path.Combine(dir, "out.jsonl");
            var (code, stdout, stderr) = SamplesApp.Run(["evaluate", "--judge", judgeDir, "--input", input, "--output", output], TimeSpan.FromMinutes(2));
            Assert.AreEqual(0, code, stdout + stderr);
            StringAssert.Contains(File.ReadAllText(output), "\"r1\"");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
