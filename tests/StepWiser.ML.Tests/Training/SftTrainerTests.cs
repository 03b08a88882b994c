using StepWiser.ML.Generation;
using StepWiser.ML.Models;
using StepWiser.ML.Tokenization;
using StepWiser.ML.Training;

namespace StepWiser.ML.Tests.Training;

[TestClass]
public sealed class SftTrainerTests
{
    private static SftExample Reverse(Random random)
    {
        string digits = string.Concat(Enumerable.Range(0, random.Next(3, 6)).Select(_ => (char)('0' + random.Next(10))));
        return new SftExample($"rev {digits}=", new string(digits.Reverse().ToArray()));
    }

    private static double ExactMatch(CausalLM model, IReadOnlyList<SftExample> cases)
    {
        var engine = new LocalTextGenerator(model, BuiltInTokenizer.Create());
        var results = engine.Generate(cases.Select(c => GenerationRequest.FromText(c.Prompt, SamplingOptions.Greedy(8))).ToArray());
        return cases.Zip(results).Count(p => p.Second.Samples[0].Text == p.First.Response) / (double)cases.Count;
    }

    [TestMethod]
    public void LearnsToReverseDigitStringsItHasNotSeen()
    {
        var random = new Random(7);
        var train = Enumerable.Range(0, 2000).Select(_ => Reverse(random)).ToArray();
        var seen = train.Select(e => e.Prompt).ToHashSet();
        var heldOut = Enumerable.Range(0, 400).Select(_ => Reverse(random)).Where(e => !seen.Contains(e.Prompt)).Take(60).ToArray();

        using var model = CausalLM.CreateRandom(BuiltInModels.Tiny, seed: 1);
        double before = ExactMatch(model, heldOut);
        var result = new SftTrainer(model, BuiltInTokenizer.Create(), new SftOptions { Steps = 350, BatchSize = 32, LearningRate = 3e-3, WarmupSteps = 20 })
            .Train(train);
        double after = ExactMatch(model, heldOut);

        Assert.AreEqual(0.0, before, "an untrained model cannot reverse digits");
        Assert.IsTrue(result.Losses[^1] < result.Losses[0] / 5, $"loss {result.Losses[0]:F3} -> {result.Losses[^1]:F3}");
        Assert.IsTrue(after >= 0.8, $"held-out exact match after training: {after:P0}");
    }

    [TestMethod]
    public void ResumeAfterInterruptionContinuesExactlyWhereItStopped()
    {
        var random = new Random(3);
        var train = Enumerable.Range(0, 300).Select(_ => Reverse(random)).ToArray();
        var options = () => new SftOptions { Steps = 24, BatchSize = 8, GradientAccumulationSteps = 2, LearningRate = 2e-3, WarmupSteps = 4 };

        using var straight = CausalLM.CreateRandom(BuiltInModels.Tiny, seed: 2);
        var straightResult = new SftTrainer(straight, BuiltInTokenizer.Create(), options()).Train(train);

        string dir = Path.Combine(Path.GetTempPath(), "stepwiser-sft-resume-" + Guid.NewGuid().ToString("N"));
        try
        {
            using var interrupted = CausalLM.CreateRandom(BuiltInModels.Tiny, seed: 2);
            using var cts = new CancellationTokenSource();
            var first = options();
            first.CheckpointDirectory = dir;
            first.CheckpointEvery = 5;
            var stopAt13 = new Progress13(cts);
            Assert.ThrowsExactly<OperationCanceledException>(() => new SftTrainer(interrupted, BuiltInTokenizer.Create(), first).Train(train, stopAt13, cts.Token));
            Assert.AreEqual(10L, TrainingCheckpoint.List(dir)[^1].Step, "the newest complete checkpoint is step 10");

            // A fresh process would start from a fresh model: resume must restore everything from disk.
            using var resumed = CausalLM.CreateRandom(BuiltInModels.Tiny, seed: 99);
            var second = options();
            second.CheckpointDirectory = dir;
            second.CheckpointEvery = 5;
            var resumedResult = new SftTrainer(resumed, BuiltInTokenizer.Create(), second).Train(train);

            Assert.AreEqual(10, resumedResult.ResumedFromStep);
            CollectionAssert.AreEqual(straightResult.Losses.Skip(10).Select(l => Math.Round(l, 5)).ToArray(), resumedResult.Losses.Select(l => Math.Round(l, 5)).ToArray());
            var a = straight.named_parameters().ToDictionary(p => p.name, p => p.parameter);
            foreach (var (name, p) in resumed.named_parameters())
                Assert.IsTrue(a[name].allclose(p, rtol: 0, atol: 1e-6), $"parameter {name} differs after resume");
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
    }

    private sealed class Progress13(CancellationTokenSource cts) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value)
        {
            if (value.Step == 13) cts.Cancel();
        }
    }
}
