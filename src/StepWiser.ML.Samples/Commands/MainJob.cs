using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Data;
using StepWiser.ML.Annotation;
using StepWiser.ML.Data;
using StepWiser.ML.Chunking;
using StepWiser.ML.Evaluation;
using StepWiser.ML.Generation;
using StepWiser.ML.Judging;
using StepWiser.ML.Models;
using StepWiser.ML.AnswerChecking;
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
        var tokenizer = BuiltInTokenizer.Create();
        var report = new StringBuilder($"# StepWiser on the built-in world (preset {preset.Name})\n\n");
        if (preset.Name == "smoke")
            report.AppendLine("> **Smoke run: every number below is meaningless.** The smoke preset only proves that every stage runs end to end (a policy trained for seconds, a handful of problems). \"n/a\" marks a value that is undefined at this size (for example GRPO entropy when no group had mixed rewards, so nothing was updated). Use `--preset default` for results.\n");
        void Stage(string text) => ui.Line(text);

        // 1. Policy: SFT from scratch on canonical chunked solutions, stopped when its validation accuracy enters the
        //    preset's band (reused when the output folder already has one trained with the same preset).
        var policyDir = Path.Combine(output, "policy");
        var policyNote = TrainOrReusePolicy(ui, world, preset, policyDir, cancellationToken);
        using var policyModel = HuggingFaceCheckpoint.Load(policyDir);
        var policy = new LocalTextGenerator(policyModel, tokenizer);
        var heldOut = world.Generate("heldout", preset.SearchProblems, 1);
        var baseline = await WorldPolicy.EvaluateAsync(policy, heldOut, new SamplingOptions { NumSamples = 4, MaxNewTokens = solutionTokens, Temperature = 1, Seed = 1 }, cancellationToken);
        Stage($"policy: {policyNote}; held-out accuracy {baseline.Accuracy:P1} (T = 1, {heldOut.Count} problems × 4), {baseline.MixedPromptRate:P0} of problems mixed");
        report.AppendLine(F($"Policy: {policyNote}; held-out accuracy {100 * baseline.Accuracy:F1} % (T = 1, {heldOut.Count} problems × 4 samples). Torch threads: {TorchSharp.torch.get_num_threads()} (results are deterministic for a given thread count).\n"));
        if (preset.PolicyBand is null) report.AppendLine("**Smoke preset: every stage runs, but the models are far too small and short-trained for any number below to mean anything.**\n");

        // 2. Solutions from prompts with some but not all samples right; chunk them (an ML.NET stage).
        var problems = world.Generate("annotate", preset.AnnotationProblems, 1);
        var sampled = await PromptFilter.SampleAsync(policy, verifier, problems.Select(p => (p.Prompt, Answer(p))).ToArray(),
            new SamplingOptions { NumSamples = preset.SamplesPerProblem, MaxNewTokens = solutionTokens, Temperature = 1, Seed = 2 }, cancellationToken);
        var solutions = sampled.Select((s, i) => (s, p: problems[i])).Where(x => x.s.IsMixed)
            .SelectMany(x => x.s.Solutions.Select(sol => new SolutionRow { Problem = x.p.Problem, Prompt = x.p.Prompt, Solution = sol, Answer = Answer(x.p) })).ToArray();
        Stage($"{solutions.Length} solutions from {sampled.Count(s => s.IsMixed)}/{problems.Count} mixed prompts");
        // The solutions in the format `annotate --input` reads, so the command line can be tried on the same data.
        AtomicFile.WriteText(Path.Combine(output, "solutions.jsonl"), writer =>
        {
            foreach (var row in solutions)
                writer.WriteLine(new System.Text.Json.Nodes.JsonObject { ["prompt"] = row.Prompt, ["solution"] = row.Solution, ["answer"] = row.Answer }.ToJsonString());
        });
        var data = ml.Data.LoadFromEnumerable(solutions);
        var chunker = ml.StepWiser().Transforms.ChunkSteps(new StepChunkerOptions { MalformedPolicy = MalformedChunkPolicy.Repair }).Fit(data);

        // 3. Monte-Carlo annotation (an ML.NET stage; one set of rollouts serves the three schemes).
        var rows = ui.Run($"annotating by Monte-Carlo rollouts (M = {preset.Rollouts})", solutions.Length, "solutions", bar =>
        {
            var mcOptions = new MonteCarloOptions { Rollouts = preset.Rollouts, MaxNewTokens = solutionTokens, BatchSize = 16, StoreDirectory = Path.Combine(output, "rollouts"), PolicyName = HuggingFaceCheckpoint.Fingerprint(policyDir),
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
            // The steps the judges train on and are checked against: each solution's steps up to its first negative label.
            JudgeExample[] Labelled(IEnumerable<AnnotatedRow> subset) =>
                JudgeRecipe.SelectSteps(subset.Select(r => new StepwiseExample(r.Problem, r.Chunks, StepLabels.Compute(r.InitialValue, r.StepValues, scheme))), StepSelection.UpToFirstNegative).ToArray();
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
        report.AppendLine("Training and held-out steps are each solution's steps up to its first negative label (the steps the judges train on).\n");
        report.AppendLine("| scheme | training steps | held-out steps | positive rate | right steps labelled positive | first errors labelled negative |\n|---|---|---|---|---|---|");
        foreach (var (scheme, list) in examples)
        {
            var (rightPositive, errorNegative) = AgreementWithChecker(usable, checks, scheme);
            report.AppendLine(F($"| {scheme} | {list.Length} | {heldOutExamples[scheme].Length} | {100.0 * list.Count(e => e.Label) / Math.Max(1, list.Length):F1} % | {Pct(rightPositive)} | {Pct(errorNegative)} |"));
        }
        Stage($"annotated {rows.Length} solutions; positive rates " + string.Join(", ", examples.Select(e => F($"{e.Key} {100.0 * e.Value.Count(x => x.Label) / Math.Max(1, e.Value.Length):F0} %"))));

        // 4. Judges (JudgeRecipe): the analysis on unlabelled policy steps, then verdicts from Monte-Carlo labels on the
        //    steps up to each solution's first negative, then GRPO; the discriminative baseline from the same weights on the
        //    same steps. Evaluated on the held-out benchmark (gold from the exact checker, evaluation only).
        var bench = (await WorldBenchmark.BuildAsync(policy, [("world", world)], preset.BenchmarkPerSubset * 3, seed: 5, cancellationToken: cancellationToken))
            .Select(r => { r.Subset = r.Steps.Length <= 4 ? "short" : r.Steps.Length <= 5 ? "medium" : "long"; return r; }).ToArray();
        ProcessBench.Write(Path.Combine(output, "world-benchmark.json"), bench);
        var unlabelled = await WorldJudging.UnlabelledStepsAsync(policy, world, preset.PretrainProblems, cancellationToken);
        Func<JudgeInput, string> compare = WorldJudging.CompareAnalysis;
        Func<JudgeInput, string>? rederive = null;
        if (preset.Rederive)
        {
            var inputs = unlabelled.Concat(examples.Values.SelectMany(e => e).Select(e => e.Input)).ToArray();
            var analyses = await ui.RunAsync($"policy re-derives {inputs.Length} steps (world-independent analysis)", 1, "passes", async bar =>
            {
                var a = await RederivationAnalysis.ComputeAsync(policy, inputs, i => RederivationAnalysis.ChunkedPrefix(ArithmeticChainWorld.PolicyPrompt(i.Problem), i.History), cancellationToken: cancellationToken);
                bar.Report(1);
                return a;
            });
            rederive = RederivationAnalysis.Lookup(inputs, analyses);
        }
        var goldSteps = bench.Sum(b => b.Label < 0 ? b.Steps.Length : b.Label + 1);
        report.AppendLine(F($"\n## Judges: what each learned from\n\n{JudgeProvenance(preset, unlabelled.Count, examples)}\n"));
        report.AppendLine(F($"## Evaluation: held-out benchmark ({bench.Length} solutions, {goldSteps} gold steps; gold first errors from the exact checker)\n"));
        report.AppendLine((preset.JudgeSeeds > 1 ? F($"Mean ± standard deviation over {preset.JudgeSeeds} judge seeds. ") : "") + "ProcessBench F1 per subset (by solution length) and its mean; balanced step accuracy (mean of the accuracies on positive and on negative steps) against the gold labels of the benchmark's steps up to each first error, and against the held-out Monte-Carlo labels of the judge's scheme (steps up to each first negative).\n");
        var subsets = bench.Select(b => b.Subset).Distinct().ToArray();
        report.AppendLine("| judge | " + string.Join(" | ", subsets) + " | Avg. F1 | balanced (gold) | gold positive / negative | balanced (MC) |\n|---|" + string.Concat(subsets.Select(_ => "---|")) + "---|---|---|---|");
        var evalCsv = new StringBuilder("judge,seed,subset,error_accuracy,correct_accuracy,f1\n");
        var stepCsv = new StringBuilder("judge,seed,gold_accuracy,gold_balanced,gold_positive,gold_negative,mc_balanced\n");
        var scores = new Dictionary<string, List<(ProcessBenchMetrics Metrics, StepAccuracy Gold, StepAccuracy Mc)>>();
        var curves = new List<(string Name, IReadOnlyList<GrpoStepMetrics> Metrics)>();
        var byPosition = new List<Series>();
        var judges = new List<(string Name, LabelScheme Scheme, IStepJudge Judge, double McBalanced)>();
        var owners = new List<IDisposable>();
        for (var seed = 1; seed <= preset.JudgeSeeds; seed++)
        {
            var recipe = Recipe(preset, seed);
            var trained = TrainJudges(ui, output, policyDir, preset, recipe, seed, unlabelled, examples, compare, rederive, curves, owners, cancellationToken);
            await ui.RunAsync($"evaluating {trained.Count} judges (seed {seed})", trained.Count, "judges", async bar =>
            {
                var done = 0;
                foreach (var (name, scheme, judge) in trained)
                {
                    var result = await JudgeBenchmark.EvaluateAsync(judge, bench, cancellationToken);
                    var mcInputs = heldOutExamples[scheme];
                    var mc = await judge.JudgeStepsAsync(mcInputs.Select(e => e.Input).ToArray(), cancellationToken);
                    var mcAcc = StepAccuracy.Compute(mcInputs.Select(e => e.Label).ToArray(), mc.Select(v => v.Positive).ToArray());
                    (scores.TryGetValue(name, out var list) ? list : scores[name] = []).Add((result.Metrics, result.GoldSteps, mcAcc));
                    foreach (var sub in result.Metrics.Subsets) evalCsv.AppendLine(F($"\"{name}\",{seed},{sub.Subset},{sub.ErrorAccuracy:F4},{sub.CorrectAccuracy:F4},{sub.F1:F4}"));
                    stepCsv.AppendLine(F($"\"{name}\",{seed},{result.GoldSteps.Accuracy:F4},{result.GoldSteps.Balanced:F4},{result.GoldSteps.PositiveAccuracy:F4},{result.GoldSteps.NegativeAccuracy:F4},{mcAcc.Balanced:F4}"));
                    if (seed == 1)
                    {
                        judges.Add((name, scheme, judge, mcAcc.Balanced));
                        byPosition.Add(AccuracyByPosition(name, bench, result.Judgments));
                    }
                    bar.Report(++done, $"{name}: F1 {ProcessBenchMetrics.Percent(result.Metrics.AverageF1)}");
                    Stage(F($"  {name} (seed {seed}): average F1 {ProcessBenchMetrics.Percent(result.Metrics.AverageF1)}, balanced step accuracy {100 * result.GoldSteps.Balanced:F1} % (gold), {100 * mcAcc.Balanced:F1} % (held-out MC)"));
                }
                return 0;
            });
        }
        foreach (var (name, runs) in scores)
        {
            var subsetF1 = subsets.Select(sub => Stat(runs.Select(r => r.Metrics.Subsets.FirstOrDefault(x => x.Subset == sub)?.F1 ?? double.NaN)));
            report.AppendLine($"| {name} | " + string.Join(" | ", subsetF1) + $" | **{Stat(runs.Select(r => r.Metrics.AverageF1))}** | **{Stat(runs.Select(r => r.Gold.Balanced))}** | "
                + $"{Stat(runs.Select(r => r.Gold.PositiveAccuracy))} / {Stat(runs.Select(r => r.Gold.NegativeAccuracy))} | {Stat(runs.Select(r => r.Mc.Balanced))} |");
        }
        File.WriteAllText(Path.Combine(output, "evaluation.csv"), evalCsv.ToString());
        File.WriteAllText(Path.Combine(output, "step-accuracy.csv"), stepCsv.ToString());
        Plots.Lines(Path.Combine(output, "judge-accuracy-by-step.png"), "Judge accuracy by step position (gold labels, held-out benchmark)", "step position", "accuracy", byPosition, 0, 1);
        // The judge for search and selection is chosen without gold: the generative judge with the best balanced
        // accuracy on the held-out Monte-Carlo labels of seed 1.
        var best = judges.Where(j => j.Judge is StepwiseJudge).OrderByDescending(j => double.IsNaN(j.McBalanced) ? -1 : j.McBalanced).FirstOrDefault();
        var disc = judges.FirstOrDefault(j => j.Judge is DiscriminativeJudge && j.Scheme == best.Scheme);

        // 6. Chunk-reset search on held-out problems: the policy alone, with the chosen judge, with the discriminative
        //    judge on the same labels.
        report.AppendLine(F($"\n## Chunk-reset search ({heldOut.Count} held-out problems, up to 5 tries per chunk, the last try kept)\n\n| method | accuracy | ± 1 s.e. | accepted tokens / problem | rejected tokens / problem | judge calls / problem |\n|---|---|---|---|---|---|"));
        var searchCsv = new StringBuilder("method,accuracy,accepted_tokens,rejected_tokens,judge_calls\n");
        var searchPoints = new List<LabelledPoint>();
        var alone = await policy.GenerateAsync(heldOut.Select(p => GenerationRequest.FromText(p.Prompt, new SamplingOptions { MaxNewTokens = solutionTokens, Temperature = 1, Seed = 9 })).ToArray(), cancellationToken);
        var aloneAcc = heldOut.Zip(alone).Average(x => ArithmeticChainWorld.IsCorrect(x.First, x.Second.Samples[0].Text) ? 1.0 : 0.0);
        var aloneTokens = alone.Average(r => r.Samples[0].TokenIds.Count);
        report.AppendLine(F($"| policy alone | {100 * aloneAcc:F1} % | {100 * StandardError(aloneAcc, heldOut.Count):F1} | {aloneTokens:F0} | 0 | 0 |"));
        searchCsv.AppendLine(F($"policy alone,{aloneAcc:F4},{aloneTokens:F1},0,0"));
        searchPoints.Add(new LabelledPoint("policy alone", aloneTokens, aloneAcc));
        var searchJudges = (preset.JudgeSeeds > 1 ? new[] { best, disc } : [best]).Where(j => j.Judge is not null).ToArray();
        await ui.RunAsync($"chunk-reset search ({heldOut.Count} problems × {searchJudges.Length} judges)", searchJudges.Length, "judges", async bar =>
        {
            var done = 0;
            foreach (var (name, _, judge, _) in searchJudges)
            {
                var search = new ChunkResetSearch(policy, judge, new ChunkResetOptions { ChunkMaxNewTokens = 48, MaxChunks = 10, Seed = 9 });
                var results = await search.SearchAsync(heldOut.Select(p => (p.Prompt, p.Problem)).ToArray(), cancellationToken);
                var acc = heldOut.Zip(results).Average(x => ArithmeticChainWorld.IsCorrect(x.First, x.Second.Solution) ? 1.0 : 0.0);
                var (accepted, rejected, calls) = (results.Average(r => r.AcceptedTokens), results.Average(r => r.RejectedTokens), results.Average(r => r.JudgeCalls));
                report.AppendLine(F($"| + {name} | {100 * acc:F1} % | {100 * StandardError(acc, heldOut.Count):F1} | {accepted:F0} | {rejected:F0} | {calls:F1} |"));
                searchCsv.AppendLine(F($"\"{name}\",{acc:F4},{accepted:F1},{rejected:F1},{calls:F2}"));
                searchPoints.Add(new LabelledPoint(name, accepted + rejected, acc));
                bar.Report(++done, F($"{name}: {100 * acc:F1} %"));
            }
            return 0;
        });
        report.AppendLine(F($"\nThe judge for search and selection is the generative judge with the best balanced accuracy on held-out Monte-Carlo labels (no gold): {best.Name}."));
        File.WriteAllText(Path.Combine(output, "search.csv"), searchCsv.ToString());
        Plots.Points(Path.Combine(output, "search-accuracy-vs-tokens.png"), "Chunk-reset search: accuracy vs generated tokens", "generated tokens per problem (accepted + rejected)", "accuracy", searchPoints, 0, 1);

        // 7. Data selection: judge-selected vs outcome-selected correct solutions, then fine-tune the policy on each.
        if (best.Judge is not null)
        {
            var selector = best;
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
        {
            var seconds = Math.Max(1e-9, m.Sum(x => x.TotalSeconds));
            report.AppendLine(F($"- {name}: reward {m.Take(5).Average(x => x.MeanReward):F2} (first 5 steps) → {m.TakeLast(5).Average(x => x.MeanReward):F2} (last 5); entropy {Cli.Num(m[0].Entropy)} → {Cli.Num(m[^1].Entropy)}; clipped tokens {m.Average(x => x.ClipFraction):P1} on average; {seconds / m.Count:F1} s a step, of which generation {m.Sum(x => x.GenerationSeconds) / seconds:P0}, updates {m.Sum(x => x.UpdateSeconds) / seconds:P0}, the rest {m.Sum(x => x.OtherSeconds) / seconds:P0}"));
        }
        report.AppendLine("\n## Plots\n\n![judge accuracy by step](judge-accuracy-by-step.png)\n\n![search accuracy vs tokens](search-accuracy-vs-tokens.png)\n");
        report.AppendLine("\n## Files\n\n- `policy/`, `judge-*/`: models in Hugging Face layout (judges with `stepwiser-judge.json`; load with `StepwiseJudgeTransformer.Load`).\n- `solutions.jsonl`: the policy's sampled solutions in the format `annotate --input` reads.\n- `labels-*.jsonl`: Monte-Carlo labels per scheme (TRL stepwise format; `train-judge --input` reads them).\n- `world-benchmark.json`: the held-out benchmark (ProcessBench format; `evaluate --input` reads it).\n- `evaluation.csv`, `step-accuracy.csv`, `search.csv`, `grpo-*.csv`: the tables' numbers.\n- `rollouts/`: the rollout store (a rerun reuses it).");
        report.AppendLine(F($"\nTotal time {ui.Elapsed:mm\\:ss}."));
        File.WriteAllText(Path.Combine(output, "report.md"), report.ToString());
        foreach (var owner in owners) owner.Dispose();
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

    private static string TrainOrReusePolicy(StageConsole ui, ArithmeticChainWorld world, MainJobPreset preset, string policyDir, CancellationToken cancellationToken)
    {
        var manifestPath = Path.Combine(policyDir, "stepwiser-policy.json");
        if (File.Exists(Path.Combine(policyDir, "config.json")))
        {
            var manifest = File.Exists(manifestPath) ? JsonSerializer.Deserialize<PolicyManifest>(File.ReadAllText(manifestPath)) : null;
            if (manifest is null || manifest.Preset != preset.Name || manifest.Difficulty != preset.Difficulty)
                throw new CliException($"{policyDir} holds a policy trained {(manifest is null ? "by an unknown recipe" : $"for preset '{manifest.Preset}'")}, not for preset '{preset.Name}'; choose another --output or remove that folder");
            var validation = manifest.ValidationAccuracy is { } v ? F($"validation accuracy {100 * v:F1} %") : "no accuracy band";
            ui.Line($"reusing policy from {policyDir} (preset {manifest.Preset}, {manifest.Updates} updates, {validation})");
            return F($"reused from {policyDir}: {manifest.Updates} updates, {validation}");
        }
        var options = preset.ShortRecipe
            ? new WorldPolicyOptions { Steps = preset.PolicySteps, BatchSize = 32, LearningRate = 5e-3, TrainProblems = 4000, TargetAccuracy = null }
            : new WorldPolicyOptions { Steps = preset.PolicySteps, TargetAccuracy = preset.PolicyBand };
        var training = ui.Run($"training the policy (at most {options.Steps} SFT steps{(options.TargetAccuracy is { } b ? $", until validation accuracy is in {b}" : "")})", options.Steps, "steps", bar =>
            WorldPolicy.TrainToBand(world, options, Progress<TrainingProgress>(p => bar.Report(p.Step, F($"loss {p.Loss:F3}, {p.TokensPerSecond:N0} tok/s"))), cancellationToken));
        using (training.Model)
        {
            var accuracy = training.ValidationAccuracy;
            var checks = string.Join(", ", training.Checks.TakeLast(4).Select(c => F($"{c.Updates}: {100 * c.Accuracy:F0} %")));
            if (options.TargetAccuracy is { } band && !training.InBand)
                throw new CliException(F($"the policy ended outside its accuracy band {band} after {training.Updates} updates (last checks {checks}); the judge results would be meaningless, so the run stops here (try another --threads value or a larger --preset)"));
            HuggingFaceCheckpoint.Save(training.Model, policyDir);
            BuiltInTokenizer.Save(policyDir);
            File.WriteAllText(manifestPath, JsonSerializer.Serialize(new PolicyManifest(preset.Name, preset.Difficulty, training.Updates, accuracy, training.Threads)));
            return training.Checks.Count == 0 ? F($"{training.Updates} updates (no accuracy band)")
                : F($"{training.Updates} updates, stopped at validation accuracy {100 * accuracy!.Value:F1} % (band {options.TargetAccuracy}; checks {checks})");
        }
    }

    /// <summary>Policy solutions on a split of their own, every step with its own history: what the analysis stage trains on (no labels).</summary>
    private static JudgeRecipeOptions Recipe(MainJobPreset preset, int seed) => new()
    {
        PretrainSteps = preset.PretrainSteps, WarmupSteps = preset.WarmupSteps, Seed = seed, PretrainBalanceBy = JudgeRecipeOptions.BySameOrDifferent,
        Grpo = new GrpoOptions { Steps = preset.GrpoSteps, PromptsPerStep = preset.GrpoPrompts, GroupSize = 4, MiniBatchSize = 32, LearningRate = 1e-4, KlCoefficient = 0.2, MaxNewTokens = 128, WarmupSteps = 5, Seed = seed },
    };

    private static string JudgeProvenance(MainJobPreset preset, int unlabelled, IReadOnlyDictionary<LabelScheme, JudgeExample[]> examples) =>
        F($"Every judge starts from the policy's weights. **Analysis stage** ({preset.PretrainSteps} updates of 32): prompt → analysis on {unlabelled:N0} unlabelled steps of policy samples (no label), balanced on the analysis's own conclusion (Same/Different). ")
        + "The **world analysis** (`WorldJudging.CompareAnalysis`) finds the problem's next instruction, recomputes it from the history's last value and compares it with the step; it is computed from problem, history and chunk only, but encodes this world's rules. "
        + "The **re-derivation analysis** (`RederivationAnalysis`, world-independent) quotes the policy's own greedy re-derivation of the step and compares. "
        + F($"**Verdict stage** ({preset.WarmupSteps} updates of 32): analysis + `\\boxed{{…}}` of the step's Monte-Carlo label, on the training solutions' steps up to each first negative label, balanced 50/50 ")
        + $"({string.Join(", ", examples.Select(e => F($"{e.Key}: {e.Value.Length} steps, {e.Value.Count(x => x.Label)} positive")))}). "
        + F($"**GRPO** ({preset.GrpoSteps} steps × {preset.GrpoPrompts} prompts × 4 responses, lr 1e-4, KL 0.2 to the warmed-up judge, clip 0.2/0.28): reward 1 when the verdict equals the Monte-Carlo label, same steps. ")
        + "The **discriminative** judge starts from the same weights after the analysis stage and trains on the same selected, balanced steps for the same updates, emitting `+`/`-`. No gold label reaches any training stage; gold labels only score the benchmark.";

    private static List<(string Name, LabelScheme Scheme, IStepJudge Judge)> TrainJudges(StageConsole ui, string output, string policyDir, MainJobPreset preset, JudgeRecipeOptions recipe, int seed,
        IReadOnlyList<JudgeInput> unlabelled, IReadOnlyDictionary<LabelScheme, JudgeExample[]> examples, Func<JudgeInput, string> compare, Func<JudgeInput, string>? rederive,
        List<(string Name, IReadOnlyList<GrpoStepMetrics> Metrics)> curves, List<IDisposable> owners, CancellationToken cancellationToken)
    {
        var tokenizer = BuiltInTokenizer.Create();
        var tokenizerJson = BuiltInTokenizer.ToJson();
        var suffix = preset.JudgeSeeds > 1 ? $"-seed{seed}" : "";
        string Pretrained(string name, Func<JudgeInput, string> analysis)
        {
            var dir = Path.Combine(output, $"judge-{name}{suffix}");
            using var model = HuggingFaceCheckpoint.Load(policyDir);
            ui.Run($"analysis stage ({name}, {recipe.PretrainSteps} steps)", Math.Max(1, recipe.PretrainSteps), "steps", bar =>
                JudgeRecipe.Pretrain(model, tokenizer, JudgeTemplate.Compact, unlabelled, analysis, recipe, Progress<TrainingProgress>(p => bar.Report(p.Step, F($"loss {p.Loss:F3}"))), cancellationToken));
            HuggingFaceCheckpoint.Save(model, dir);
            return dir;
        }
        var judges = new List<(string, LabelScheme, IStepJudge)>();
        IStepJudge Generative(string name, LabelScheme scheme, string from, Func<JudgeInput, string> analysis, bool rl, bool warmedUp = false)
        {
            var model = HuggingFaceCheckpoint.Load(from);
            if (!warmedUp)
                ui.Run($"verdict stage: {name} ({recipe.WarmupSteps} steps)", recipe.WarmupSteps, "steps", bar =>
                    JudgeRecipe.WarmUp(model, tokenizer, JudgeTemplate.Compact, examples[scheme], analysis, recipe, Progress<TrainingProgress>(p => bar.Report(p.Step, F($"loss {p.Loss:F3}"))), cancellationToken));
            if (rl)
            {
                var csv = Path.Combine(output, $"grpo-{Slug(name)}{suffix}.csv");
                var grpo = recipe.Grpo;
                grpo.LogCsvPath = csv;
                var metrics = ui.Run($"GRPO: {name} ({grpo.Steps} steps)", grpo.Steps, "steps", bar => JudgeRecipe.Reinforce(model, tokenizer, JudgeTemplate.Compact, examples[scheme], recipe,
                    Progress<GrpoStepMetrics>(m => bar.Report(m.Step, F($"reward {m.MeanReward:F2} (+ {Cli.Num(m.RewardPositive, "F2")} / − {Cli.Num(m.RewardNegative, "F2")}), entropy {Cli.Num(m.Entropy)}, clipped {m.ClipFraction:P0}"))), cancellationToken));
                grpo.LogCsvPath = null;
                if (seed == 1) curves.Add((name, metrics));
            }
            var transformer = new StepwiseJudgeTransformer(model, tokenizerJson, JudgeTemplate.Compact, new StepwiseJudgeOptions { MaxNewTokens = recipe.Grpo.MaxNewTokens },
                new Dictionary<string, string> { ["scheme"] = scheme.ToString(), ["analysis"] = analysis == compare ? "world" : "re-derivation", ["rl_steps"] = (rl ? recipe.Grpo.Steps : 0).ToString(Inv) });
            transformer.Save(Path.Combine(output, $"judge-{Slug(name)}{suffix}"));
            owners.Add(transformer);
            return transformer.Judge;
        }
        var pre = Pretrained("analysis-world", compare);
        const string warmName = "StepWiser warm-up (no RL), Abs-Q";
        judges.Add((warmName, LabelScheme.AbsoluteQ, Generative(warmName, LabelScheme.AbsoluteQ, pre, compare, rl: false)));
        // The RL judge continues from the warm-up judge just saved (the same weights its own verdict stage would give).
        judges.Add(("StepWiser RL, Abs-Q", LabelScheme.AbsoluteQ, Generative("StepWiser RL, Abs-Q", LabelScheme.AbsoluteQ, Path.Combine(output, $"judge-{Slug(warmName)}{suffix}"), compare, rl: true, warmedUp: true)));
        var schemes = preset.AllVariants ? Enum.GetValues<LabelScheme>() : [LabelScheme.AbsoluteQ];
        // A scheme whose selected steps hold one label only cannot train a judge (tiny runs); it is skipped with a line.
        bool BothLabels(LabelScheme s) => examples[s].Any(e => e.Label) && examples[s].Any(e => !e.Label) || Skip(s);
        bool Skip(LabelScheme s) { ui.Line($"skipping {Short(s)} judges: its training steps have one label only"); return false; }
        schemes = schemes.Where(s => s == LabelScheme.AbsoluteQ || BothLabels(s)).ToArray();
        foreach (var scheme in schemes.Where(s => s != LabelScheme.AbsoluteQ))
            judges.Add(($"StepWiser RL, {Short(scheme)}", scheme, Generative($"StepWiser RL, {Short(scheme)}", scheme, pre, compare, rl: true)));
        if (rederive is not null)
        {
            var preB = Pretrained("analysis-rederive", rederive);
            judges.Add(("StepWiser RL, Abs-Q, re-derivation analysis", LabelScheme.AbsoluteQ, Generative("StepWiser RL, Abs-Q, re-derivation analysis", LabelScheme.AbsoluteQ, preB, rederive, rl: true)));
        }
        foreach (var scheme in schemes)
        {
            var model = HuggingFaceCheckpoint.Load(pre);
            owners.Add(model);
            var disc = ui.Run($"discriminative baseline ({Short(scheme)}, {recipe.WarmupSteps} steps)", recipe.WarmupSteps, "steps", bar =>
                JudgeRecipe.TrainDiscriminative(model, tokenizer, JudgeTemplate.Compact, examples[scheme], recipe, Progress<TrainingProgress>(p => bar.Report(p.Step, F($"loss {p.Loss:F3}"))), cancellationToken));
            judges.Add(($"discriminative (+/−), {Short(scheme)}", scheme, disc));
        }
        return judges;
    }

    private static string Short(LabelScheme scheme) => scheme switch { LabelScheme.AbsoluteQ => "Abs-Q", LabelScheme.RelativeRatio => "Rel-Ratio", _ => "Rel-Effective" };

    private static Series AccuracyByPosition(string name, IReadOnlyList<ProcessBenchRecord> bench, IReadOnlyList<StepJudgment> judged)
    {
        var gold = bench.SelectMany((b, r) => b.Steps.Select((_, k) => (Position: k, Right: (b.Label != k) == judged[r].Verdicts[k])).Where(x => b.Label < 0 || x.Position <= b.Label));
        var positions = gold.GroupBy(x => x.Position).OrderBy(g => g.Key).Where(g => g.Count() >= 5).ToArray();
        return new Series(name, positions.Select(g => (double)g.Key + 1).ToArray(), positions.Select(g => g.Average(x => x.Right ? 1.0 : 0.0)).ToArray());
    }

    /// <summary>Percent with one decimal, or "mean ± sd" over several seeds; "n/a" where undefined.</summary>
    private static string Pct(double share) => double.IsNaN(share) ? "n/a" : F($"{100 * share:F1} %");

    private static string Stat(IEnumerable<double> values)
    {
        var v = values.Where(x => !double.IsNaN(x)).ToArray();
        if (v.Length == 0) return "n/a";
        var mean = v.Average();
        if (v.Length == 1) return F($"{100 * mean:F1}");
        var sd = Math.Sqrt(v.Sum(x => (x - mean) * (x - mean)) / (v.Length - 1));
        return F($"{100 * mean:F1} ± {100 * sd:F1}");
    }

    private static double StandardError(double p, int n) => n == 0 ? double.NaN : Math.Sqrt(p * (1 - p) / n);

    private sealed record PolicyManifest(string Preset, double Difficulty, int Updates, double? ValidationAccuracy, int Threads);

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
