using StepWiser.ML.Models;
using StepWiser.ML.Tokenization;
using StepWiser.ML.Training;
using StepWiser.ML.Worlds;

namespace StepWiser.ML.Tests.Worlds;

[TestClass]
public sealed class WorldPolicyBandTests
{
    private static readonly ArithmeticChainWorld World = new(new ArithmeticChainOptions { Difficulty = 0 });

    /// <summary>
    /// A recipe of a few seconds: 25 small updates, checks every 10 on 3 problems × 2 samples, one torch thread (two
    /// threads on cores busy with other tests spin and run several times slower).
    /// </summary>
    private static WorldPolicyOptions Quick(AccuracyBand? band) => new()
    {
        Steps = 25, BatchSize = 8, TrainProblems = 200, EvaluateEvery = 10, ValidationProblems = 3, ValidationSamples = 2, TargetAccuracy = band, Threads = 1,
    };

    [TestMethod]
    public void ABandEveryModelIsInStopsAtTheFirstCheck()
    {
        var run = WorldPolicy.TrainToBand(World, Quick(new AccuracyBand(0, 1)));
        using var model = run.Model;
        Assert.AreEqual(10, run.Updates);
        Assert.HasCount(1, run.Checks);
        Assert.AreEqual(10, run.Checks[0].Updates);
        Assert.HasCount(10, run.Losses);
        Assert.IsTrue(run.InBand);
        Assert.AreEqual(run.Checks[0].Accuracy, run.ValidationAccuracy);
        Assert.IsFalse(model.training, "the trained policy is handed back in eval mode");
    }

    [TestMethod]
    public void AnUnreachableBandTrainsEveryUpdateChecksOnTheWayAndAtTheEndAndSaysSo()
    {
        var run = WorldPolicy.TrainToBand(World, Quick(new AccuracyBand(1, 1)));
        using var model = run.Model;
        Assert.AreEqual(25, run.Updates);
        CollectionAssert.AreEqual(new[] { 10, 20, 25 }, run.Checks.Select(c => c.Updates).ToArray());
        Assert.IsTrue(run.Checks.All(c => c.Accuracy < 1), "25 updates cannot solve everything");
        Assert.IsFalse(run.InBand);
        Assert.AreEqual(run.Checks[^1].Accuracy, run.ValidationAccuracy);

        // The checks do not disturb training: a run that stopped at update 10 made the same first 10 updates.
        var stopped = WorldPolicy.TrainToBand(World, Quick(new AccuracyBand(0, 1)));
        using var stoppedModel = stopped.Model;
        CollectionAssert.AreEqual(run.Losses.Take(10).ToArray(), stopped.Losses.ToArray());
        Assert.AreEqual(run.Checks[0], stopped.Checks[0], "the same model and seeded sampling give the same check");
    }

