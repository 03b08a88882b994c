using Microsoft.ML;
using Microsoft.ML.Data;
using StepWiser.ML.Annotation;
using StepWiser.ML.AnswerChecking;
using StepWiser.ML.Chunking;
using StepWiser.ML.Generation;
using StepWiser.ML.Judging;
using StepWiser.ML.Models;
using StepWiser.ML.Search;
using StepWiser.ML.Tests.Infrastructure;

namespace StepWiser.ML.Tests.Catalog;

/// <summary>
/// A whole fitted chain (chunker → annotator → judge trainer → search) saved in one call, loaded in a new MLContext,
/// gives the same outputs; ML.NET's own Save points at that call; one row at a time goes through a prediction engine.
/// </summary>
[TestClass]
public sealed class PipelineSaveLoadTests
{
    [TestMethod]
    [TestCategory("Slow")]
    public void AFittedChainSavedInOneCallAndLoadedInANewContextGivesTheSameOutputs()
    {
        var dir = Path.Combine(Path.GetTempPath(), $"stepwiser-pipeline-{Guid.NewGuid():N}");
        try
        {
            var ml = new MLContext(seed: 1);
            var sw = ml.StepWiser();
            using var policyBundle = ModelBundle.Load(WorldPolicyFixture.Directory);
            using var judgeBase = ModelBundle.Load(WorldPolicyFixture.Directory);
            var policy = new LocalTextGenerator(policyBundle);
            var train = Solutions(ml, policy, "fit", 4, seed: 1);
            var heldOut = Solutions(ml, policy, "heldout", 2, seed: 2);

            var trainer = sw.Trainers.StepwiseJudge(new StepwiseJudgeTrainerOptions
            {
                Model = judgeBase, StepLabelsColumnName = "StepLabels", Grpo = new GrpoOptions { Steps = 1, PromptsPerStep = 2, MaxNewTokens = 16 },
                Judge = new StepwiseJudgeOptions { MaxNewTokens = 16 },
            });
            var chain = sw.Transforms.ChunkSteps(new StepChunkerOptions { MalformedPolicy = MalformedChunkPolicy.Repair })
                .Append(sw.Transforms.AnnotateMonteCarlo(policy, new MathAnswerVerifier(), new MonteCarloOptions { Rollouts = 2, MaxNewTokens = 64 }))
                .Append(trainer)
                .Append(sw.Search.ChunkReset(policy, trainer, new ChunkResetOptions { MaxTries = 2, MaxChunks = 4, ChunkMaxNewTokens = 24 }));
            var fitted = chain.Fit(train);
            var before = Outputs(fitted.Transform(heldOut));

            // ML.NET's own model zip cannot hold the stages; the error says which call can.
            var zip = Path.Combine(Path.GetTempPath(), $"stepwiser-{Guid.NewGuid():N}.zip");
            var refused = Assert.Throws<Exception>(() => ml.Model.Save(fitted, train.Schema, zip));
            StringAssert.Contains(Messages(refused), "mlContext.StepWiser().Save(model, folder)");
            if (File.Exists(zip)) File.Delete(zip);

            sw.Save(fitted, dir);
            foreach (var stage in fitted) (stage as IDisposable)?.Dispose();
            Assert.IsTrue(File.Exists(Path.Combine(dir, "pipeline.json")));
            Assert.HasCount(1, Directory.GetDirectories(Path.Combine(dir, "models")), "the policy of the annotator and the search is saved once");

            var fresh = new MLContext(seed: 7);
            using var loaded = fresh.StepWiser().Load(dir);
            Assert.HasCount(4, loaded.Chain.ToArray());
            Assert.IsInstanceOfType<ChunkResetSearchTransformer>(loaded.LastTransformer);
            var after = Outputs(loaded.Transform(Solutions(fresh, new LocalTextGenerator(policyBundle), "heldout", 2, seed: 2)));
            CollectionAssert.AreEqual(before.Labels, after.Labels, "the loaded annotator labels the same steps the same way");
            CollectionAssert.AreEqual(before.Verdicts, after.Verdicts, "the loaded judge gives the same verdicts");
            CollectionAssert.AreEqual(before.Searched, after.Searched, "the loaded search writes the same solutions");
            Assert.IsTrue(before.Verdicts.Any(v => v.Length > 0) && before.Searched.All(s => s.Length > 0), "the outputs are not empty");

            // One row at a time through the loaded pipeline.
            var engine = fresh.StepWiser().CreatePredictionEngine<SolutionRow, Judged>(loaded);
            var row = fresh.Data.CreateEnumerable<SolutionRow>(Solutions(fresh, new LocalTextGenerator(policyBundle), "heldout", 2, seed: 2), reuseRowObject: false).First();
            var one = engine.Predict(row);
            Assert.AreEqual(before.Searched[0], one.SearchedSolution, "the prediction engine's row is the batch's first row");
            CollectionAssert.AreEqual(before.Verdicts[0], one.Verdicts);

            // A folder of something else is refused before anything is written, even one with its own pipeline.json;
            // saving again over a saved pipeline replaces it.
            var foreign = dir + "-foreign";
            Directory.CreateDirectory(foreign);
            File.WriteAllText(Path.Combine(foreign, "notes.txt"), "mine");
            var error = Assert.Throws<IOException>(() => fresh.StepWiser().Save(loaded, foreign));
            StringAssert.Contains(error.Message, "holds no saved pipeline");
            File.Delete(Path.Combine(foreign, "notes.txt"));
            File.WriteAllText(Path.Combine(foreign, "pipeline.json"), "{\"name\": \"my build pipeline\"}");
            Assert.Throws<IOException>(() => fresh.StepWiser().Save(loaded, foreign));
            Assert.AreEqual("{\"name\": \"my build pipeline\"}", File.ReadAllText(Path.Combine(foreign, "pipeline.json")));
            Directory.Delete(foreign, recursive: true);
            fresh.StepWiser().Save(loaded, dir);
            using var again = fresh.StepWiser().Load(dir);
            Assert.HasCount(4, again.Chain.ToArray());
        }
        finally
        {
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
        }
    }

