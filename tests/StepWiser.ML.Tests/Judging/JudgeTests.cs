using Microsoft.ML;
using Microsoft.ML.Data;
using StepWiser.ML.Generation;
using StepWiser.ML.Judging;
using StepWiser.ML.Models;
using StepWiser.ML.Tokenization;
using StepWiser.ML.Training;
using Microsoft.ML.Tokenizers;

namespace StepWiser.ML.Tests.Judging;

[TestClass]
public sealed class JudgeTests
{
    [TestMethod]
    [DataRow("The step is fine. \\boxed{Positive}", Verdict.Positive)]
    [DataRow("\\boxed{Negative}", Verdict.Negative)]
    [DataRow("first \\boxed{Negative} then \\boxed{ Positive }", Verdict.Positive)]
    [DataRow("\\boxed{Positive} but finally \\boxed{maybe}", Verdict.Unparseable)]
    [DataRow("Positive", Verdict.Unparseable)]
    [DataRow("\\boxed{Positive", Verdict.Unparseable)]
    [DataRow("\\boxed{positive}", Verdict.Unparseable)]
    [DataRow("", Verdict.Unparseable)]
    public void VerdictParsingIsStrictAndTotal(string response, Verdict expected) => Assert.AreEqual(expected, VerdictParser.Parse(response));

    [TestMethod]
    [DataRow(@"Same. \boxed{Positive}", 0.8, 0.8)]
    [DataRow(@"Different. \boxed{Negative}", 0.7, 0.3)]
    [DataRow(@"\boxed{Negative} then \boxed{Positive}", 0.6, 0.6)]
    public void PositiveProbabilityIsReadAtTheVerdictWordsFirstToken(string text, double pChosen, double expected)
    {
        // One token per character; every token has log-probability log 0.99 except the verdict word's first letter.
        var ids = text.Select(c => (int)c).ToArray();
        var at = text.LastIndexOf(@"\boxed{", StringComparison.Ordinal) + 7;
        var logProbs = ids.Select((_, i) => (float)Math.Log(i == at ? pChosen : 0.99)).ToArray();
        var sample = new GeneratedSample(text, ids, FinishReason.EndOfSequence, logProbs);
        static string Decode(IEnumerable<int> t) => new(t.Select(i => (char)i).ToArray());
        Assert.AreEqual(expected, StepwiseJudge.PositiveProbability(sample, Decode), 1e-5);
        Assert.AreEqual(text.EndsWith("{Negative}", StringComparison.Ordinal) ? 0.0 : 1.0, StepwiseJudge.PositiveProbability(sample, null), "without a decoder: the verdict itself");
        Assert.AreEqual(0.0, StepwiseJudge.PositiveProbability(sample with { Text = "no verdict" }, Decode), "unparseable");
    }

    [TestMethod]
    public void TemplatesCarryProblemHistoryAndChunk()
    {
        var input = new JudgeInput("Start with 3. Add 4. Work modulo 9.", ["Add 4.\n\n3+4=7"], "The answer is \\boxed{7}.");
        var compact = JudgeTemplate.Compact.Render(input);
        StringAssert.Contains(compact, "Problem: Start with 3.");
        StringAssert.Contains(compact, "History:\nAdd 4.\n\n3+4=7\n");
        StringAssert.EndsWith(compact, "New step:\nThe answer is \\boxed{7}.\nAnalysis:");
        var chat = JudgeTemplate.Chat(ChatTemplate.Qwen25).Render(input);
        StringAssert.StartsWith(chat, "<|im_start|>system\nYou are a validator of mathematical reasoning.");
        StringAssert.Contains(chat, "Chunk 1:\nAdd 4.");
        StringAssert.EndsWith(chat, "<|im_start|>assistant\n");
        Assert.AreEqual("chat-Qwen2", JudgeTemplate.Chat(ChatTemplate.Qwen25).Name);
    }

