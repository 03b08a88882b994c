using Microsoft.ML;
using Microsoft.ML.Data;
using StepWiser.ML.Annotation;
using StepWiser.ML.AnswerChecking;
using StepWiser.ML.Chunking;
using StepWiser.ML.Generation;
using StepWiser.ML.Judging;
using StepWiser.ML.Models;
using StepWiser.ML.Tests.Infrastructure;

namespace StepWiser.ML.Tests.Judging;

/// <summary>
/// The judge trainers as ML.NET estimators: chunker → annotator → judge trainer is one <see cref="EstimatorChain{T}"/>
/// that fits on the policy's solutions and whose fitted chain adds the judge's columns to every solution; the trainers
/// promise that shape (and name the column they miss) before any work.
/// </summary>
[TestClass]
public sealed class JudgeTrainerChainTests
{
    private static string _store = "";

    [ClassInitialize]
    public static void CreateStore(TestContext _) => _store = Directory.CreateTempSubdirectory("chain-rollouts").FullName;

    [ClassCleanup]
    public static void DeleteStore() => Directory.Delete(_store, recursive: true);

    [TestMethod]
    public void ChunkerAnnotatorAndStepwiseJudgeTrainerFitAsOneChainAndJudgeEverySolution()
    {
        var ml = new MLContext(seed: 1);
        var sw = ml.StepWiser();
        using var judgeBase = ModelBundle.Load(WorldPolicyFixture.Directory);
        var trainer = sw.Trainers.StepwiseJudge(new StepwiseJudgeTrainerOptions
        {
            Model = judgeBase, StepLabelsColumnName = "StepLabels",
            Grpo = new GrpoOptions { Steps = 2, PromptsPerStep = 4, GroupSize = 2, MaxNewTokens = 16 },
            Judge = new StepwiseJudgeOptions { MaxNewTokens = 16 },
        });
        var (data, chain) = Chain(ml, trainer);

        using var fitted = chain.Fit(data);
        var judge = fitted.LastTransformer;
        Assert.AreEqual("2", judge.Metadata["rl_steps"]);
        Assert.IsGreaterThan(0, int.Parse(judge.Metadata["training_examples"], System.Globalization.CultureInfo.InvariantCulture));
        AssertEverySolutionJudged(fitted.Transform(data), rationales: true);
        judge.Dispose();
    }

    [TestMethod]
    public void ChunkerAnnotatorAndDiscriminativeTrainerFitAsOneChainAndJudgeEverySolution()
    {
        var ml = new MLContext(seed: 1);
        var sw = ml.StepWiser();
        using var judgeBase = ModelBundle.Load(WorldPolicyFixture.Directory);
        var trainer = sw.Trainers.Discriminative(new DiscriminativeJudgeTrainerOptions
        {
            Model = judgeBase, StepLabelsColumnName = "StepLabels", Recipe = new JudgeRecipeOptions { WarmupSteps = 3, BatchSize = 4 },
        });
        var (data, chain) = Chain(ml, trainer);

        using var fitted = chain.Fit(data);
        var judge = fitted.LastTransformer;
        Assert.AreEqual("discriminative", judge.Metadata["trainer"]);
        AssertEverySolutionJudged(fitted.Transform(data), rationales: false);
        judge.Dispose();
    }

