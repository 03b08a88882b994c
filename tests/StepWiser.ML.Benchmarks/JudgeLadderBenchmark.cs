using System.Diagnostics;
using System.Globalization;
using StepWiser.ML.Annotation;
using StepWiser.ML.Evaluation;
using StepWiser.ML.Generation;
using StepWiser.ML.Judging;
using StepWiser.ML.Models;
using StepWiser.ML.Reasoning;
using StepWiser.ML.Tokenization;
using StepWiser.ML.Training;
using StepWiser.ML.Worlds;

/// <summary>
/// The judge learnability ladder (issue 14): on one main-job output folder (its policy, its Monte-Carlo labels and its
/// held-out benchmark), each row trains a judge from the same weights and reports ProcessBench F1 and balanced gold step
/// accuracy on the same benchmark, per seed, so anyone can see where signal is lost when the world, the model or the
/// recipe changes. Gold labels appear in one row only, the discriminative ceiling, and are named as such.
/// Usage: --suite judge-ladder --from OUT [--seeds 1,2,3] [--rows a,b,…]
/// </summary>
internal static class JudgeLadderBenchmark
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static void Run(string from, IReadOnlyList<int> seeds, IReadOnlySet<string>? rows, JudgeRecipeOptions recipe, int pretrainProblems, bool balancePretrain)
    {
        if (balancePretrain) recipe.PretrainBalanceBy = a => a.EndsWith("Same.", StringComparison.Ordinal);
        var clock = Stopwatch.StartNew();
        var tokenizer = BuiltInTokenizer.Create();
        var policyDir = Path.Combine(from, "policy");
        using var policyModel = HuggingFaceCheckpoint.Load(policyDir);
        var policy = new LocalTextGenerator(policyModel, tokenizer);
        var world = new ArithmeticChainWorld();
        var data = LadderData.Load(from, world, policy, pretrainProblems);
        Console.WriteLine(F($"judge ladder on {from}: {data.Train[LabelScheme.AbsoluteQ].Count} training solutions, {data.Unlabelled.Count} unlabelled steps, benchmark {data.Benchmark.Count} solutions ({clock.Elapsed:mm\\:ss} to prepare)"));
        Console.WriteLine("| row | seed | Avg. F1 | balanced gold step acc. | positive acc. | negative acc. | conclusion = world teacher's | minutes |\n|---|---|---|---|---|---|---|---|");
        bool Want(string name) => rows is null || rows.Contains(name);
        var scratch = Directory.CreateTempSubdirectory("judge-ladder").FullName;
        try
        {
            foreach (var seed in seeds)
            {
                var o = WithSeed(recipe, seed);
                var absQ = JudgeRecipe.SelectSteps(data.Train[LabelScheme.AbsoluteQ], o.StepSelection);
                string Pretrained(string name, Func<JudgeInput, string> analysis)
                {
                    var dir = Path.Combine(scratch, $"{name}-{seed}");
                    if (Directory.Exists(dir)) return dir;
                    using var model = HuggingFaceCheckpoint.Load(policyDir);
                    JudgeRecipe.Pretrain(model, tokenizer, JudgeTemplate.Compact, data.Unlabelled, analysis, o);
                    HuggingFaceCheckpoint.Save(model, dir);
                    return dir;
                }
                void Row(string name, Func<IStepJudge> train)
                {
                    if (!Want(name)) return;
                    var start = clock.Elapsed;
                    var judge = train();
                    var result = JudgeBenchmark.EvaluateAsync(judge, data.Benchmark).GetAwaiter().GetResult();
                    (judge as IDisposable)?.Dispose();
                    var g = result.GoldSteps;
                    // How often the judge's own conclusion (Same/Different) equals the world teacher's on the gold steps (generative rows).
                    var agree = new List<bool>();
                    for (var r = 0; r < data.Benchmark.Count; r++)
                    {
                        var rec = data.Benchmark[r];
                        var last = rec.Label < 0 ? rec.Steps.Length - 1 : rec.Label;
                        for (var k = 0; k <= last; k++)
                        {
                            var text = result.Judgments[r].Rationales[k];
                            if (!text.Contains("Same.", StringComparison.Ordinal) && !text.Contains("Different.", StringComparison.Ordinal)) continue;
                            agree.Add(text.Contains("Same.", StringComparison.Ordinal) == WorldJudging.CompareAnalysis(new JudgeInput(rec.Problem, rec.Steps.Take(k).ToArray(), rec.Steps[k])).EndsWith("Same.", StringComparison.Ordinal));
                        }
                    }
                    var agreement = agree.Count == 0 ? "—" : F($"{100.0 * agree.Count(a => a) / agree.Count:F1}");
                    Console.WriteLine(F($"| {name} | {seed} | {100 * result.Metrics.AverageF1:F1} | {100 * g.Balanced:F1} | {100 * g.PositiveAccuracy:F1} | {100 * g.NegativeAccuracy:F1} | {agreement} | {(clock.Elapsed - start).TotalMinutes:F1} |"));
                }
                Func<JudgeInput, string> compare = WorldJudging.CompareAnalysis;
                // The ceiling: the discriminative judge on gold labels of the same training solutions (evaluation only).
                Row("disc-gold-ceiling", () => Disc(Pretrained("pre-compare", compare), JudgeRecipe.SelectSteps(data.TrainGold, StepSelection.UpToFirstNegative), o));
                Row("disc-absq", () => Disc(Pretrained("pre-compare", compare), absQ, o));
                Row("disc-absq-all-steps", () => Disc(Pretrained("pre-compare", compare), JudgeRecipe.SelectSteps(data.Train[LabelScheme.AbsoluteQ], StepSelection.AllSteps), o));
                Row("disc-absq-no-pretrain", () => Disc(policyDir, absQ, o));
                Row("gen-absq-warmup", () => Gen(Pretrained("pre-compare", compare), absQ, compare, o, rl: false));
                Row("gen-absq-rl", () => Gen(Pretrained("pre-compare", compare), absQ, compare, o, rl: true));
                Row("gen-absq-all-steps", () => Gen(Pretrained("pre-compare", compare), JudgeRecipe.SelectSteps(data.Train[LabelScheme.AbsoluteQ], StepSelection.AllSteps), compare, o, rl: false));
                Row("gen-absq-no-pretrain", () => Gen(policyDir, absQ, compare, o, rl: false));
                Row("gen-absq-rederive", () => Gen(Pretrained("pre-rederive", data.Rederive), absQ, data.Rederive, o, rl: false));
                Row("gen-relratio-warmup", () => Gen(Pretrained("pre-compare", compare), JudgeRecipe.SelectSteps(data.Train[LabelScheme.RelativeRatio], o.StepSelection), compare, o, rl: false));
                Row("gen-releff-warmup", () => Gen(Pretrained("pre-compare", compare), JudgeRecipe.SelectSteps(data.Train[LabelScheme.RelativeEffective], o.StepSelection), compare, o, rl: false));
            }
        }
        finally
        {
            Directory.Delete(scratch, recursive: true);
        }
        Console.WriteLine(F($"judge ladder: {clock.Elapsed:mm\\:ss} in total"));
    }

    private static IStepJudge Disc(string from, IReadOnlyList<JudgeExample> labelled, JudgeRecipeOptions o)
    {
        var model = HuggingFaceCheckpoint.Load(from);
        return new OwnedJudge(JudgeRecipe.TrainDiscriminative(model, BuiltInTokenizer.Create(), JudgeTemplate.Compact, labelled, o), model);
    }

    private static IStepJudge Gen(string from, IReadOnlyList<JudgeExample> labelled, Func<JudgeInput, string> analysis, JudgeRecipeOptions o, bool rl)
    {
        var model = HuggingFaceCheckpoint.Load(from);
        var tokenizer = BuiltInTokenizer.Create();
        JudgeRecipe.WarmUp(model, tokenizer, JudgeTemplate.Compact, labelled, analysis, o);
        if (rl) JudgeRecipe.Reinforce(model, tokenizer, JudgeTemplate.Compact, labelled, o);
        var judge = new StepwiseJudge(new LocalTextGenerator(model, tokenizer), JudgeTemplate.Compact, new StepwiseJudgeOptions { MaxNewTokens = o.Grpo.MaxNewTokens, StopAtFirstNegative = false });
        return new OwnedJudge(judge, model);
    }

    private static JudgeRecipeOptions WithSeed(JudgeRecipeOptions o, int seed)
    {
        var grpo = o.Grpo;
        return new JudgeRecipeOptions
        {
            StepSelection = o.StepSelection, PretrainSteps = o.PretrainSteps, WarmupSteps = o.WarmupSteps, BatchSize = o.BatchSize, PretrainLearningRate = o.PretrainLearningRate,
            WarmupLearningRate = o.WarmupLearningRate, Balance = o.Balance, MaxSequenceLength = o.MaxSequenceLength, Seed = seed, PretrainBalanceBy = o.PretrainBalanceBy,
            Grpo = new GrpoOptions
            {
                Steps = grpo.Steps, PromptsPerStep = grpo.PromptsPerStep, GroupSize = grpo.GroupSize, MiniBatchSize = grpo.MiniBatchSize, LearningRate = grpo.LearningRate,
                KlCoefficient = grpo.KlCoefficient, MaxNewTokens = grpo.MaxNewTokens, WarmupSteps = grpo.WarmupSteps, Temperature = grpo.Temperature, Seed = seed,
            },
        };
    }

    private static string F(FormattableString s) => s.ToString(Inv);

    private sealed class OwnedJudge(IStepJudge inner, IDisposable owner) : IStepJudge, IDisposable
    {
        public Task<IReadOnlyList<StepVerdict>> JudgeStepsAsync(IReadOnlyList<JudgeInput> inputs, CancellationToken cancellationToken = default) => inner.JudgeStepsAsync(inputs, cancellationToken);

        public void Dispose() => owner.Dispose();
    }
}