    [TestMethod]
    public void AServedPolicyIsSavedByItsAddressNeverItsKeyAndAStageThatCannotBeSavedNamesItself()
    {
        var ml = new MLContext();
        var dir = Path.Combine(Path.GetTempPath(), $"stepwiser-pipeline-{Guid.NewGuid():N}");
        try
        {
            using var remote = new OpenAICompatibleTextGenerator(new OpenAICompatibleOptions { BaseUrl = new Uri("http://127.0.0.1:9/v1"), Model = "policy-model", ApiKey = "secret-key-123", MaxRetries = 1 });
            ml.StepWiser().Save(new ChunkResetSearchTransformer(remote, ChunkResetSearch.AcceptEveryChunk, new ChunkResetOptions { MaxTries = 3 }), dir);
            var manifest = File.ReadAllText(Path.Combine(dir, "pipeline.json"));
            StringAssert.Contains(manifest, "\"openai\"");
            StringAssert.Contains(manifest, "http://127.0.0.1:9/v1");
            foreach (var file in Directory.GetFiles(dir, "*", SearchOption.AllDirectories))
                Assert.DoesNotContain("secret-key-123", File.ReadAllText(file), $"{file} holds the API key");

            using var loaded = ml.StepWiser().Load(dir);
            var search = (ChunkResetSearchTransformer)loaded.LastTransformer;
            var client = (OpenAICompatibleTextGenerator)search.Policy;
            Assert.AreEqual(new Uri("http://127.0.0.1:9/v1"), client.Options.BaseUrl);
            Assert.AreEqual("policy-model", client.Options.Model);
            Assert.AreEqual(1, client.Options.MaxRetries);
            Assert.AreEqual(3, search.Options.MaxTries);
            Assert.AreSame(ChunkResetSearch.AcceptEveryChunk, search.Judge);

            // A judge that is not a stage of the pipeline cannot be saved with it: refused, naming the stage, before anything is written.
            var elsewhere = dir + "-other";
            var error = Assert.Throws<NotSupportedException>(() => ml.StepWiser().Save(new ChunkResetSearchTransformer(remote, new MemoizedJudge(ChunkResetSearch.AcceptEveryChunk)), elsewhere));
            StringAssert.Contains(error.Message, "stage 0 (ChunkResetSearchTransformer)");
            StringAssert.Contains(error.Message, "not a judge stage of this pipeline");
            Assert.IsFalse(Directory.Exists(elsewhere));
            var missing = Assert.Throws<FileNotFoundException>(() => ml.StepWiser().Load(elsewhere));
            StringAssert.Contains(missing.Message, "pipeline.json");
        }
        finally
        {
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
        }
    }

