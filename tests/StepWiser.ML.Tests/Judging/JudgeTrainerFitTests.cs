using Microsoft.ML;
using Microsoft.ML.Data;
using StepWiser.ML.Judging;
using StepWiser.ML.Models;
using StepWiser.ML.Tokenization;
using StepWiser.ML.Training;
using static TorchSharp.torch;

namespace StepWiser.ML.Tests.Judging;

/// <summary>
/// <c>Fit</c> does not change its inputs: it trains a copy of the starting bundle (unless told to train in place), so two
/// fits from one bundle give two independent judges; and a cancelled fit stops within one step.
/// </summary>
[TestClass]
public sealed class JudgeTrainerFitTests
{
    // A short template keeps these trainings about the trainer, not about long-range attention.
    private static readonly JudgeTemplate Short = new("short", i => i.Chunk + " =>");

    /// <summary>A tiny model warmed up to write a boxed verdict (a coin's), so GRPO's groups have mixed rewards and update.</summary>
    private static readonly Lazy<string> WarmedUp = new(WarmUp, LazyThreadSafetyMode.ExecutionAndPublication);

    private static readonly JudgeExample[] Steps = Enumerable.Range(0, 40).Select(i => new JudgeExample(new JudgeInput("p", [], $"x{i % 10} step"), i % 2 == 0)).ToArray();

    [TestMethod]
    public void TwoFitsFromOneBundleGiveTwoJudgesAndLeaveTheBundleAsItWas()
    {
        var ml = new MLContext(seed: 1);
        using var start = ModelBundle.Load(WarmedUp.Value);
        var before = Weights(start.Model);
        StepwiseJudgeTrainer Trainer(int seed) => ml.StepWiser().Trainers.StepwiseJudge(new StepwiseJudgeTrainerOptions
        {
            Model = start, Template = Short, Grpo = new GrpoOptions { Steps = 2, PromptsPerStep = 4, GroupSize = 4, MaxNewTokens = 20, LearningRate = 1e-2, Seed = seed },
        });
        var data = StepwiseJudgeTrainer.ToDataView(ml, Steps);
        var trainer = Trainer(1);
        using var first = trainer.Fit(data);
        Assert.IsTrue(trainer.LastMetrics.Any(m => m.ZeroAdvantageShare < 1), $"some group had mixed rewards, so GRPO updated ({string.Join("; ", trainer.LastMetrics.Select(m => $"reward {m.MeanReward:F2}, unparseable {m.UnparseableShare:P0}, length {m.ResponseLength:F0}"))})");
        using var again = trainer.Fit(data);
        using var other = Trainer(2).Fit(data);

        Assert.IsTrue(Equal(before, Weights(start.Model)), "the starting bundle's weights are unchanged");
        Assert.IsFalse(Equal(before, Weights(first.Model!.Model)), "the judge was trained");
        Assert.IsTrue(Equal(Weights(first.Model.Model), Weights(again.Model!.Model)), "a second fit with the same seed starts from the same weights, not from the first judge's");
        Assert.IsFalse(Equal(Weights(first.Model.Model), Weights(other.Model!.Model)), "another seed gives another judge");
        Assert.AreNotSame(first.Model, again.Model);
        Assert.AreSame(start.Tokenizer, first.Model.Tokenizer, "the copy keeps the tokenizer");
        Assert.AreEqual(start.Model.DType, first.Model.Model.DType);

        using var inPlaceStart = ModelBundle.Load(WarmedUp.Value);
        using var inPlace = ml.StepWiser().Trainers.StepwiseJudge(new StepwiseJudgeTrainerOptions
        {
            Model = inPlaceStart, Template = Short, TrainInPlace = true, Grpo = new GrpoOptions { Steps = 2, PromptsPerStep = 4, GroupSize = 4, MaxNewTokens = 20, LearningRate = 1e-2, Seed = 1 },
        }).Fit(data);
        Assert.AreSame(inPlaceStart, inPlace.Model, "in place, the judge owns the bundle it was given");
        Assert.IsTrue(Equal(Weights(first.Model.Model), Weights(inPlaceStart.Model)), "training in place or on a copy gives the same weights");
    }

