using StepWiser.ML.Judging;
using StepWiser.ML.Models;
using StepWiser.ML.Tokenization;

namespace StepWiser.ML.Tests.Judging;

/// <summary>
/// GRPO's per-step metrics CSV (<see cref="GrpoOptions.LogCsvPath"/>): an earlier file is replaced only once the run has a
/// step to write, and a run resumed from a checkpoint keeps the earlier rows up to that checkpoint and writes no row
/// twice, so the resumed file equals the file of a run that was never interrupted.
/// </summary>
[TestClass]
public sealed class GrpoMetricsLogTests
{
    private static GrpoOptions Options(string csv, string checkpoints) => new()
    {
        Steps = 3, PromptsPerStep = 2, GroupSize = 2, MiniBatchSize = 4, MaxNewTokens = 6, LearningRate = 1e-3, Seed = 3,
        LogCsvPath = csv, CheckpointDirectory = checkpoints, CheckpointEvery = 2,
    };

    [TestMethod]
    public void AResumedRunKeepsTheRowsUpToItsCheckpointAndWritesNoneTwice()
    {
        var dir = Directory.CreateTempSubdirectory("grpo-metrics").FullName;
        try
        {
            var tokenizer = BuiltInTokenizer.Create();
            var template = JudgeTemplate.Compact;
            var examples = Enumerable.Range(0, 8).Select(i => new JudgeExample(new JudgeInput("Start with 3.", [], $"Add {i}."), i % 2 == 0)).ToArray();
            var csv = Path.Combine(dir, "metrics.csv");
            File.WriteAllText(csv, "EARLIER RUN\n");

            // An uninterrupted run: three steps, checkpoints after steps 2 and 3.
            using (var model = CausalLM.CreateRandom(BuiltInModels.Tiny, seed: 4))
                new GrpoTrainer(model, tokenizer, template, Options(csv, Path.Combine(dir, "a"))).Train(examples);
            var whole = File.ReadAllText(csv);
            var lines = whole.TrimEnd('\n').Split('\n');
            Assert.AreEqual(GrpoStepMetrics.CsvHeader, lines[0], "the earlier file was replaced by this run's");
            CollectionAssert.AreEqual(new[] { "1", "2", "3" }, lines.Skip(1).Select(l => l.Split(',')[0]).ToArray());

            // The same run killed after step 3 but before its last checkpoint: only the step-2 checkpoint is left and the
            // CSV still holds step 3's row. Resumed, it runs step 3 again and the file holds each step once.
            var checkpoints = Path.Combine(dir, "b");
            using (var model = CausalLM.CreateRandom(BuiltInModels.Tiny, seed: 4))
                new GrpoTrainer(model, tokenizer, template, Options(csv, checkpoints)).Train(examples);
            foreach (var last in Directory.GetDirectories(checkpoints, "checkpoint-000003*")) Directory.Delete(last, recursive: true);
            using (var model = CausalLM.CreateRandom(BuiltInModels.Tiny, seed: 4))
            {
                var resumed = new GrpoTrainer(model, tokenizer, template, Options(csv, checkpoints)).Train(examples);
                Assert.AreEqual(3, resumed.Single().Step, "the resumed run ran step 3 only");
            }
            Assert.AreEqual(whole, File.ReadAllText(csv), "the resumed file equals the uninterrupted run's");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