    [TestMethod]
    public async Task MajorityOfKVerdictsWithTiesNegative_ScriptedGenerator()
    {
        // Scripted responses (mock generator): the votes per step are fixed so the Maj@k rule can be checked exactly.
        var votes = new Dictionary<string, string[]>
        {
            ["a"] = [@"\boxed{Positive}", @"\boxed{Positive}", @"\boxed{Negative}"],
            ["b"] = [@"\boxed{Positive}", @"\boxed{Negative}", "no verdict"],
            ["c"] = [@"\boxed{Positive}", "??", "??"],
        };
        var judge = new StepwiseJudge(new Scripted(p => votes[p[^1..]]), new JudgeTemplate("last", i => i.Chunk), new StepwiseJudgeOptions { Votes = 3 });
        var steps = await judge.JudgeStepsAsync([new JudgeInput("p", [], "a"), new JudgeInput("p", [], "b"), new JudgeInput("p", [], "c")]);
        Assert.IsTrue(steps[0].Positive);
        Assert.AreEqual(2f / 3, steps[0].Score, 1e-6);
        Assert.IsFalse(steps[1].Positive, "a 1–1 tie is Negative");
        Assert.AreEqual(1, steps[1].Unparseable);
        Assert.IsTrue(steps[2].Positive, "unparseable votes do not count against");
        var solutions = await judge.JudgeAsync([("p", ["a", "b", "a"]), ("p", ["a", "c"])]);
        Assert.AreEqual(1, solutions[0].FirstRejected);
        Assert.IsTrue(float.IsNaN(solutions[0].Scores[2]), "judging stops at the first Negative");
        Assert.AreEqual(-1, solutions[1].FirstRejected);
    }

    [TestMethod]
    [TestCategory("Slow")]
    public void GrpoMovesAWarmedUpJudgeTowardsRewardedVerdictsAndLogsItsCurves()
    {
        // The warm-up teaches the format with verdicts independent of anything (so the judge says Negative about half
        // the time); every training label is Negative and balancing is off, so the reward is the share of Negative
        // verdicts: GRPO must raise it. (Learning content-dependent verdicts takes far longer than a unit test; the main
        // job measures that.)
        var random = new Random(1);
        var train = Enumerable.Range(0, 200).Select(_ => new JudgeExample(new JudgeInput("p", [], $"x{random.Next(10)} step"), false)).ToArray();
        var tokenizer = BuiltInTokenizer.Create();
        using var model = CausalLM.CreateRandom(BuiltInModels.Tiny, seed: 2);
        var coin = new Random(5);
        var warmup = JudgeWarmup.Examples(train.Select(e => e with { Label = coin.Next(2) == 0 }), Short, _ => "Checked.");
        new SftTrainer(model, tokenizer, new SftOptions { Steps = 150, BatchSize = 32, LearningRate = 3e-3, WarmupSteps = 8 }).Train(warmup);
        var before = Accuracy(model, tokenizer, train.Take(40).ToArray(), votes: 8);

        var csv = Path.Combine(Path.GetTempPath(), $"grpo-{Guid.NewGuid():N}.csv");
        try
        {
            var metrics = new GrpoTrainer(model, tokenizer, Short, new GrpoOptions
            {
                Steps = 24, PromptsPerStep = 16, GroupSize = 4, LearningRate = 5e-4, MaxNewTokens = 40, LogCsvPath = csv, WarmupSteps = 2, BalancePrompts = false,
            }).Train(train);
            var after = Accuracy(model, tokenizer, train.Take(40).ToArray(), votes: 8);
            Assert.IsGreaterThan(metrics.Take(4).Average(m => m.MeanReward) + 0.15, metrics.TakeLast(4).Average(m => m.MeanReward), string.Join(" ", metrics.Select(m => m.MeanReward.ToString("F2"))));
            Assert.IsGreaterThan(before + 0.15, after, $"sampled verdicts moved towards the reward: {before:P0} -> {after:P0}");
            var lines = File.ReadAllLines(csv);
            Assert.AreEqual(GrpoStepMetrics.CsvHeader, lines[0]);
            Assert.HasCount(25, lines);
            Assert.IsTrue(metrics.All(m => m.ClipFraction is >= 0 and <= 1 && m.ZeroAdvantageShare is >= 0 and <= 1 && m.UnparseableShare < 0.5));
            Assert.IsTrue(metrics.All(m => double.IsNaN(m.RewardPositive)), "no positive prompts were sampled");
            // Every step's time is split into generation, updates and the rest; a step with mixed rewards updated.
            Assert.IsTrue(metrics.All(m => m.GenerationSeconds > 0 && m.OtherSeconds >= 0 && Math.Abs(m.TotalSeconds - (m.GenerationSeconds + m.UpdateSeconds + m.OtherSeconds)) < 1e-9));
            Assert.IsTrue(metrics.Where(m => m.ZeroAdvantageShare < 1).All(m => m.UpdateSeconds > 0), "steps with a learning signal spent time updating");
            Assert.ThrowsExactly<ArgumentException>(() => new GrpoTrainer(model, tokenizer, Short, new GrpoOptions { Steps = 1 }).Train(train), "balancing needs both classes");
        }
        finally
        {
            File.Delete(csv);
        }
    }