    [TestMethod]
    public void TwoDiscriminativeFitsFromOneBundleGiveTwoJudgesAndLeaveTheBundleAsItWas()
    {
        var ml = new MLContext(seed: 1);
        using var start = ModelBundle.BuiltIn(CausalLM.CreateRandom(BuiltInModels.Tiny, seed: 4));
        var before = Weights(start.Model);
        DiscriminativeJudgeTrainer Trainer(int seed) => ml.StepWiser().Trainers.Discriminative(new DiscriminativeJudgeTrainerOptions
        {
            Model = start, Template = Short, Recipe = new JudgeRecipeOptions { WarmupSteps = 4, BatchSize = 4, Seed = seed },
        });
        var data = StepwiseJudgeTrainer.ToDataView(ml, Steps);
        var trainer = Trainer(1);
        using var first = trainer.Fit(data);
        using var again = trainer.Fit(data);
        using var other = Trainer(2).Fit(data);
        Assert.IsTrue(Equal(before, Weights(start.Model)), "the starting bundle's weights are unchanged");
        Assert.IsFalse(Equal(before, Weights(first.Model.Model)), "the judge was trained");
        Assert.IsTrue(Equal(Weights(first.Model.Model), Weights(again.Model.Model)), "a second fit with the same seed starts from the same weights, not from the first judge's");
        Assert.IsFalse(Equal(Weights(first.Model.Model), Weights(other.Model.Model)), "another seed gives another judge");
    }

    [TestMethod]
    public void ACopyHasTheSameWeightsAndOwnsThem()
    {
        using var start = ModelBundle.BuiltIn(CausalLM.CreateRandom(BuiltInModels.Tiny, seed: 4));
        var copy = start.Copy();
        Assert.IsTrue(Equal(Weights(start.Model), Weights(copy.Model)));
        using (var tokens = tensor(new long[] { 5, 6, 7, 8 }).unsqueeze(0))
        using (var a = start.Model.Forward(tokens))
        using (var b = copy.Model.Forward(tokens))
            Assert.IsTrue(a.equal(b).all().item<bool>(), "the copy computes the same logits");
        copy.Dispose();
        using var logits = start.Model.Forward(tensor(new long[] { 5 }).unsqueeze(0));
        Assert.AreEqual(3, logits.dim(), "the original still works after its copy is disposed");
    }

    [TestMethod]
    public void ACancelledGrpoFitStopsWithinOneStepAndLeavesTheBundleAsItWas()
    {
        var ml = new MLContext(seed: 1);
        using var start = ModelBundle.BuiltIn(CausalLM.CreateRandom(BuiltInModels.Tiny, seed: 4));
        var before = Weights(start.Model);
        using var cancel = new CancellationTokenSource();
        var done = new List<int>();
        var trainer = ml.StepWiser().Trainers.StepwiseJudge(new StepwiseJudgeTrainerOptions
        {
            Model = start, Template = Short, Grpo = new GrpoOptions { Steps = 5, PromptsPerStep = 4, GroupSize = 2, MaxNewTokens = 20 },
            CancellationToken = cancel.Token, Progress = new Reporter<GrpoStepMetrics>(m => { done.Add(m.Step); cancel.Cancel(); }),
        });
        Assert.ThrowsExactly<OperationCanceledException>(() => trainer.Fit(StepwiseJudgeTrainer.ToDataView(ml, Steps)));
        CollectionAssert.AreEqual(new[] { 1 }, done, "cancelled during step 1, no later step ran");
        Assert.IsTrue(Equal(before, Weights(start.Model)), "the starting bundle's weights are unchanged");
    }

    [TestMethod]
    public void ACancelledDiscriminativeFitStopsWithinOneUpdate()
    {
        var ml = new MLContext(seed: 1);
        using var start = ModelBundle.BuiltIn(CausalLM.CreateRandom(BuiltInModels.Tiny, seed: 3));
        using var cancel = new CancellationTokenSource();
        var done = new List<int>();
        var trainer = ml.StepWiser().Trainers.Discriminative(new DiscriminativeJudgeTrainerOptions
        {
            Model = start, Template = Short, Recipe = new JudgeRecipeOptions { WarmupSteps = 20, BatchSize = 4 },
            CancellationToken = cancel.Token, Progress = new Reporter<TrainingProgress>(p => { done.Add(p.Step); if (p.Step == 2) cancel.Cancel(); }),
        });
        Assert.ThrowsExactly<OperationCanceledException>(() => trainer.Fit(StepwiseJudgeTrainer.ToDataView(ml, Steps)));
        Assert.AreEqual(2, done.Max(), $"cancelled at update 2, no later update ran (reported: {string.Join(", ", done)})");
    }