    [TestMethod]
    public void WithoutABandTrainRunsAllStepsWithoutChecks()
    {
        var run = WorldPolicy.TrainToBand(World, Quick(band: null));
        using var model = run.Model;
        Assert.AreEqual(25, run.Updates);
        Assert.IsEmpty(run.Checks);
        Assert.IsNull(run.ValidationAccuracy);
        Assert.IsFalse(run.InBand);
        using var viaTrain = WorldPolicy.Train(World, Quick(band: null));
        var a = model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var (name, p) in viaTrain.named_parameters())
            Assert.IsTrue(a[name].allclose(p, rtol: 0, atol: 0), $"Train and TrainToBand train the same model ({name})");
    }

    [TestMethod]
    public void ThreadsArePinnedForTrainingAndRestoredAfterwards()
    {
        int before = TorchThreads.Current;
        var options = Quick(band: null);
        options.Steps = 3;
        options.Threads = before == 1 ? 2 : 1;
        var run = WorldPolicy.TrainToBand(World, options);
        run.Model.Dispose();
        Assert.AreEqual(options.Threads, run.Threads);
        Assert.AreEqual(before, TorchThreads.Current);
        using (TorchThreads.Pin(1)) Assert.AreEqual(1, TorchThreads.Current);
        Assert.AreEqual(before, TorchThreads.Current);
    }

    [TestMethod]
    public void SftStopHookStopsExactlyWhereAskedAndAStoppedRunResumesLikeAStraightOne()
    {
        using var oneThread = TorchThreads.Pin(1);
        var random = new Random(4);
        var train = Enumerable.Range(0, 200).Select(_ => new SftExample($"rev {random.Next(100, 999)}=", random.Next(100, 999).ToString(System.Globalization.CultureInfo.InvariantCulture))).ToArray();
        SftOptions Options(string? dir = null) => new() { Steps = 20, BatchSize = 8, LearningRate = 2e-3, WarmupSteps = 3, CheckpointDirectory = dir, CheckpointEvery = 5 };

        using var straight = CausalLM.CreateRandom(BuiltInModels.Tiny, seed: 3);
        var straightResult = new SftTrainer(straight, BuiltInTokenizer.Create(), Options()).Train(train);

        string dir = Path.Combine(Path.GetTempPath(), "stepwiser-sft-stop-" + Guid.NewGuid().ToString("N"));
        try
        {
            using var model = CausalLM.CreateRandom(BuiltInModels.Tiny, seed: 3);
            var calls = new List<int>();
            var stopped = new SftTrainer(model, BuiltInTokenizer.Create(), Options(dir)).Train(train, done =>
            {
                Assert.IsTrue(model.training, $"update {done}: the model is back in train mode after the previous call");
                calls.Add(done);
                model.eval(); // a hook may measure the model
                return done == 7;
            });
            Assert.AreEqual(7, stopped.Steps);
            Assert.HasCount(7, stopped.Losses);
            CollectionAssert.AreEqual(Enumerable.Range(1, 7).ToArray(), calls);
            Assert.AreEqual(7L, TrainingCheckpoint.List(dir)[^1].Step, "the stopping update is checkpointed");

            using var resumed = CausalLM.CreateRandom(BuiltInModels.Tiny, seed: 99);
            var resumedResult = new SftTrainer(resumed, BuiltInTokenizer.Create(), Options(dir)).Train(train);
            Assert.AreEqual(7, resumedResult.ResumedFromStep);
            Assert.AreEqual(20, resumedResult.Steps);
            CollectionAssert.AreEqual(straightResult.Losses.Select(l => Math.Round(l, 5)).ToArray(),
                stopped.Losses.Concat(resumedResult.Losses).Select(l => Math.Round(l, 5)).ToArray());
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
    }

    [TestMethod]
    public void OptionsAndBandsAreValidated()
    {
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new AccuracyBand(0.7, 0.3));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new AccuracyBand(-0.1, 0.5));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new AccuracyBand(0.2, 1.1));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new AccuracyBand(double.NaN, 0.5));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new WorldPolicyOptions { EvaluateEvery = 0 });
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new WorldPolicyOptions { ValidationProblems = 0 });
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new WorldPolicyOptions { ValidationSamples = 0 });
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new WorldPolicyOptions { Threads = 0 });
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => TorchThreads.Pin(0));
        var band = new AccuracyBand(0.35, 0.70);
        Assert.IsTrue(band.Contains(0.35) && band.Contains(0.70) && !band.Contains(0.34) && !band.Contains(0.71));
        var defaults = new WorldPolicyOptions();
        Assert.AreEqual(band, defaults.TargetAccuracy, "the default recipe aims at a band");
        Assert.IsNull(defaults.Threads, "the default recipe leaves torch's thread count alone");
        Assert.IsNotNull(new WorldPolicyOptions { Threads = null });
        Assert.DoesNotContain(WorldPolicy.ValidationSplit, new[] { "train", "heldout", "annotate", "select", "test" });
    }
}