    [TestMethod]
    public void AJudgeKeepsItsWeightTypeAndABadManifestIsOneLineNamingTheFile()
    {
        var ml = new MLContext();
        var dir = Path.Combine(Path.GetTempPath(), $"stepwiser-pipeline-{Guid.NewGuid():N}");
        try
        {
            var model = CausalLM.CreateRandom(BuiltInModels.Tiny, seed: 1);
            model.To(TorchSharp.torch.CPU, TorchSharp.torch.ScalarType.BFloat16);
            using (var judge = new StepwiseJudgeTransformer(ModelBundle.BuiltIn(model), JudgeTemplate.Compact))
                ml.StepWiser().Save(judge, dir);
            using (var loaded = ml.StepWiser().Load(dir))
                Assert.AreEqual(TorchSharp.torch.ScalarType.BFloat16, ((StepwiseJudgeTransformer)loaded.LastTransformer).Model!.Model.DType, "a bf16 judge comes back in bf16");

            var manifest = Path.Combine(dir, "pipeline.json");
            File.WriteAllText(manifest, File.ReadAllText(manifest).Replace("\"version\": 1", "\"version\": \"one\"", StringComparison.Ordinal));
            var error = Assert.Throws<InvalidDataException>(() => ml.StepWiser().Load(dir));
            StringAssert.Contains(error.Message, "pipeline.json");
            StringAssert.Contains(error.Message, "version");
        }
        finally
        {
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
        }
    }

    private static IDataView Solutions(MLContext ml, ITextGenerator policy, string stream, int problems, int seed)
    {
        var prompts = WorldPolicyFixture.World.Generate(stream, problems, seed);
        var sampled = policy.GenerateAsync(prompts.Select(p => GenerationRequest.FromText(p.Prompt, new SamplingOptions { NumSamples = 2, MaxNewTokens = 128, Seed = seed })).ToArray()).GetAwaiter().GetResult();
        return ml.Data.LoadFromEnumerable(prompts.Zip(sampled).SelectMany(x => x.Second.Samples.Select(s =>
            new SolutionRow { Problem = x.First.Problem, Prompt = x.First.Prompt, Solution = s.Text, Answer = x.First.AnswerText })).ToArray());
    }

    private static (string[] Labels, bool[][] Verdicts, string[] Searched) Outputs(IDataView data) =>
        (data.GetColumn<bool[]>("StepLabels").Select(l => string.Concat(l.Select(b => b ? '+' : '-'))).ToArray(),
         data.GetColumn<bool[]>("Verdicts").ToArray(),
         data.GetColumn<string>("SearchedSolution").ToArray());

    private static string Messages(Exception e) => e.InnerException is null ? e.Message : e.Message + " | " + Messages(e.InnerException);

    private sealed class Judged
    {
        [VectorType] public bool[] Verdicts { get; set; } = [];
        public string SearchedSolution { get; set; } = "";
    }
}