    [TestMethod]
    public void TheRecipeFitRunsItsStagesInOrderLogsThemToTheContextAndStagedFitsGiveTheSameJudge()
    {
        var ml = new MLContext(seed: 1);
        var log = new List<string>();
        ml.Log += (_, e) => { if (e.Source.StartsWith("StepWiser.", StringComparison.Ordinal)) lock (log) log.Add(e.Source + ": " + e.RawMessage); };
        using var start = ModelBundle.Load(WarmedUp.Value);
        var unlabelled = Steps.Select(e => e.Input).Take(8).ToArray();
        var analysis = new JudgeAnalysis(i => i.Chunk.StartsWith("x1", StringComparison.Ordinal) ? "odd." : "even.", unlabelled);
        var recipe = new JudgeRecipeOptions
        {
            PretrainSteps = 3, WarmupSteps = 3, BatchSize = 4, Seed = 2,
            Grpo = new GrpoOptions { Steps = 2, PromptsPerStep = 4, GroupSize = 4, MaxNewTokens = 20, LearningRate = 1e-2, Seed = 2 },
        };
        StepwiseJudgeTransformer Fit(ModelBundle from, JudgeRecipeStages stages) => ml.StepWiser().Trainers.StepwiseJudge(new StepwiseJudgeTrainerOptions
        {
            Model = from, Template = Short, Recipe = recipe with { Stages = stages }, Analysis = analysis, Judge = new StepwiseJudgeOptions { MaxNewTokens = 20 },
        }).Fit(StepwiseJudgeTrainer.ToDataView(ml, Steps));
        using var whole = Fit(start, JudgeRecipeStages.All);
        Assert.AreEqual("recipe", whole.Metadata["trainer"]);
        Assert.AreEqual("2", whole.Metadata["rl_steps"]);
        var messages = string.Join(" | ", log);
        var order = new[] { "analysis stage: 3 updates on 8 unlabelled steps", "verdict stage: 3 updates", "GRPO: 2 steps" }.Select(m => messages.IndexOf(m, StringComparison.Ordinal)).ToArray();
        Assert.IsTrue(order.All(i => i >= 0) && order.SequenceEqual(order.Order()), $"the stages are logged in order to mlContext.Log: {messages}");
        StringAssert.Contains(messages, "StepWiser.StepwiseJudge: fitting on ");

        // One stage at a time, each from the previous fit's judge, gives the same weights as one fit of all three.
        using var analysed = Fit(start, JudgeRecipeStages.Analysis);
        using var verdicts = Fit(analysed.Model!, JudgeRecipeStages.Verdicts);
        using var reinforced = Fit(verdicts.Model!, JudgeRecipeStages.Grpo);
        Assert.AreEqual("0", analysed.Metadata["rl_steps"]);
        Assert.IsTrue(Equal(Weights(whole.Model!.Model), Weights(reinforced.Model!.Model)), "staged fits give the whole fit's judge");
        Assert.IsFalse(Equal(Weights(whole.Model.Model), Weights(verdicts.Model!.Model)), $"GRPO changed the weights ({string.Join("; ", log.Where(l => l.Contains("GRPO", StringComparison.Ordinal)))})");

        // A recipe keeps its own GRPO options and step selection; the trainer's must stay at their defaults.
        var conflicting = new StepwiseJudgeTrainerOptions { Model = start, Recipe = recipe, Analysis = analysis, Grpo = new GrpoOptions { Steps = 3 } };
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => ml.StepWiser().Trainers.StepwiseJudge(conflicting).Fit(StepwiseJudgeTrainer.ToDataView(ml, Steps))).Message, "Recipe.Grpo");
        var noAnalysis = new StepwiseJudgeTrainerOptions { Model = start, Recipe = recipe };
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => ml.StepWiser().Trainers.StepwiseJudge(noAnalysis).Fit(StepwiseJudgeTrainer.ToDataView(ml, Steps))).Message, "unlabelled steps");
    }

    [TestMethod]
    public void ACancelledCatalogTokenOrContextStopsFitsAndLazyTransforms()
    {
        using var start = ModelBundle.BuiltIn(CausalLM.CreateRandom(BuiltInModels.Tiny, seed: 7));
        var options = new StepwiseJudgeTrainerOptions { Model = start, Template = Short, Grpo = new GrpoOptions { Steps = 1, PromptsPerStep = 2, GroupSize = 2, MaxNewTokens = 8 }, Judge = new StepwiseJudgeOptions { MaxNewTokens = 8 } };

        // A judge fitted through a catalog whose token is then cancelled: its lazy transform stops at the next batch.
        var ml = new MLContext(seed: 1);
        using var cancel = new CancellationTokenSource();
        using var judge = ml.StepWiser(cancel.Token).Trainers.StepwiseJudge(options).Fit(StepwiseJudgeTrainer.ToDataView(ml, Steps));
        var solutions = ml.Data.LoadFromEnumerable(new[] { new Solution { Problem = "p", Chunks = ["x1 step", "x2 step"] } });
        Assert.HasCount(1, judge.Transform(solutions).GetColumn<bool[]>("Verdicts").ToArray(), "the transform runs while the token is live");
        cancel.Cancel();
        Assert.IsTrue(Canceled(() => judge.Transform(solutions).GetColumn<bool[]>("Verdicts").ToArray()), "a cancelled catalog token stops the judge's transform");
        Assert.ThrowsExactly<OperationCanceledException>(() => ml.StepWiser(cancel.Token).Trainers.StepwiseJudge(options).Fit(StepwiseJudgeTrainer.ToDataView(ml, Steps)));

        // ML.NET's own cancellation of the context: MLContext.CancelExecution, internal to Microsoft.ML (public through the
        // Microsoft.ML.Experimental package, which is not a dependency here), called by reflection.
        var cancelled = new MLContext(seed: 1);
        typeof(MLContext).GetMethod("CancelExecution", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!.Invoke(cancelled, null);
        var error = Assert.ThrowsExactly<OperationCanceledException>(() => cancelled.StepWiser().Trainers.StepwiseJudge(options).Fit(StepwiseJudgeTrainer.ToDataView(cancelled, Steps)));
        StringAssert.Contains(error.Message, "ML.NET cancelled it");
    }

    private static bool Canceled(Action action)
    {
        try { action(); return false; }
        catch (Exception e) { for (var x = e; x is not null; x = x.InnerException) if (x is OperationCanceledException) return true; throw; }
    }

    private sealed class Solution
    {
        public string Problem { get; set; } = "";
        [VectorType] public string[] Chunks { get; set; } = [];
    }

    private static string WarmUp()
    {
        var dir = Path.Combine(Path.GetTempPath(), $"stepwiser-warm-judge-{Environment.ProcessId}");
        using var bundle = ModelBundle.BuiltIn(CausalLM.CreateRandom(BuiltInModels.Tiny, seed: 2));
        var coin = new Random(5);
        var examples = JudgeWarmup.Examples(Steps.Select(e => e with { Label = coin.Next(2) == 0 }), Short, _ => "");
        new SftTrainer(bundle.Model, bundle.Tokenizer, new SftOptions { Steps = 100, BatchSize = 16, LearningRate = 5e-3, WarmupSteps = 4 }).Train(examples);
        bundle.Save(dir);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => { try { Directory.Delete(dir, recursive: true); } catch (IOException) { } };
        return dir;
    }

    private static Dictionary<string, Tensor> Weights(CausalLM model) => model.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().clone());

    private static bool Equal(Dictionary<string, Tensor> a, Dictionary<string, Tensor> b) => a.Count == b.Count && a.All(p => p.Value.equal(b[p.Key]).all().item<bool>());

    /// <summary>Reports on the training thread (unlike <see cref="Progress{T}"/>, which posts to the thread pool).</summary>
    private sealed class Reporter<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
