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
using StepWiser.ML.Samples.Reporting;
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
/// result tables (Markdown and CSV), the labelled steps (TRL JSONL), PNG plots (GRPO reward and entropy, judge accuracy by
/// step position, search accuracy vs tokens), the models (Hugging Face layout) and a report.md that ties them together.
/// </summary>
internal static class MainJob
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static async Task<int> RunAsync(string output, MainJobPreset preset, CancellationToken cancellationToken, StageConsole? console = null)
    {
        Directory.CreateDirectory(output);
        var ui = console ?? new StageConsole();
        var ml = new MLContext(seed: 1);
        var verifier = new MathAnswerVerifier();
        var world = new ArithmeticChainWorld(new ArithmeticChainOptions { Difficulty = preset.Difficulty });
        var solutionTokens = world.Options.SolutionTokenBudget;
        var tokenizerJson = BuiltInTokenizer.ToJson();
        var tokenizer = BuiltInTokenizer.Create();
        var report = new StringBuilder($"# StepWiser on the built-in world (preset {preset.Name})\n\n");
        void Stage(string text) => ui.Line(text);

        // 1. Policy: SFT from scratch on canonical chunked solutions (reused when the output folder already has it).
        var policyDir = Path.Combine(output, "policy");
        if (!File.Exists(Path.Combine(policyDir, "config.json")))
        {
            using var trained = ui.Run($"training the policy ({preset.PolicySteps} SFT steps)", preset.PolicySteps, "steps", bar =>
                WorldPolicy.Train(world, preset.ShortRecipe ? new WorldPolicyOptions { Steps = preset.PolicySteps, BatchSize = 32, LearningRate = 5e-3, TrainProblems = 4000 } : new WorldPolicyOptions { Steps = preset.PolicySteps }, Progress<TrainingProgress>(p => bar.Report(p.Step, F($"loss {p.Loss:F3}, {p.TokensPerSecond:N0} tok/s"))), cancellationToken));
            HuggingFaceCheckpoint.Save(trained, policyDir);
            BuiltInTokenizer.Save(policyDir);
        }
        using var policyModel = HuggingFaceCheckpoint.Load(policyDir);
        var policy = new LocalTextGenerator(policyModel, tokenizer);
        var heldOut = world.Generate("heldout", preset.SearchProblems, 1);
        var baseline = await WorldPolicy.EvaluateAsync(policy, heldOut, new SamplingOptions { NumSamples = 4, MaxNewTokens = solutionTokens, Temperature = 1, Seed = 1 }, cancellationToken);
        Stage($"policy: held-out accuracy {baseline.Accuracy:P1} (T = 1), {baseline.MixedPromptRate:P0} of problems mixed");

        // 2. Solutions from prompts with some but not all samples right; chunk them (an ML.NET stage).
        var problems = world.Generate("annotate", preset.AnnotationProblems, 1);
        var sampled = await PromptFilter.SampleAsync(policy, verifier, problems.Select(p => (p.Prompt, Answer(p))).ToArray(),
            new SamplingOptions { NumSamples = preset.SamplesPerProblem, MaxNewTokens = solutionTokens, Temperature = 1, Seed = 2 }, cancellationToken);
        var solutions = sampled.Select((s, i) => (s, p: problems[i])).Where(x => x.s.IsMixed)
            .SelectMany(x => x.s.Solutions.Select(sol => new SolutionRow { Problem = x.p.Problem, Prompt = x.p.Prompt, Solution = sol, Answer = Answer(x.p) })).ToArray();
        Stage($"{solutions.Length} solutions from {sampled.Count(s => s.IsMixed)}/{problems.Count} mixed prompts");
        var data = ml.Data.LoadFromEnumerable(solutions);
        var chunker = ml.StepWiser().Transforms.ChunkSteps(new StepChunkerOptions { MalformedPolicy = MalformedChunkPolicy.Repair }).Fit(data);

        // 3. Monte-Carlo annotation (an ML.NET stage; one set of rollouts serves the three schemes).
        var rows = ui.Run($"annotating by Monte-Carlo rollouts (M = {preset.Rollouts})", solutions.Length, "solutions", bar =>
        {
            var mcOptions = new MonteCarloOptions { Rollouts = preset.Rollouts, MaxNewTokens = solutionTokens, BatchSize = 16, StoreDirectory = Path.Combine(output, "rollouts"), PolicyName = "world-policy",
                Progress = Progress<MonteCarloProgress>(p => bar.Report(p.Rows, F($"{p.Rollouts:N0} rollouts, {p.RolloutsPerSecond:N0}/s"))) };
            using var annotator = ml.StepWiser().Transforms.AnnotateMonteCarlo(policy, verifier, mcOptions).Fit(chunker.Transform(data));
            return ml.Data.CreateEnumerable<AnnotatedRow>(annotator.Transform(chunker.Transform(data)), reuseRowObject: false).ToArray();
        });
        // Every fifth problem's solutions are held out: the judges never train on them, and their Monte-Carlo labels
        // measure per-step accuracy against the kind of label the judges learn from.
        var usable = rows.Where(r => r.StepValues.Length == r.Chunks.Length && r.FailedPrefixes == 0).ToArray();
        var heldOutProblems = usable.Select(r => r.Problem).Distinct().Where((_, i) => i % 5 == 0).ToHashSet();
        var examples = new Dictionary<LabelScheme, JudgeExample[]>();
        var heldOutExamples = new Dictionary<LabelScheme, JudgeExample[]>();
        foreach (var scheme in Enum.GetValues<LabelScheme>())
        {
            JudgeExample[] Labelled(IEnumerable<AnnotatedRow> subset) =>
                subset.SelectMany(r => JudgeExample.FromSolution(r.Problem, r.Chunks, StepLabels.Compute(r.InitialValue, r.StepValues, scheme))).ToArray();
            examples[scheme] = Labelled(usable.Where(r => !heldOutProblems.Contains(r.Problem)));
            heldOutExamples[scheme] = Labelled(usable.Where(r => heldOutProblems.Contains(r.Problem)));
            TrlStepwiseFormat.Write(Path.Combine(output, $"labels-{Slug(scheme.ToString())}.jsonl"),
                usable.Select(r => new StepwiseExample(r.Problem, r.Chunks, StepLabels.Compute(r.InitialValue, r.StepValues, scheme))));
        }
        if (examples.Values.Any(e => e.Length == 0) || !examples[LabelScheme.AbsoluteQ].Any(e => e.Label) || examples[LabelScheme.AbsoluteQ].All(e => e.Label))
            throw new CliException($"no usable labelled steps: {sampled.Count(s => s.IsMixed)} of {problems.Count} prompts had both right and wrong samples; the policy needs more training (a larger preset) or more annotation problems.");
        report.AppendLine("## Monte-Carlo labels\n");
        report.AppendLine(F($"{usable.Length} annotated solutions ({usable.Length - usable.Count(r => heldOutProblems.Contains(r.Problem))} for training, the rest of every fifth problem held out); labelled steps in `labels-*.jsonl` (TRL stepwise format, all solutions).\n"));
        // How well each scheme's labels find the exact checker's errors (evaluation only; no label is ever taken from it):
        // over each solution's steps up to its first error, the share of right steps labelled positive and of first
        // errors labelled negative.
        var byProblem = problems.GroupBy(p => p.Problem).ToDictionary(g => g.Key, g => g.First());
        var checks = usable.Select(r => ArithmeticChainWorld.Check(byProblem[r.Problem], r.Chunks)).ToArray();
        report.AppendLine("| scheme | training steps | held-out steps | positive rate | right steps labelled positive | first errors labelled negative |\n|---|---|---|---|---|---|");
        foreach (var (scheme, list) in examples)
        {
            var (rightPositive, errorNegative) = AgreementWithChecker(usable, checks, scheme);
            report.AppendLine(F($"| {scheme} | {list.Length} | {heldOutExamples[scheme].Length} | {100.0 * list.Count(e => e.Label) / Math.Max(1, list.Length):F1} % | {100 * rightPositive:F1} % | {100 * errorNegative:F1} % |"));
        }
        Stage($"annotated {rows.Length} solutions; positive rates " + string.Join(", ", examples.Select(e => F($"{e.Key} {100.0 * e.Value.Count(x => x.Label) / Math.Max(1, e.Value.Length):F0} %"))));

        // 4. Judges: format warm-up from the policy's weights, then GRPO per variant; the discriminative baseline.
        var judges = new List<(string Name, LabelScheme Scheme, IStepJudge Judge, IDisposable? Owner)>();
        var warmDir = Path.Combine(output, "judge-warmup");
        var warmNoCotDir = Path.Combine(output, "judge-warmup-nocot");
        WarmUp(ui, policyDir, warmDir, examples[LabelScheme.AbsoluteQ], WorldJudging.Analysis, preset.WarmupSteps, cancellationToken);
        judges.Add(Generative("warm-up judge (SFT format)", LabelScheme.AbsoluteQ, warmDir, tokenizerJson));
        var variants = new List<(string Name, LabelScheme Scheme, bool Balance, bool Cot)> { ("StepWiser RL, Abs-Q", LabelScheme.AbsoluteQ, true, true) };
        if (preset.AllVariants)
        {
            variants.Add(("StepWiser RL, Rel-Ratio", LabelScheme.RelativeRatio, true, true));
            variants.Add(("StepWiser RL, Rel-Effective", LabelScheme.RelativeEffective, true, true));
            variants.Add(("RL without balancing, Abs-Q", LabelScheme.AbsoluteQ, false, true));
            variants.Add(("RL without CoT, Abs-Q", LabelScheme.AbsoluteQ, true, false));
            // The verdict-only format is learned in fewer steps (its responses are a few tokens).
            WarmUp(ui, policyDir, warmNoCotDir, examples[LabelScheme.AbsoluteQ], _ => "", Math.Max(20, preset.WarmupSteps / 2), cancellationToken);
        }
        var curves = new List<(string Name, IReadOnlyList<GrpoStepMetrics> Metrics)>();
        foreach (var v in variants)
        {
            var train = examples[v.Scheme];
            if (train.All(e => e.Label) || train.All(e => !e.Label)) { Stage($"skipping {v.Name}: one class only"); continue; }
            var model = HuggingFaceCheckpoint.Load(v.Cot ? warmDir : warmNoCotDir);
            var csv = Path.Combine(output, $"grpo-{Slug(v.Name)}.csv");
            var metrics = ui.Run($"GRPO: {v.Name} ({preset.GrpoSteps} steps)", preset.GrpoSteps, "steps", bar => new GrpoTrainer(model, tokenizer, JudgeTemplate.Compact, new GrpoOptions
            {
                Steps = preset.GrpoSteps, PromptsPerStep = preset.GrpoPrompts, GroupSize = 4, MiniBatchSize = preset.GrpoPrompts * 2, LearningRate = 1e-4, MaxNewTokens = 96,
                BalancePrompts = v.Balance, LogCsvPath = csv, Seed = 1,
            }).Train(train, Progress<GrpoStepMetrics>(m => bar.Report(m.Step, F($"reward {m.MeanReward:F2} (+ {m.RewardPositive:F2} / − {m.RewardNegative:F2}), entropy {m.Entropy:F3}, clipped {m.ClipFraction:P0}"))), cancellationToken));
            curves.Add((v.Name, metrics));
            var judgeDir = Path.Combine(output, $"judge-{Slug(v.Name)}");
            var transformer = new StepwiseJudgeTransformer(model, tokenizerJson, JudgeTemplate.Compact, new StepwiseJudgeOptions { MaxNewTokens = 96 }, new Dictionary<string, string> { ["scheme"] = v.Scheme.ToString() });
            transformer.Save(judgeDir);
            judges.Add((v.Name, v.Scheme, transformer.Judge, transformer));
        }
        var discModel = HuggingFaceCheckpoint.Load(policyDir);
        var disc = new DiscriminativeJudge(discModel, tokenizer, JudgeTemplate.Compact);
        ui.Run("discriminative baseline (SFT on +/−, Abs-Q labels)", preset.WarmupSteps, "steps", bar =>
            disc.Train(LabelBalancer.Balance(examples[LabelScheme.AbsoluteQ], e => e.Label, 1), new SftOptions { Steps = preset.WarmupSteps, BatchSize = 32, LearningRate = 2e-3, WarmupSteps = 20 },
                Progress<TrainingProgress>(p => bar.Report(p.Step, F($"loss {p.Loss:F3}"))), cancellationToken));
        judges.Insert(0, ("discriminative SFT (+/−), Abs-Q", LabelScheme.AbsoluteQ, disc, discModel));

        // 5. Evaluation on the held-out benchmark (ProcessBench format; subsets by solution length) and per-step
        //    accuracy against held-out Monte-Carlo labels and against the exact checker's gold labels.
        var bench = (await WorldBenchmark.BuildAsync(policy, [("world", world)], preset.BenchmarkPerSubset * 3, seed: 5, cancellationToken: cancellationToken))
            .Select(r => { r.Subset = r.Steps.Length <= 4 ? "short" : r.Steps.Length <= 5 ? "medium" : "long"; return r; }).ToArray();
        ProcessBench.Write(Path.Combine(output, "world-benchmark.json"), bench);
        var subsets = bench.Select(b => b.Subset).Distinct().ToArray();
        report.AppendLine(F($"\n## Evaluation: held-out benchmark ({bench.Length} solutions, gold first errors from the exact checker)\n"));
        report.AppendLine("ProcessBench F1 per subset (by solution length) and its mean; then per-step accuracy (balanced: mean of the accuracies on positive and on negative steps) against the held-out Monte-Carlo labels of the judge's scheme and against the gold labels of the benchmark's steps up to each first error.\n");
        report.AppendLine("| judge | " + string.Join(" | ", subsets) + " | Avg. F1 | step acc. (MC) | balanced (MC) | step acc. (gold) | balanced (gold) |\n|---|" + string.Concat(subsets.Select(_ => "---|")) + "---|---|---|---|---|");
        var evalCsv = new StringBuilder("judge,subset,error_accuracy,correct_accuracy,f1\n");
        var stepCsv = new StringBuilder("judge,mc_accuracy,mc_balanced,gold_accuracy,gold_balanced\n");
        // Steps up to each gold first error: (record, step) with the gold verdict.
        var goldSteps = bench.SelectMany((b, r) => b.Steps.Select((_, k) => (Record: r, Position: k, Label: b.Label != k)).Where(x => b.Label < 0 || x.Position <= b.Label)).ToArray();
        var byPosition = new List<Series>();
        await ui.RunAsync($"evaluating {judges.Count} judges ({bench.Length} solutions, {goldSteps.Length} gold steps)", judges.Count, "judges", async bar =>
        {
            var done = 0;
            foreach (var (name, scheme, judge, _) in judges)
            {
                // Every step judged with the solution's own earlier steps as history (no stop), so one pass gives both
                // the first rejected step (what a stopping judge would return) and the verdicts at the gold steps.
                var judged = await StepJudging.JudgeSolutionsAsync(judge, bench.Select(b => (b.Problem, (IReadOnlyList<string>)b.Steps)).ToArray(), false, cancellationToken);
                var metrics = ProcessBenchMetrics.Compute(bench.Zip(judged).Select(x => (x.First.Subset, x.First.Label, x.Second.FirstRejected)));
                var gold = goldSteps.Select(g => (Positive: judged[g.Record].Verdicts[g.Position], g.Label, g.Position)).ToArray();
                var mcInputs = heldOutExamples[scheme];
                var mc = await judge.JudgeStepsAsync(mcInputs.Select(e => e.Input).ToArray(), cancellationToken);
                var (mcAcc, mcBal) = StepAccuracy(mcInputs.Select(e => e.Label).ToArray(), mc.Select(v => v.Positive).ToArray());
                var (goldAcc, goldBal) = StepAccuracy(gold.Select(g => g.Label).ToArray(), gold.Select(g => g.Positive).ToArray());
                report.AppendLine($"| {name} | " + string.Join(" | ", metrics.Subsets.Select(s => F($"{100 * s.F1:F1}")))
                    + F($" | **{100 * metrics.AverageF1:F1}** | {100 * mcAcc:F1} | {100 * mcBal:F1} | {100 * goldAcc:F1} | {100 * goldBal:F1} |"));
                foreach (var s in metrics.Subsets) evalCsv.AppendLine(F($"\"{name}\",{s.Subset},{s.ErrorAccuracy:F4},{s.CorrectAccuracy:F4},{s.F1:F4}"));
                stepCsv.AppendLine(F($"\"{name}\",{mcAcc:F4},{mcBal:F4},{goldAcc:F4},{goldBal:F4}"));
                var positions = gold.Select(g => (g.Position, Right: g.Label == g.Positive)).GroupBy(x => x.Position).OrderBy(g => g.Key).Where(g => g.Count() >= 5).ToArray();
                byPosition.Add(new Series(name, positions.Select(g => (double)g.Key + 1).ToArray(), positions.Select(g => g.Average(x => x.Right ? 1.0 : 0.0)).ToArray()));
                bar.Report(++done, F($"{name}: F1 {100 * metrics.AverageF1:F1}"));
                Stage(F($"  {name}: average F1 {100 * metrics.AverageF1:F1}, step accuracy {100 * goldAcc:F1} % (gold), {100 * mcAcc:F1} % (held-out MC)"));
            }
            return 0;
        });
        File.WriteAllText(Path.Combine(output, "evaluation.csv"), evalCsv.ToString());
        File.WriteAllText(Path.Combine(output, "step-accuracy.csv"), stepCsv.ToString());
        Plots.Lines(Path.Combine(output, "judge-accuracy-by-step.png"), "Judge accuracy by step position (gold labels, held-out benchmark)", "step position", "accuracy", byPosition, 0, 1);

        // 6. Chunk-reset search on held-out problems.
        report.AppendLine("\n## Chunk-reset search (held-out problems)\n\n| method | accuracy | accepted tokens / problem | rejected tokens / problem | judge calls / problem |\n|---|---|---|---|---|");
        var searchCsv = new StringBuilder("method,accuracy,accepted_tokens,rejected_tokens,judge_calls\n");
        var searchPoints = new List<LabelledPoint>();
        var alone = await policy.GenerateAsync(heldOut.Select(p => GenerationRequest.FromText(p.Prompt, new SamplingOptions { MaxNewTokens = solutionTokens, Temperature = 1, Seed = 9 })).ToArray(), cancellationToken);
        var aloneAcc = heldOut.Zip(alone).Average(x => ArithmeticChainWorld.IsCorrect(x.First, x.Second.Samples[0].Text) ? 1.0 : 0.0);
        var aloneTokens = alone.Average(r => r.Samples[0].TokenIds.Count);
        report.AppendLine(F($"| policy alone | {100 * aloneAcc:F1} % | {aloneTokens:F0} | 0 | 0 |"));
        searchCsv.AppendLine(F($"policy alone,{aloneAcc:F4},{aloneTokens:F1},0,0"));
        searchPoints.Add(new LabelledPoint("policy alone", aloneTokens, aloneAcc));
        await ui.RunAsync($"chunk-reset search ({heldOut.Count} problems × {judges.Count} judges)", judges.Count, "judges", async bar =>
        {
            var done = 0;
            foreach (var (name, _, judge, _) in judges)
            {
                var search = new ChunkResetSearch(policy, judge, new ChunkResetOptions { ChunkMaxNewTokens = 48, MaxChunks = 10, Seed = 9 });
                var results = await search.SearchAsync(heldOut.Select(p => (p.Prompt, p.Problem)).ToArray(), cancellationToken);
                var acc = heldOut.Zip(results).Average(x => ArithmeticChainWorld.IsCorrect(x.First, x.Second.Solution) ? 1.0 : 0.0);
                var (accepted, rejected, calls) = (results.Average(r => r.AcceptedTokens), results.Average(r => r.RejectedTokens), results.Average(r => r.JudgeCalls));
                report.AppendLine(F($"| + {name} | {100 * acc:F1} % | {accepted:F0} | {rejected:F0} | {calls:F1} |"));
                searchCsv.AppendLine(F($"\"{name}\",{acc:F4},{accepted:F1},{rejected:F1},{calls:F2}"));
                searchPoints.Add(new LabelledPoint(name, accepted + rejected, acc));
                bar.Report(++done, F($"{name}: {100 * acc:F1} %"));
            }
            return 0;
        });
        File.WriteAllText(Path.Combine(output, "search.csv"), searchCsv.ToString());
        Plots.Points(Path.Combine(output, "search-accuracy-vs-tokens.png"), "Chunk-reset search: accuracy vs generated tokens", "generated tokens per problem (accepted + rejected)", "accuracy", searchPoints, 0, 1);

        // 7. Data selection: judge-selected vs outcome-selected correct solutions, then fine-tune the policy on each.
        var selector = judges.FirstOrDefault(j => j.Name.StartsWith("StepWiser RL, Abs-Q", StringComparison.Ordinal));
        if (selector.Judge is not null)
        {
            var prompts = world.Generate("select", preset.SelectionPrompts, 1);
            var picks = await ui.RunAsync($"data selection ({prompts.Count} prompts × {preset.SelectionSamples} samples)", 1, "passes", async bar =>
            {
                var selected = await JudgeDataSelection.SelectAsync(policy, selector.Judge, verifier, prompts.Select(p => (p.Prompt, p.Problem, Answer(p))).ToArray(),
                    new SamplingOptions { NumSamples = preset.SelectionSamples, MaxNewTokens = solutionTokens, Temperature = 1, Seed = 11 }, seed: 1, cancellationToken);
                bar.Report(1);
                return selected.Where(s => s.JudgeSelected is not null).ToArray();
            });
            report.AppendLine(F($"\n## Data selection ({picks.Length} prompts with a correct sample, N = {preset.SelectionSamples}, {preset.FineTuneSteps} fine-tuning steps)\n\n| training data | held-out accuracy |\n|---|---|\n| none (the policy) | {100 * baseline.Accuracy:F1} % |"));
            if (picks.Length == 0) report.AppendLine("\nNo prompt had a correct sample, so there is nothing to fine-tune on (the policy needs more training).");
            foreach (var (name, pick) in picks.Length == 0 ? [] : new[] { ("outcome-only selection", (Func<SelectionResult, string>)(s => s.OutcomeSelected!)), ("StepWiser judge selection", s => s.JudgeSelected!) })
            {
                using var tuned = HuggingFaceCheckpoint.Load(policyDir);
                ui.Run($"fine-tuning on {name}", preset.FineTuneSteps, "steps", bar =>
                    new SftTrainer(tuned, tokenizer, new SftOptions { Steps = preset.FineTuneSteps, BatchSize = 16, LearningRate = 3e-4, WarmupSteps = 5 })
                        .Train(picks.Select(s => new SftExample(s.Prompt, pick(s))).ToArray(), Progress<TrainingProgress>(p => bar.Report(p.Step)), cancellationToken));
                var eval = await WorldPolicy.EvaluateAsync(new LocalTextGenerator(tuned, tokenizer), heldOut, new SamplingOptions { NumSamples = 4, MaxNewTokens = solutionTokens, Temperature = 1, Seed = 1 }, cancellationToken);
                report.AppendLine(F($"| {name} | {100 * eval.Accuracy:F1} % |"));
            }
        }

        // 8. GRPO curves (CSV per run, PNG of all runs) and the report.
        if (curves.Count > 0)
        {
            Plots.Lines(Path.Combine(output, "grpo-reward.png"), "GRPO mean reward (moving average of 5 steps)", "RL step", "mean reward",
                curves.Select(c => new Series(c.Name, c.Metrics.Select(m => (double)m.Step).ToArray(), Plots.Smooth(c.Metrics.Select(m => m.MeanReward).ToArray(), 5))), 0, 1);
            Plots.Lines(Path.Combine(output, "grpo-entropy.png"), "GRPO policy entropy (nats per token)", "RL step", "entropy",
                curves.Select(c => new Series(c.Name, c.Metrics.Select(m => (double)m.Step).ToArray(), c.Metrics.Select(m => m.Entropy).ToArray())));
        }
        report.AppendLine("\n## GRPO curves\n\n![reward](grpo-reward.png)\n\n![entropy](grpo-entropy.png)\n\nPer-step metrics of every RL run are in `grpo-*.csv` (reward, reward by class, zero-advantage share, entropy, response length, clip fraction).\n");
        foreach (var (name, m) in curves)
            report.AppendLine(F($"- {name}: reward {m.Take(5).Average(x => x.MeanReward):F2} (first 5 steps) → {m.TakeLast(5).Average(x => x.MeanReward):F2} (last 5); entropy {m[0].Entropy:F3} → {m[^1].Entropy:F3}; clipped tokens {m.Average(x => x.ClipFraction):P1} on average"));
        report.AppendLine("\n## Plots\n\n![judge accuracy by step](judge-accuracy-by-step.png)\n\n![search accuracy vs tokens](search-accuracy-vs-tokens.png)\n");
        report.AppendLine("\n## Files\n\n- `policy/`, `judge-*/`: models in Hugging Face layout (judges with `stepwiser-judge.json`; load with `StepwiseJudgeTransformer.Load`).\n- `labels-*.jsonl`: Monte-Carlo labels per scheme (TRL stepwise format; `train-judge --input` reads them).\n- `world-benchmark.json`: the held-out benchmark (ProcessBench format; `evaluate --input` reads it).\n- `evaluation.csv`, `step-accuracy.csv`, `search.csv`, `grpo-*.csv`: the tables' numbers.\n- `rollouts/`: the rollout store (a rerun reuses it).");
        report.AppendLine(F($"\nTotal time {ui.Elapsed:mm\\:ss}."));
        File.WriteAllText(Path.Combine(output, "report.md"), report.ToString());
        foreach (var (_, _, _, owner) in judges) owner?.Dispose();
        Console.WriteLine();
        Console.WriteLine(report.ToString());
        Stage($"done; results in {Path.GetFullPath(output)}");
        return 0;
    }

    private static (double RightPositive, double ErrorNegative) AgreementWithChecker(IReadOnlyList<AnnotatedRow> rows, IReadOnlyList<StepCheck> checks, LabelScheme scheme)
    {
        int right = 0, rightPositive = 0, errors = 0, errorNegative = 0;
        for (var i = 0; i < rows.Count; i++)
        {
            var labels = StepLabels.Compute(rows[i].InitialValue, rows[i].StepValues, scheme);
            var last = checks[i].FirstErrorIndex < 0 ? labels.Length - 1 : checks[i].FirstErrorIndex;
            for (var k = 0; k <= last && k < labels.Length; k++)
            {
                if (k == checks[i].FirstErrorIndex) { errors++; if (!labels[k]) errorNegative++; }
                else { right++; if (labels[k]) rightPositive++; }
            }
        }
        return (right == 0 ? double.NaN : rightPositive / (double)right, errors == 0 ? double.NaN : errorNegative / (double)errors);
    }

    private static (double Accuracy, double Balanced) StepAccuracy(IReadOnlyList<bool> labels, IReadOnlyList<bool> predicted)
    {
        if (labels.Count == 0) return (double.NaN, double.NaN);
        var right = labels.Zip(predicted).Count(x => x.First == x.Second);
        var positives = labels.Count(l => l);
        var negatives = labels.Count - positives;
        var tpr = positives == 0 ? double.NaN : labels.Zip(predicted).Count(x => x.First && x.Second) / (double)positives;
        var tnr = negatives == 0 ? double.NaN : labels.Zip(predicted).Count(x => !x.First && !x.Second) / (double)negatives;
        var balanced = double.IsNaN(tpr) ? tnr : double.IsNaN(tnr) ? tpr : (tpr + tnr) / 2;
        return (right / (double)labels.Count, balanced);
    }

    private static void WarmUp(StageConsole ui, string policyDir, string targetDir, IReadOnlyList<JudgeExample> examples, Func<JudgeExample, string> analysis, int steps, CancellationToken cancellationToken)
    {
        if (File.Exists(Path.Combine(targetDir, "config.json"))) return;
        using var model = HuggingFaceCheckpoint.Load(policyDir);
        var balanced = LabelBalancer.Balance(examples, e => e.Label, 1);
        ui.Run($"judge format warm-up ({Path.GetFileName(targetDir)}, {steps} steps)", steps, "steps", bar =>
            new SftTrainer(model, BuiltInTokenizer.Create(), new SftOptions { Steps = steps, BatchSize = 32, LearningRate = 2e-3, WarmupSteps = 20 })
                .Train(JudgeWarmup.Examples(balanced, JudgeTemplate.Compact, analysis), Progress<TrainingProgress>(p => bar.Report(p.Step, F($"loss {p.Loss:F3}"))), cancellationToken));
        HuggingFaceCheckpoint.Save(model, targetDir);
        BuiltInTokenizer.Save(targetDir);
    }

    private static (string, LabelScheme, IStepJudge, IDisposable?) Generative(string name, LabelScheme scheme, string dir, string tokenizerJson)
    {
        var transformer = new StepwiseJudgeTransformer(HuggingFaceCheckpoint.Load(dir), tokenizerJson, JudgeTemplate.Compact, new StepwiseJudgeOptions { MaxNewTokens = 96 });
        return (name, scheme, transformer.Judge, transformer);
    }

    private static IProgress<T> Progress<T>(Action<T> report) => new SyncProgress<T>(report);

    private static string Answer(WorldProblem p) => p.AnswerText;

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
