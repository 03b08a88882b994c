using System.Globalization;
using StepWiser.ML.Models;
using StepWiser.ML.Samples.Commands;
using StepWiser.ML.Samples.Reporting;
using StepWiser.ML.Samples.Stages;
using StepWiser.ML.Worlds;
using TorchSharp;

namespace StepWiser.ML.Tests.Samples;

/// <summary>
/// docs/pipeline.md's recipe example (RecipeExample.cs) is the main job's judge: one <c>Trainers.StepwiseJudge</c> fit
/// of the whole recipe, on the main job's policy and labels with its recipe and seed, gives the main job's
/// "StepWiser RL, Abs-Q" judge (which the main job trained stage by stage through the same trainer).
/// </summary>
[TestClass]
public sealed class RecipeExampleTests
{
    [TestMethod]
    [TestCategory("Slow")]
    public async Task TheRecipeExampleGivesTheMainJobsJudgeWeightForWeightAndItsTestScores()
    {
        var dir = Path.Combine(Path.GetTempPath(), $"stepwiser-recipe-{Guid.NewGuid():N}");
        try
        {
            var preset = MainJobPreset.Get("smoke");
            Assert.AreEqual(0, await MainJob.RunAsync(dir, preset, CancellationToken.None, new StageConsole(interactive: false)));

            var (judge, test) = RecipeExample.Run(dir, new ArithmeticChainWorld(preset.World()), preset.PretrainProblems, MainJob.Recipe(preset, seed: 1));
            using (judge)
            {
                Assert.AreEqual("recipe", judge.Metadata["trainer"]);
                Assert.AreEqual("All", judge.Metadata["recipe_stages"]);
                using var mainJobs = HuggingFaceCheckpoint.Load(Path.Combine(dir, "judge-stepwiser-rl-abs-q"));
                var theirs = mainJobs.named_parameters().ToDictionary(p => p.name, p => p.parameter);
                var ours = judge.Model!.Model.named_parameters().ToArray();
                Assert.HasCount(theirs.Count, ours);
                using (torch.no_grad())
                    foreach (var (name, parameter) in ours)
                        Assert.IsTrue(parameter.equal(theirs[name]).all().item<bool>(), $"{name} differs from the main job's judge");
                using var policy = HuggingFaceCheckpoint.Load(Path.Combine(dir, "policy"));
                Assert.IsFalse(policy.named_parameters().All(p => p.parameter.equal(theirs[p.name]).all().item<bool>()), "the judge was trained away from the policy's weights");
            }

            // The same scores as the main job's row on the test benchmark, subset by subset.
            var rows = File.ReadAllLines(Path.Combine(dir, "results", "evaluation.csv")).Where(l => l.StartsWith("\"StepWiser RL, Abs-Q\",1,test,", StringComparison.Ordinal)).ToArray();
            Assert.HasCount(test.Metrics.Subsets.Count, rows);
            static string F(double x) => x.ToString("F4", CultureInfo.InvariantCulture);
            foreach (var subset in test.Metrics.Subsets)
                CollectionAssert.Contains(rows, $"\"StepWiser RL, Abs-Q\",1,test,{subset.Subset},{F(subset.ErrorAccuracy)},{F(subset.CorrectAccuracy)},{F(subset.F1)}");
            var g = test.GoldSteps;
            var expected = $"\"StepWiser RL, Abs-Q\",1,{F(g.Accuracy)},{F(g.Balanced)},{F(g.PositiveAccuracy)},{F(g.NegativeAccuracy)},";
            Assert.IsTrue(File.ReadAllLines(Path.Combine(dir, "results", "step-accuracy.csv")).Any(l => l.StartsWith(expected, StringComparison.Ordinal)), $"the main job's gold step accuracy row is {expected}");
        }
        finally
        {
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
        }
    }
}