/// <summary>The ladder's data, all from one main-job output folder plus unlabelled policy samples.</summary>
internal sealed record LadderData(
    IReadOnlyDictionary<LabelScheme, IReadOnlyList<StepwiseExample>> Train,
    IReadOnlyList<StepwiseExample> TrainGold,
    IReadOnlyList<JudgeInput> Unlabelled,
    Func<JudgeInput, string> Rederive,
    IReadOnlyList<ProcessBenchRecord> Benchmark)
{
    public static LadderData Load(string from, ArithmeticChainWorld world, ITextGenerator policy, int pretrainProblems)
    {
        var schemes = Enum.GetValues<LabelScheme>();
        var labelled = schemes.ToDictionary(s => s, s => TrlStepwiseFormat.Read(Path.Combine(from, $"labels-{s.ToString().ToLowerInvariant()}.jsonl")));
        // The main job holds out every fifth annotated problem; the ladder trains on the same rest.
        var heldOut = labelled[LabelScheme.AbsoluteQ].Select(e => e.Prompt).Distinct().Where((_, i) => i % 5 == 0).ToHashSet();
        var train = schemes.ToDictionary(s => s, s => (IReadOnlyList<StepwiseExample>)labelled[s].Where(e => !heldOut.Contains(e.Prompt)).ToArray());
        var byText = world.Generate("annotate", 4000, 1).GroupBy(p => p.Problem).ToDictionary(g => g.Key, g => g.First());
        var gold = train[LabelScheme.AbsoluteQ].Select(e => e with { Labels = ArithmeticChainWorld.Check(byText[e.Prompt], e.Completions).ChunkIsCorrect.ToArray() }).ToArray();
        var benchmarkPath = Path.Combine(from, "world-benchmark.json");
        if (!File.Exists(benchmarkPath))   // the main job writes it; built the same way when the run stopped before
            ProcessBench.Write(benchmarkPath, WorldBenchmark.BuildAsync(policy, [("world", world)], 120, seed: 5).GetAwaiter().GetResult());
        var benchmark = ProcessBench.Read(benchmarkPath).Select(r => { r.Subset = r.Steps.Length <= 4 ? "short" : r.Steps.Length <= 5 ? "medium" : "long"; return r; }).ToArray();

        // Unlabelled steps: policy samples on a split of their own, every step with its own history.
        var unlabelled = WorldJudging.UnlabelledStepsAsync(policy, world, pretrainProblems).GetAwaiter().GetResult();
        // The world-independent analysis: the policy re-derives each step (unlabelled and labelled ones alike).
        var labelledInputs = train.Values.SelectMany(v => v).DistinctBy(e => e.Prompt + string.Join("\u0001", e.Completions))
            .SelectMany(e => JudgeExample.FromSolution(e.Prompt, e.Completions, e.Labels).Select(x => x.Input)).ToArray();
        var all = unlabelled.Concat(labelledInputs).ToArray();
        var analyses = RederivationAnalysis.ComputeAsync(policy, all, i => RederivationAnalysis.ChunkedPrefix(ArithmeticChainWorld.PolicyPrompt(i.Problem), i.History)).GetAwaiter().GetResult();
        return new LadderData(train, gold, unlabelled, RederivationAnalysis.Lookup(all, analyses), benchmark);
    }
}