    [TestMethod]
    public void GetOutputSchemaAppendsTheJudgesColumnsAndNamesAMissingOrMistypedColumn()
    {
        var ml = new MLContext(seed: 1);
        using var model = ModelBundle.BuiltIn(CausalLM.CreateRandom(BuiltInModels.Tiny, seed: 1));
        var generative = ml.StepWiser().Trainers.StepwiseJudge(new StepwiseJudgeTrainerOptions { Model = model, StepLabelsColumnName = "StepLabels" });
        var discriminative = ml.StepWiser().Trainers.Discriminative(new DiscriminativeJudgeTrainerOptions { Model = model, StepLabelsColumnName = "StepLabels" });
        var solutions = Shape<Solution>(ml);

        var shape = generative.GetOutputSchema(solutions);
        foreach (var name in new[] { "Problem", "Chunks", "StepLabels", "Verdicts", "StepScores", "Rationales", "FirstRejected" })
            Assert.IsTrue(shape.Any(c => c.Name == name), $"the generative judge's shape has {name}");
        var scores = shape.Single(c => c.Name == "StepScores");
        Assert.IsTrue(scores.Kind == SchemaShape.Column.VectorKind.VariableVector && scores.ItemType == NumberDataViewType.Single);
        var plain = discriminative.GetOutputSchema(solutions);
        Assert.IsTrue(plain.Any(c => c.Name == "Verdicts") && plain.Any(c => c.Name == "FirstRejected"));
        Assert.IsFalse(plain.Any(c => c.Name == "Rationales"), "the discriminative judge writes no rationales");

        var unlabelled = Shape<Unlabelled>(ml);
        var missing = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => generative.GetOutputSchema(unlabelled));
        StringAssert.Contains(missing.Message, "input column 'StepLabels' not found");
        var mistyped = Shape<ScalarLabel>(ml);
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => discriminative.GetOutputSchema(mistyped)).Message,
            "input column 'StepLabels' must be a vector of boolean");

        var steps = Shape<LabelledStep>(ml);
        var onSteps = ml.StepWiser().Trainers.StepwiseJudge(new StepwiseJudgeTrainerOptions { Model = model });
        var chainNeedsSolutions = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => onSteps.GetOutputSchema(steps));
        StringAssert.Contains(chainNeedsSolutions.Message, "'Chunks'");
        StringAssert.Contains(chainNeedsSolutions.Message, "StepLabelsColumnName");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => onSteps.GetOutputSchema(solutions)).Message, "input column 'History' not found");
    }

    [TestMethod]
    public void AnnotatedSolutionsBecomeTheSelectedLabelledStepsAndAMismatchNamesTheRow()
    {
        var ml = new MLContext(seed: 1);
        using var model = ModelBundle.BuiltIn(CausalLM.CreateRandom(BuiltInModels.Tiny, seed: 1));
        var rows = new[]
        {
            new Solution { Problem = "p", Chunks = ["a", "b", "c"], StepLabels = [true, false, false] },
            new Solution { Problem = "q", Chunks = ["d"], StepLabels = [] },              // no labels: skipped
            new Solution { Problem = "r", Chunks = ["e", "f"], StepLabels = [false, true] },
        };
        var options = new DiscriminativeJudgeTrainerOptions { Model = model, StepLabelsColumnName = "StepLabels", Recipe = new JudgeRecipeOptions { WarmupSteps = 1, BatchSize = 2, Balance = false } };
        using (var judge = ml.StepWiser().Trainers.Discriminative(options).Fit(ml.Data.LoadFromEnumerable(rows)))
        {
            Assert.AreEqual("3", judge.Metadata["training_examples"], "up to each solution's first negative: a, b and e");
            Assert.AreEqual("1", judge.Metadata["positive_examples"]);
        }
        options.Recipe = options.Recipe with { StepSelection = StepSelection.AllSteps };
        using (var judge = ml.StepWiser().Trainers.Discriminative(options).Fit(ml.Data.LoadFromEnumerable(rows)))
            Assert.AreEqual("5", judge.Metadata["training_examples"]);

        rows[2].StepLabels = [false];
        var mismatch = Assert.ThrowsExactly<InvalidDataException>(() => ml.StepWiser().Trainers.Discriminative(options).Fit(ml.Data.LoadFromEnumerable(rows)));
        StringAssert.Contains(mismatch.Message, "row 2 has 2 chunks in 'Chunks' but 1 labels in 'StepLabels'");
    }

    /// <summary>The policy's solutions to three problems (four samples each) and chunker → annotator → <paramref name="trainer"/>.</summary>
    private static (IDataView Data, EstimatorChain<T> Chain) Chain<T>(MLContext ml, IEstimator<T> trainer) where T : class, ITransformer
    {
        var policy = WorldPolicyFixture.Engine();
        var prompts = WorldPolicyFixture.World.Generate("chain", 3, seed: 1);
        var sampled = policy.GenerateAsync(prompts.Select(p => GenerationRequest.FromText(p.Prompt, new SamplingOptions { NumSamples = 4, Seed = 1 })).ToArray()).GetAwaiter().GetResult();
        var data = ml.Data.LoadFromEnumerable(prompts.Zip(sampled).SelectMany(x => x.Second.Samples.Select(s =>
            new SolutionRow { Problem = x.First.Problem, Prompt = x.First.Prompt, Solution = s.Text, Answer = x.First.AnswerText })).ToArray());
        var sw = ml.StepWiser();
        var chain = sw.Transforms.ChunkSteps(new StepChunkerOptions { MalformedPolicy = MalformedChunkPolicy.Repair })
            .Append(sw.Transforms.AnnotateMonteCarlo(policy, new MathAnswerVerifier(), new MonteCarloOptions { Rollouts = 4, StoreDirectory = _store }))
            .Append(trainer);
        return (data, chain);
    }

    private static void AssertEverySolutionJudged(IDataView judged, bool rationales)
    {
        var chunks = judged.GetColumn<string[]>("Chunks").ToArray();
        var verdicts = judged.GetColumn<bool[]>("Verdicts").ToArray();
        var scores = judged.GetColumn<float[]>("StepScores").ToArray();
        var first = judged.GetColumn<int>("FirstRejected").ToArray();
        Assert.HasCount(12, chunks, "one row per solution");
        Assert.IsTrue(chunks.Any(c => c.Length > 0), "the chunker split solutions");
        for (var i = 0; i < chunks.Length; i++)
        {
            Assert.HasCount(chunks[i].Length, verdicts[i], $"row {i}: one verdict per chunk");
            Assert.HasCount(chunks[i].Length, scores[i], $"row {i}: one score per chunk");
            Assert.IsTrue(first[i] >= -1 && first[i] < chunks[i].Length, $"row {i}: first rejected {first[i]}");
            if (chunks[i].Length > 0) Assert.IsTrue(scores[i][0] is >= 0 and <= 1, $"row {i}: the first step is always judged ({scores[i][0]})");
        }
        Assert.AreEqual(rationales, judged.Schema.GetColumnOrNull("Rationales") is not null);
    }

    /// <summary>The shape of rows of <typeparamref name="T"/>, made through ML.NET's public API.</summary>
    private static SchemaShape Shape<T>(MLContext ml) where T : class, new() =>
        ml.Transforms.CustomMapping<NoColumns, T>((_, _) => { }, contractName: null).GetOutputSchema(new SchemaShape([]));

    private sealed class NoColumns;

    private sealed class LabelledStep
    {
        public string Problem { get; set; } = "p";
        [VectorType] public string[] History { get; set; } = [];
        public string Chunk { get; set; } = "c";
        public bool Label { get; set; }
    }

    private sealed class Solution
    {
        public string Problem { get; set; } = "p";
        [VectorType] public string[] Chunks { get; set; } = ["a"];
        [VectorType] public bool[] StepLabels { get; set; } = [true];
    }

    private sealed class Unlabelled
    {
        public string Problem { get; set; } = "p";
        [VectorType] public string[] Chunks { get; set; } = ["a"];
    }

    private sealed class ScalarLabel
    {
        public string Problem { get; set; } = "p";
        [VectorType] public string[] Chunks { get; set; } = ["a"];
        public bool StepLabels { get; set; }
    }
}