    [TestMethod]
    public void ASavedJudgeLoadsAndGivesIdenticalGreedyVerdictsInAPipeline()
    {
        var dir = Directory.CreateTempSubdirectory("judge-save").FullName;
        try
        {
            var ml = new MLContext();
            var rows = new[] { new Row { Problem = "Start with 1. Add 2. Work modulo 5.", Chunks = ["1+2=3", "The answer is \\boxed{3}."] }, new Row { Problem = "q", Chunks = ["a", "b", "c"] } };
            var data = ml.Data.LoadFromEnumerable(rows);
            using var judge = new StepwiseJudgeTransformer(ModelBundle.BuiltIn(CausalLM.CreateRandom(BuiltInModels.Tiny, seed: 4)), JudgeTemplate.Compact,
                new StepwiseJudgeOptions { StopAtFirstNegative = false, MaxNewTokens = 12, AcceptanceThreshold = 0.25f }, new Dictionary<string, string> { ["scheme"] = "AbsoluteQ" });
            var first = judge.Transform(data);
            var rationales = first.GetColumn<string[]>("Rationales").ToArray();
            judge.Save(dir);
            Assert.IsTrue(File.Exists(Path.Combine(dir, "config.json")) && File.Exists(Path.Combine(dir, "model.safetensors")) && File.Exists(Path.Combine(dir, "tokenizer.json")));
            using var loaded = StepwiseJudgeTransformer.Load(dir);
            Assert.AreEqual("AbsoluteQ", loaded.Metadata["scheme"]);
            Assert.AreEqual(0.25f, loaded.Judge.Options.AcceptanceThreshold, "a calibrated threshold is saved with the judge");
            var second = loaded.Transform(data);
            CollectionAssert.AreEqual(rationales.SelectMany(r => r).ToArray(), second.GetColumn<string[]>("Rationales").SelectMany(r => r).ToArray());
            CollectionAssert.AreEqual(first.GetColumn<int>("FirstRejected").ToArray(), second.GetColumn<int>("FirstRejected").ToArray());
            Assert.HasCount(3, second.GetColumn<bool[]>("Verdicts").ToArray()[1]);
            Assert.ThrowsExactly<NotSupportedException>(() => ((ICanSaveModel)loaded).Save(null!));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [TestMethod]
    [TestCategory("Slow")]
    public void ASavedJudgeGivesIdenticalSeededVerdictsInAFreshProcess()
    {
        // A judge warmed up on verdicts that depend on nothing; Maj@3 at temperature 1 with a saved seed, so its
        // verdicts vary from step to step and a fresh process must reproduce every one of them.
        var dir = Directory.CreateTempSubdirectory("judge-fresh").FullName;
        try
        {
            var problems = new StepWiser.ML.Worlds.ArithmeticChainWorld().Generate("fresh", 12, 1);
            var coin = new Random(2);
            var warmup = JudgeWarmup.Examples(problems.SelectMany(p => JudgeExample.FromSolution(p.Problem, p.Chunks, p.Chunks.Select(_ => coin.Next(2) == 0).ToArray())),
                JudgeTemplate.Compact, _ => "Checked.");
            var model = CausalLM.CreateRandom(BuiltInModels.Tiny, seed: 3);
            new SftTrainer(model, BuiltInTokenizer.Create(), new SftOptions { Steps = 120, BatchSize = 16, LearningRate = 3e-3, WarmupSteps = 8 }).Train(warmup);
            using (var judge = new StepwiseJudgeTransformer(ModelBundle.BuiltIn(model), JudgeTemplate.Compact, new StepwiseJudgeOptions { StopAtFirstNegative = false, MaxNewTokens = 40, Votes = 3, Seed = 7 }))
                judge.Save(Path.Combine(dir, "judge"));
            var records = problems.Select((p, i) => new StepWiser.ML.Evaluation.ProcessBenchRecord { Id = $"w-{i}", Problem = p.Problem, Steps = p.Chunks.ToArray(), Label = -1, FinalAnswerCorrect = true, Subset = "fresh" }).ToArray();
            var input = Path.Combine(dir, "fresh.json");
            StepWiser.ML.Evaluation.ProcessBench.Write(input, records);

            using var loaded = StepwiseJudgeTransformer.Load(Path.Combine(dir, "judge"), configure: o => o with { ChunksColumnName = "Steps" });
            Assert.AreEqual(7, loaded.Judge.Options.Seed, "configure starts from the saved options");
            var expected = loaded.Transform(new MLContext().Data.LoadFromEnumerable(records)).GetColumn<bool[]>("Verdicts").ToArray();
            Assert.IsTrue(expected.SelectMany(v => v).Distinct().Count() == 2, "the judge says both Positive and Negative, so the comparison means something");

            var output = Path.Combine(dir, "out.jsonl");
            var start = new System.Diagnostics.ProcessStartInfo("dotnet")
            {
                ArgumentList = { typeof(StepWiser.ML.Samples.Commands.Cli).Assembly.Location, "evaluate", "--judge", Path.Combine(dir, "judge"), "--input", input, "--output", output },
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            using var process = System.Diagnostics.Process.Start(start)!;
            var stdout = process.StandardOutput.ReadToEnd();
            var stderr = process.StandardError.ReadToEnd();
            process.WaitForExit();
            Assert.AreEqual(0, process.ExitCode, stderr);
            StringAssert.Contains(stdout, "| F1 |");
            var lines = File.ReadAllLines(output);
            Assert.HasCount(records.Length, lines);
            for (var i = 0; i < lines.Length; i++)
            {
                var verdicts = System.Text.Json.Nodes.JsonNode.Parse(lines[i])!["verdicts"]!.AsArray().Select(v => v!.GetValue<bool>()).ToArray();
                CollectionAssert.AreEqual(expected[i], verdicts, $"record {i}");
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [TestMethod]
    public void DiscriminativeBaselineLearnsPlusMinusFromTheSameLabels()
    {
        var random = new Random(3);
        JudgeExample Make() { var good = random.Next(2) == 0; return new(new JudgeInput("p", [], good ? "ok" : "no"), good); }
        var train = Enumerable.Range(0, 200).Select(_ => Make()).ToArray();
        using var model = CausalLM.CreateRandom(BuiltInModels.Tiny, seed: 2);
        var judge = new DiscriminativeJudge(model, BuiltInTokenizer.Create(), Short);
        judge.Train(train, new SftOptions { Steps = 60, BatchSize = 16, LearningRate = 3e-3, WarmupSteps = 4 });
        var scores = judge.Score([new JudgeInput("p", [], "ok"), new JudgeInput("p", [], "no")]);
        Assert.IsGreaterThan(0.8f, scores[0]);
        Assert.IsLessThan(0.2f, scores[1]);
    }

    [TestMethod]
    public void DiscriminativeTrainerFromTheCatalogJudgesSolutionsAndSavesAndLoads()
    {
        var ml = new MLContext(seed: 1);
        var random = new Random(3);
        JudgeExample Make() { var good = random.Next(2) == 0; return new(new JudgeInput("p", [], good ? "ok" : "no"), good); }
        var train = StepwiseJudgeTrainer.ToDataView(ml, Enumerable.Range(0, 200).Select(_ => Make()).ToArray());
        using var model = CausalLM.CreateRandom(BuiltInModels.Tiny, seed: 2);
        var trainer = ml.StepWiser().Trainers.Discriminative(new DiscriminativeJudgeTrainerOptions
        {
            Model = ModelBundle.BuiltIn(model), Template = Short,
            Recipe = new JudgeRecipeOptions { WarmupSteps = 60, BatchSize = 16, WarmupLearningRate = 3e-3 },
            Judge = new StepwiseJudgeOptions { StopAtFirstNegative = false },
        });
        using var judge = trainer.Fit(train);
        var solutions = ml.Data.LoadFromEnumerable(new[] { new Row { Problem = "p", Chunks = ["ok", "no", "ok"] } });
        var judged = judge.Transform(solutions);
        CollectionAssert.AreEqual(new[] { true, false, true }, judged.GetColumn<bool[]>("Verdicts").Single());
        Assert.AreEqual(1, judged.GetColumn<int>("FirstRejected").Single());

        var dir = Path.Combine(Path.GetTempPath(), $"stepwiser-disc-{Guid.NewGuid():N}");
        try
        {
            judge.Save(dir);
            using var loaded = DiscriminativeJudgeTransformer.Load(dir, template: Short);
            CollectionAssert.AreEqual(judged.GetColumn<float[]>("StepScores").Single(), loaded.Transform(solutions).GetColumn<float[]>("StepScores").Single());
            Assert.AreEqual("discriminative", loaded.Metadata["trainer"]);
        }
        finally { Directory.Delete(dir, recursive: true); }

        var missing = Assert.ThrowsExactly<ArgumentException>(() => ml.StepWiser().Trainers.Discriminative(new DiscriminativeJudgeTrainerOptions()).Fit(train));
        StringAssert.Contains(missing.Message, "Model");
    }

    // A short template keeps these seconds-long trainings about the learning rule, not about long-range attention.
    private static readonly JudgeTemplate Short = new("short", i => i.Chunk + " =>");

    /// <summary>Share of sampled verdicts (k per input, temperature 1) that equal the label.</summary>
    private static double Accuracy(CausalLM model, BpeTokenizer tokenizer, IReadOnlyList<JudgeExample> test, int votes)
    {
        var judge = new StepwiseJudge(new LocalTextGenerator(model, tokenizer), Short, new StepwiseJudgeOptions { MaxNewTokens = 40, Votes = votes, Seed = 9 });
        var verdicts = judge.JudgeStepsAsync(test.Select(t => t.Input).ToArray()).GetAwaiter().GetResult();
        return test.Zip(verdicts).Average(p => p.First.Label ? p.Second.Score : 1 - p.Second.Score - p.Second.Unparseable / (double)votes);
    }

    private sealed class Row
    {
        public string Problem { get; set; } = "";
        [VectorType] public string[] Chunks { get; set; } = [];
    }

    private sealed class Scripted(Func<string, string[]> answers) : ITextGenerator
    {
        public Task<IReadOnlyList<GenerationResult>> GenerateAsync(IReadOnlyList<GenerationRequest> requests, CancellationToken cancellationToken = default)
        {
            IReadOnlyList<GenerationResult> results = requests.Select(r => new GenerationResult(answers(r.Prompt!).Take(r.Options.NumSamples).Select(a => new GeneratedSample(a, [], FinishReason.EndOfSequence)).ToArray())).ToArray();
            return Task.FromResult(results);
        }
    }
}
