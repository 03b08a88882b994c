using System.Diagnostics;
using System.Globalization;
using System.Text;
using Microsoft.ML;
using Microsoft.ML.Data;
using StepWiser.ML.Annotation;
using StepWiser.ML.Chunking;
using StepWiser.ML.Evaluation;
using StepWiser.ML.Generation;
using StepWiser.ML.Judging;
using StepWiser.ML.Models;
using StepWiser.ML.Reasoning;
using StepWiser.ML.Search;
using StepWiser.ML.Selection;
using StepWiser.ML.Tokenization;
using StepWiser.ML.Training;
using StepWiser.ML.Worlds;

namespace StepWiser.ML.Samples.Commands;

/// <summary>
/// The whole StepWiser method on the built-in world: train the policy, sample and chunk solutions, annotate them by
/// Monte-Carlo rollouts, balance, warm up and train judges (GRPO per label scheme, and the baselines), evaluate them on
/// a held-out ProcessBench-style benchmark, run chunk-reset search and judge-based data selection, and write the three
/// result tables (Markdown and CSV), the GRPO curves (CSV) and the models (Hugging Face layout).
/// </summary>
internal static class MainJob
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static async Task<int> RunAsync(string output, MainJobPreset preset, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(output);
        var total = Stopwatch.StartNew();
        var ml = new MLContext(seed: 1);
        var verifier = new MathAnswerVerifier();
        var world = new ArithmeticChainWorld();
        var tokenizerJson = BuiltInTokenizer.ToJson();
        var tokenizer = BuiltInTokenizer.Create();
        var report = new StringBuilder($"# StepWiser on the built-in world (preset {preset.Name})\n\n");
        void Stage(string text) => Console.WriteLine($"[{total.Elapsed:mm\\:ss}] {text}");

        // 1. Policy: SFT from scratch on canonical chunked solutions (reused when the output folder already has it).
        var policyDir = Path.Combine(output, "policy");
        if (!File.Exists(Path.Combine(policyDir, "config.json")))
        {
            Stage($"training the policy ({preset.PolicySteps} steps) ...");
            using var trained = WorldPolicy.Train(world, new WorldPolicyOptions { Steps = preset.PolicySteps }, Progress<TrainingProgress>(p => p.Step % 100 == 0, p => $"policy step {p.Step}/{p.TotalSteps} loss {p.Loss:F3} {p.TokensPerSecond:N0} tok/s"), cancellationToken);
            HuggingFaceCheckpoint.Save(trained, policyDir);
            BuiltInTokenizer.Save(policyDir);
        }
        using var policyModel = HuggingFaceCheckpoint.Load(policyDir);
        var policy = new LocalTextGenerator(policyModel, tokenizer);
        var heldOut = world.Generate("heldout", preset.SearchProblems, 1);
        var baseline = await WorldPolicy.EvaluateAsync(policy, heldOut, new SamplingOptions { NumSamples = 4, MaxNewTokens = 160, Temperature = 1, Seed = 1 }, cancellationToken);
        Stage($"policy: held-out accuracy {baseline.Accuracy:P1} (T = 1), {baseline.MixedPromptRate:P0} of problems mixed");

        // 2. Solutions from prompts with some but not all samples right; chunk them (an ML.NET stage).
        var problems = world.Generate("annotate", preset.AnnotationProblems, 1);
        var sampled = await PromptFilter.SampleAsync(policy, verifier, problems.Select(p => (p.Prompt, Answer(p))).ToArray(),
            new SamplingOptions { NumSamples = preset.SamplesPerProblem, MaxNewTokens = 160, Temperature = 1, Seed = 2 }, cancellationToken);
        var solutions = sampled.Select((s, i) => (s, p: problems[i])).Where(x => x.s.IsMixed)
            .SelectMany(x => x.s.Solutions.Select(sol => new SolutionRow { Problem = x.p.Problem, Prompt = x.p.Prompt, Solution = sol, Answer = Answer(x.p) })).ToArray();
        Stage($"{solutions.Length} solutions from {sampled.Count(s => s.IsMixed)}/{problems.Count} mixed prompts");
        var data = ml.Data.LoadFromEnumerable(solutions);
        var chunker = ml.StepWiser().Transforms.ChunkSteps(new StepChunkerOptions { MalformedPolicy = MalformedChunkPolicy.Repair }).Fit(data);

        // 3. Monte-Carlo annotation (an ML.NET stage; one set of rollouts serves the three schemes).
        Stage($"annotating by Monte-Carlo rollouts (M = {preset.Rollouts}) ...");
        var mcOptions = new MonteCarloOptions { Rollouts = preset.Rollouts, MaxNewTokens = 160, BatchSize = 16, StoreDirectory = Path.Combine(output, "rollouts"), PolicyName = "world-policy",
            Progress = new Progress<MonteCarloProgress>(p => Stage($"  annotated {p.Rows}/{p.TotalRows}, {p.Rollouts:N0} rollouts ({p.RolloutsPerSecond:N0}/s)")) };
        using var annotator = ml.StepWiser().Transforms.AnnotateMonteCarlo(policy, verifier, mcOptions).Fit(chunker.Transform(data));
        var annotated = annotator.Transform(chunker.Transform(data));
        var rows = ml.Data.CreateEnumerable<AnnotatedRow>(annotated, reuseRowObject: false).ToArray();
        var examples = new Dictionary<LabelScheme, JudgeExample[]>();
        foreach (var scheme in Enum.GetValues<LabelScheme>())
            examples[scheme] = rows.Where(r => r.StepValues.Length == r.Chunks.Length && r.FailedPrefixes == 0)
                .SelectMany(r => JudgeExample.FromSolution(r.Problem, r.Chunks, StepLabels.Compute(r.InitialValue, r.StepValues, scheme))).ToArray();
        report.AppendLine("## Monte-Carlo labels\n\n| scheme | steps | positive rate |\n|---|---|---|");
        foreach (var (scheme, list) in examples) report.AppendLine(F($"| {scheme} | {list.Length} | {100.0 * list.Count(e => e.Label) / Math.Max(1, list.Length):F1} % |"));
        Stage($"annotated {rows.Length} solutions; positive rates " + string.Join(", ", examples.Select(e => F($"{e.Key} {100.0 * e.Value.Count(x => x.Label) / Math.Max(1, e.Value.Length):F0} %"))));

        // 4. Judges: format warm-up from the policy's weights, then GRPO per variant; the discriminative baseline.
        var judges = new List<(string Name, IStepJudge Judge, IDisposable? Owner)>();
        var warmDir = Path.Combine(output, "judge-warmup");
        var warmNoCotDir = Path.Combine(output, "judge-warmup-nocot");
        WarmUp(policyDir, warmDir, examples[LabelScheme.AbsoluteQ], WorldJudging.Analysis, preset.WarmupSteps, Stage, cancellationToken);
        judges.Add(Generative("warm-up judge (SFT format)", warmDir, tokenizerJson));
        var variants = new List<(string Name, LabelScheme Scheme, bool Balance, bool Cot)> { ("StepWiser RL, Abs-Q", LabelScheme.AbsoluteQ, true, true) };
        if (preset.AllVariants)
        {
            variants.Add(("StepWiser RL, Rel-Ratio", LabelScheme.RelativeRatio, true, true));
            variants.Add(("StepWiser RL, Rel-Effective", LabelScheme.RelativeEffective, true, true));
            variants.Add(("RL without balancing, Abs-Q", LabelScheme.AbsoluteQ, false, true));
            variants.Add(("RL without CoT, Abs-Q", LabelScheme.AbsoluteQ, true, false));
            // The verdict-only format is learned in fewer steps (its responses are a few tokens).
            WarmUp(policyDir, warmNoCotDir, examples[LabelScheme.AbsoluteQ], _ => "", Math.Max(20, preset.WarmupSteps / 2), Stage, cancellationToken);
        }
        var curves = new List<(string Name, IReadOnlyList<GrpoStepMetrics> Metrics)>();
        foreach (var v in variants)
        {
            var train = examples[v.Scheme];
            if (train.All(e => e.Label) || train.All(e => !e.Label)) { Stage($"skipping {v.Name}: one class only"); continue; }
            Stage($"GRPO: {v.Name} ({preset.GrpoSteps} steps) ...");
            var model = HuggingFaceCheckpoint.Load(v.Cot ? warmDir : warmNoCotDir);
            var csv = Path.Combine(output, $"grpo-{Slug(v.Name)}.csv");
            var metrics = new GrpoTrainer(model, tokenizer, JudgeTemplate.Compact, new GrpoOptions
            {
                Steps = preset.GrpoSteps, PromptsPerStep = preset.GrpoPrompts, GroupSize = 4, LearningRate = 5e-4, MaxNewTokens = 96, BalancePrompts = v.Balance, LogCsvPath = csv, Seed = 1,
            }).Train(train, Progress<GrpoStepMetrics>(m => m.Step % 10 == 0, m => F($"  step {m.Step}: reward {m.MeanReward:F2} (+ {m.RewardPositive:F2} / − {m.RewardNegative:F2}), entropy {m.Entropy:F3}, zero-adv groups {m.ZeroAdvantageShare:P0}")), cancellationToken);
            curves.Add((v.Name, metrics));
            var judgeDir = Path.Combine(output, $"judge-{Slug(v.Name)}");
            var transformer = new StepwiseJudgeTransformer(model, tokenizerJson, JudgeTemplate.Compact, new StepwiseJudgeOptions { MaxNewTokens = 96 }, new Dictionary<string, string> { ["scheme"] = v.Scheme.ToString() });
            transformer.Save(judgeDir);
            judges.Add((v.Name, transformer.Judge, transformer));
        }
        Stage("discriminative baseline (SFT on +/−, Abs-Q labels) ...");
        var discModel = HuggingFaceCheckpoint.Load(policyDir);
        var disc = new DiscriminativeJudge(discModel, tokenizer, JudgeTemplate.Compact);
        disc.Train(LabelBalancer.Balance(examples[LabelScheme.AbsoluteQ], e => e.Label, 1), new SftOptions { Steps = preset.WarmupSteps, BatchSize = 32, LearningRate = 1e-3, WarmupSteps = 10 });
        judges.Insert(0, ("discriminative SFT (+/−), Abs-Q", disc, discModel));

        // 5. Evaluation on the held-out benchmark (ProcessBench format; subsets by solution length).
        Stage("building the held-out benchmark and evaluating the judges ...");
        var bench = (await WorldBenchmark.BuildAsync(policy, [("world", world)], preset.BenchmarkPerSubset * 3, seed: 5, maxNewTokens: 160, cancellationToken: cancellationToken))
            .Select(r => { r.Subset = r.Steps.Length <= 4 ? "short" : r.Steps.Length <= 5 ? "medium" : "long"; return r; }).ToArray();
        ProcessBench.Write(Path.Combine(output, "world-benchmark.json"), bench);
        report.AppendLine(F($"\n## Evaluation: held-out benchmark ({bench.Length} solutions, gold first errors from the exact checker)\n"));
        report.AppendLine("| judge | " + string.Join(" | ", bench.Select(b => b.Subset).Distinct()) + " | Avg. F1 |\n|---|" + string.Concat(bench.Select(b => b.Subset).Distinct().Select(_ => "---|")) + "---|");
        var evalCsv = new StringBuilder("judge,subset,error_accuracy,correct_accuracy,f1\n");
        foreach (var (name, judge, _) in judges)
        {
            var judged = await StepJudging.JudgeSolutionsAsync(judge, bench.Select(b => (b.Problem, (IReadOnlyList<string>)b.Steps)).ToArray(), true, cancellationToken);
            var metrics = ProcessBenchMetrics.Compute(bench.Zip(judged).Select(x => (x.First.Subset, x.First.Label, x.Second.FirstRejected)));
            report.AppendLine($"| {name} | " + string.Join(" | ", metrics.Subsets.Select(s => F($"{100 * s.F1:F1}"))) + F($" | **{100 * metrics.AverageF1:F1}** |"));
            foreach (var s in metrics.Subsets) evalCsv.AppendLine(F($"{name},{s.Subset},{s.ErrorAccuracy:F4},{s.CorrectAccuracy:F4},{s.F1:F4}"));
            Stage(F($"  {name}: average F1 {100 * metrics.AverageF1:F1}"));
        }
        File.WriteAllText(Path.Combine(output, "evaluation.csv"), evalCsv.ToString());

        // 6. Chunk-reset search on held-out problems.
        Stage("chunk-reset search ...");
        report.AppendLine("\n## Chunk-reset search (held-out problems)\n\n| method | accuracy | accepted tokens / problem | rejected tokens / problem |\n|---|---|---|---|");
        var searchCsv = new StringBuilder("method,accuracy,accepted_tokens,rejected_tokens\n");
        var alone = await policy.GenerateAsync(heldOut.Select(p => GenerationRequest.FromText(p.Prompt, new SamplingOptions { MaxNewTokens = 160, Temperature = 1, Seed = 9 })).ToArray(), cancellationToken);
        var aloneAcc = heldOut.Zip(alone).Average(x => ArithmeticChainWorld.IsCorrect(x.First, x.Second.Samples[0].Text) ? 1.0 : 0.0);
        var aloneTokens = alone.Average(r => r.Samples[0].TokenIds.Count);
        report.AppendLine(F($"| policy alone | {100 * aloneAcc:F1} % | {aloneTokens:F0} | 0 |"));
        searchCsv.AppendLine(F($"policy alone,{aloneAcc:F4},{aloneTokens:F1},0"));
        foreach (var (name, judge, _) in judges)
        {
            var search = new ChunkResetSearch(policy, judge, new ChunkResetOptions { ChunkMaxNewTokens = 48, MaxChunks = 10, Seed = 9 });
            var results = await search.SearchAsync(heldOut.Select(p => (p.Prompt, p.Problem)).ToArray(), cancellationToken);
            var acc = heldOut.Zip(results).Average(x => ArithmeticChainWorld.IsCorrect(x.First, x.Second.Solution) ? 1.0 : 0.0);
            report.AppendLine(F($"| + {name} | {100 * acc:F1} % | {results.Average(r => r.AcceptedTokens):F0} | {results.Average(r => r.RejectedTokens):F0} |"));
            searchCsv.AppendLine(F($"{name},{acc:F4},{results.Average(r => r.AcceptedTokens):F1},{results.Average(r => r.RejectedTokens):F1}"));
        }
        File.WriteAllText(Path.Combine(output, "search.csv"), searchCsv.ToString());

        // 7. Data selection: judge-selected vs outcome-selected correct solutions, then fine-tune the policy on each.
        var selector = judges.FirstOrDefault(j => j.Name.StartsWith("StepWiser RL, Abs-Q", StringComparison.Ordinal));
        if (selector.Judge is not null)
        {
            Stage("data selection and fine-tuning ...");
            var prompts = world.Generate("select", preset.SelectionPrompts, 1);
            var selected = await JudgeDataSelection.SelectAsync(policy, selector.Judge, verifier, prompts.Select(p => (p.Prompt, p.Problem, Answer(p))).ToArray(),
                new SamplingOptions { NumSamples = preset.SelectionSamples, MaxNewTokens = 160, Temperature = 1, Seed = 11 }, seed: 1, cancellationToken);
            var picks = selected.Where(s => s.JudgeSelected is not null).ToArray();
            report.AppendLine(F($"\n## Data selection ({picks.Length} prompts with a correct sample, N = {preset.SelectionSamples})\n\n| training data | held-out accuracy |\n|---|---|\n| none (the policy) | {100 * baseline.Accuracy:F1} % |"));
            foreach (var (name, pick) in new[] { ("outcome-only selection", (Func<SelectionResult, string>)(s => s.OutcomeSelected!)), ("StepWiser judge selection", s => s.JudgeSelected!) })
            {
                using var tuned = HuggingFaceCheckpoint.Load(policyDir);
                new SftTrainer(tuned, tokenizer, new SftOptions { Steps = preset.FineTuneSteps, BatchSize = 16, LearningRate = 3e-4, WarmupSteps = 5 })
                    .Train(picks.Select(s => new SftExample(s.Prompt, pick(s))).ToArray());
                var eval = await WorldPolicy.EvaluateAsync(new LocalTextGenerator(tuned, tokenizer), heldOut, new SamplingOptions { NumSamples = 4, MaxNewTokens = 160, Temperature = 1, Seed = 1 }, cancellationToken);
                report.AppendLine(F($"| {name} | {100 * eval.Accuracy:F1} % |"));
            }
        }

        report.AppendLine("\n## GRPO curves\n\nPer-step metrics of every RL run are in `grpo-*.csv` (reward, reward by class, zero-advantage share, entropy, response length, clip fraction).\n");
        foreach (var (name, m) in curves)
            report.AppendLine(F($"- {name}: reward {m.Take(5).Average(x => x.MeanReward):F2} (first 5 steps) → {m.TakeLast(5).Average(x => x.MeanReward):F2} (last 5); entropy {m[0].Entropy:F3} → {m[^1].Entropy:F3}"));
        report.AppendLine(F($"\nTotal time {total.Elapsed:mm\\:ss}."));
        File.WriteAllText(Path.Combine(output, "report.md"), report.ToString());
        foreach (var (_, _, owner) in judges) owner?.Dispose();
        Console.WriteLine();
        Console.WriteLine(report.ToString());
        Stage($"done; results in {Path.GetFullPath(output)}");
        return 0;
    }

    private static void WarmUp(string policyDir, string targetDir, IReadOnlyList<JudgeExample> examples, Func<JudgeExample, string> analysis, int steps, Action<string> stage, CancellationToken cancellationToken)
    {
        if (File.Exists(Path.Combine(targetDir, "config.json"))) return;
        stage($"judge format warm-up ({steps} steps) ...");
        using var model = HuggingFaceCheckpoint.Load(policyDir);
        var balanced = LabelBalancer.Balance(examples, e => e.Label, 1);
        new SftTrainer(model, BuiltInTokenizer.Create(), new SftOptions { Steps = steps, BatchSize = 32, LearningRate = 1e-3, WarmupSteps = 10 })
            .Train(JudgeWarmup.Examples(balanced, JudgeTemplate.Compact, analysis), null, cancellationToken);
        HuggingFaceCheckpoint.Save(model, targetDir);
        BuiltInTokenizer.Save(targetDir);
    }

    private static (string, IStepJudge, IDisposable?) Generative(string name, string dir, string tokenizerJson)
    {
        var transformer = new StepwiseJudgeTransformer(HuggingFaceCheckpoint.Load(dir), tokenizerJson, JudgeTemplate.Compact, new StepwiseJudgeOptions { MaxNewTokens = 96 });
        return (name, transformer.Judge, transformer);
    }

    private static IProgress<T> Progress<T>(Func<T, bool> when, Func<T, string> text) =>
        new SyncProgress<T>(p => { if (when(p)) Console.WriteLine("  " + text(p)); });

    private static string Answer(WorldProblem p) => p.Answer.ToString(Inv);

    private static string Slug(string name) => new string(name.ToLowerInvariant().Select(c => char.IsLetterOrDigit(c) ? c : '-').ToArray()).Trim('-').Replace("--", "-", StringComparison.Ordinal);

    private static string F(FormattableString s) => s.ToString(Inv);

    private sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }

    private sealed class SolutionRow
    {
        public string Problem { get; set; } = "";
        public string Prompt { get; set; } = "";
        public string Solution { get; set; } = "";
        public string Answer { get; set; } = "";
    }

    private sealed class AnnotatedRow
    {
        public string Problem { get; set; } = "";
        [VectorType] public string[] Chunks { get; set; } = [];
        [VectorType] public float[] StepValues { get; set; } = [];
        public float InitialValue { get; set; }
        public int FailedPrefixes { get; set; }
    }
}
