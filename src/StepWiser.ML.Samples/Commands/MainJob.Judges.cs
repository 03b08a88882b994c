using System.Text;
using StepWiser.ML.Annotation;
using StepWiser.ML.Evaluation;
using StepWiser.ML.Generation;
using StepWiser.ML.Judging;
using StepWiser.ML.Models;
using StepWiser.ML.Samples.Reporting;
using StepWiser.ML.Tokenization;
using StepWiser.ML.Training;
using StepWiser.ML.Worlds;

namespace StepWiser.ML.Samples.Commands;

internal static partial class MainJob
{
    private sealed partial class Run
    {
        private IReadOnlyList<ProcessBenchRecord> _bench = [];
        private IReadOnlyList<JudgeInput> _unlabelled = [];
        private Func<JudgeInput, string>? _rederive;
        private readonly Func<JudgeInput, string> _compare = WorldJudging.CompareAnalysis;
        private ReferenceWriter? _writer;
        private string _writerNote = "";

        /// <summary>How a generative judge reads and analyses a step: its template, its analysis and its token budget.</summary>
        private sealed record Analysis(string Name, JudgeTemplate Template, Func<JudgeInput, string> Write, int MaxNewTokens);

        // The reference judge's marked comparison takes about four tokens a character of the step, plus the verdict.
        private Analysis Reference => _reference ??= new("reference", JudgeTemplate.ReferencePairs, ReferenceComparison.Analysis, _preset.ReferenceJudgeTokens);
        private Analysis? _reference;

        /// <summary>
        /// 4-5. Judges (JudgeRecipe): the analysis on unlabelled policy steps, then verdicts from Monte-Carlo labels, then
        /// GRPO; the discriminative baseline from the same weights on the same steps. Evaluated on the held-out benchmark
        /// (gold from the exact checker, evaluation only). Returns the judge for search and selection, chosen without
        /// gold, and the discriminative judge on its labels.
        /// </summary>
        public async Task<(ChosenJudge? Best, ChosenJudge? Disc)> JudgesAsync(Labelled labelled)
        {
            await PrepareJudgeDataAsync(labelled);
            var goldSteps = _bench.Sum(b => b.Label < 0 ? b.Steps.Length : b.Label + 1);
            _report.AppendLine(F($"\n## Judges: what each learned from\n\n{JudgeProvenance(_preset, _unlabelled.Count, labelled.Train, _writerNote)}\n"));
            _report.AppendLine(F($"## Evaluation: held-out benchmark ({_bench.Count} solutions, {goldSteps} gold steps; gold first errors from the exact checker)\n"));
            _report.AppendLine((_preset.JudgeSeeds > 1 ? F($"Mean ± standard deviation over {_preset.JudgeSeeds} judge seeds. ") : "") + "ProcessBench F1 per subset (by solution length) and its mean; balanced step accuracy (mean of the accuracies on positive and on negative steps) against the gold labels of the benchmark's steps up to each first error, and against the held-out Monte-Carlo labels of the judge's scheme (steps up to each first negative).\n");
            var subsets = _bench.Select(b => b.Subset).Distinct().ToArray();
            _report.AppendLine("| judge | " + string.Join(" | ", subsets) + " | Avg. F1 | balanced (gold) | gold positive / negative | balanced (MC) |\n|---|" + string.Concat(subsets.Select(_ => "---|")) + "---|---|---|---|");
            var scores = new Dictionary<string, List<(ProcessBenchMetrics Metrics, StepAccuracy Gold, StepAccuracy Mc)>>();
            var evalCsv = new StringBuilder("judge,seed,subset,error_accuracy,correct_accuracy,f1\n");
            var stepCsv = new StringBuilder("judge,seed,threshold,gold_accuracy,gold_balanced,gold_positive,gold_negative,mc_balanced\n");
            var chosen = new List<ChosenJudge>();
            var byPosition = new List<Series>();
            var thresholds = new List<string>();
            for (var seed = 1; seed <= _preset.JudgeSeeds; seed++)
            {
                var trained = TrainJudges(Recipe(_preset, seed), seed, labelled.Train);
                await _ui.RunAsync($"calibrating and evaluating {trained.Count} judges (seed {seed})", trained.Count, "judges", async bar =>
                {
                    var done = 0;
                    foreach (var (name, scheme, judge, discriminative) in trained)
                    {
                        // The same judge with an acceptance threshold chosen on the held-out Monte-Carlo labels of its scheme (no gold).
                        // A tiny run whose held-out solutions are all right or all wrong cannot choose one; its judges are reported uncalibrated.
                        var held = labelled.HeldOutSolutions[scheme];
                        var choice = held.Any(e => e.Labels.All(l => l)) && held.Any(e => e.Labels.Any(l => !l))
                            ? await JudgeCalibration.ChooseThresholdAsync(judge, held, _ct) : null;
                        var calibrated = choice is null ? null : JudgeCalibration.WithThreshold(judge, choice.Threshold);
                        if (seed == 1) thresholds.Add(choice is null ? $"{name}: none (the held-out solutions of {Short(scheme)} are all right or all wrong)" : F($"{name}: t = {choice.Threshold:F3} (held-out MC F1 {100 * choice.DefaultF1:F1} → {100 * choice.F1:F1})"));
                        foreach (var (row, rowJudge) in calibrated is null ? [(name, judge)] : new[] { (name, judge), ($"{name}, calibrated", calibrated) })
                        {
                            var (result, mcAcc) = await EvaluateAsync(rowJudge, labelled.HeldOut[scheme]);
                            (scores.TryGetValue(row, out var list) ? list : scores[row] = []).Add((result.Metrics, result.GoldSteps, mcAcc));
                            foreach (var sub in result.Metrics.Subsets) evalCsv.AppendLine(F($"\"{row}\",{seed},{sub.Subset},{sub.ErrorAccuracy:F4},{sub.CorrectAccuracy:F4},{sub.F1:F4}"));
                            var t = rowJudge == judge ? "" : F($"{choice!.Threshold:F4}");
                            stepCsv.AppendLine(F($"\"{row}\",{seed},{t},{result.GoldSteps.Accuracy:F4},{result.GoldSteps.Balanced:F4},{result.GoldSteps.PositiveAccuracy:F4},{result.GoldSteps.NegativeAccuracy:F4},{mcAcc.Balanced:F4}"));
                            if (seed == 1 && rowJudge == judge)
                            {
                                var points = JudgeBenchmark.AccuracyByPosition(_bench, result.Judgments);
                                byPosition.Add(new Series(name, points.Select(p => (double)p.Position).ToArray(), points.Select(p => p.Accuracy).ToArray()));
                            }
                            Stage(F($"  {row} (seed {seed}): average F1 {ProcessBenchMetrics.Percent(result.Metrics.AverageF1)}, balanced step accuracy {100 * result.GoldSteps.Balanced:F1} % (gold), {100 * mcAcc.Balanced:F1} % (held-out MC)"));
                        }
                        if (seed == 1) chosen.Add(choice is null ? new ChosenJudge(name, scheme, judge, discriminative, double.NaN)
                            : new ChosenJudge($"{name}, calibrated", scheme, calibrated!, discriminative, choice.F1));
                        bar.Report(++done, name);
                    }
                    return 0;
                });
            }
            ReportScores(scores, subsets);
            _report.AppendLine("\n\"Calibrated\" rows are the same judges accepting a step when its score (the judge's probability of Positive, read at its verdict token; P(\"+\") for the discriminative judge) is at least a threshold chosen to maximise ProcessBench-style F1 against the first negative Monte-Carlo label of the held-out annotated solutions of the judge's scheme (no gold). Thresholds (seed 1): "
                + string.Join("; ", thresholds) + ".");
            File.WriteAllText(Path.Combine(_output, "evaluation.csv"), evalCsv.ToString());
            File.WriteAllText(Path.Combine(_output, "step-accuracy.csv"), stepCsv.ToString());
            Plots.Lines(Path.Combine(_output, "judge-accuracy-by-step.png"), "Judge accuracy by step position (gold labels, held-out benchmark)", "step position", "accuracy", byPosition, 0, 1);
            // The judge for search and selection is chosen without gold: the calibrated generative judge with the best F1
            // on the held-out Monte-Carlo-labelled solutions (seed 1).
            var best = chosen.Where(j => !j.Discriminative).OrderByDescending(j => double.IsNaN(j.McF1) ? -1 : j.McF1).FirstOrDefault();
            return (best, best is null ? null : chosen.FirstOrDefault(j => j.Discriminative && j.Scheme == best.Scheme));
        }

        /// <summary>The held-out benchmark (subsets by length), the unlabelled steps of the analysis stage and, when the preset asks, the policy's re-derivations.</summary>
        private async Task PrepareJudgeDataAsync(Labelled labelled)
        {
            _bench = await WorldBenchmark.BuildAsync(_policy, [("world", _world)], _preset.BenchmarkPerSubset * 3, seed: 5, subsetOf: WorldBenchmark.ByLength(), cancellationToken: _ct);
            ProcessBench.Write(Path.Combine(_output, "world-benchmark.json"), _bench);
            _unlabelled = await WorldJudging.UnlabelledStepsAsync(_policy, _world, _preset.PretrainProblems, _ct);
            await ReferenceWriterAsync();
            if (!_preset.Rederive) return;
            var inputs = _unlabelled.Concat(labelled.Train.Values.SelectMany(e => e).Select(e => e.Input)).ToArray();
            var analyses = await _ui.RunAsync($"policy re-derives {inputs.Length} steps (world-independent analysis)", 1, "passes", async bar =>
            {
                var a = await RederivationAnalysis.ComputeAsync(_policy, inputs, WorldJudging.PolicyPrefix, cancellationToken: _ct);
                bar.Report(1);
                return a;
            });
            _rederive = RederivationAnalysis.Lookup(inputs, analyses);
        }

        /// <summary>One judge on the benchmark (gold) and on the held-out Monte-Carlo labels of its scheme.</summary>
        private async Task<(JudgeBenchmarkResult Result, StepAccuracy Mc)> EvaluateAsync(IStepJudge judge, JudgeExample[] heldOut)
        {
            var result = await _ml.StepWiser().Evaluation.EvaluateJudgeAsync(judge, _bench, _ct);
            var mc = await judge.JudgeStepsAsync(heldOut.Select(e => e.Input).ToArray(), _ct);
            return (result, StepAccuracy.Compute(heldOut.Select(e => e.Label).ToArray(), mc.Select(v => v.Positive).ToArray()));
        }

        private void ReportScores(Dictionary<string, List<(ProcessBenchMetrics Metrics, StepAccuracy Gold, StepAccuracy Mc)>> scores, string[] subsets)
        {
            foreach (var (name, runs) in scores)
            {
                var subsetF1 = subsets.Select(sub => Stat(runs.Select(r => r.Metrics.Subsets.FirstOrDefault(x => x.Subset == sub)?.F1 ?? double.NaN)));
                _report.AppendLine($"| {name} | " + string.Join(" | ", subsetF1) + $" | **{Stat(runs.Select(r => r.Metrics.AverageF1))}** | **{Stat(runs.Select(r => r.Gold.Balanced))}** | "
                    + $"{Stat(runs.Select(r => r.Gold.PositiveAccuracy))} / {Stat(runs.Select(r => r.Gold.NegativeAccuracy))} | {Stat(runs.Select(r => r.Mc.Balanced))} |");
            }
        }

        /// <summary>
        /// The reference writer of the two-pass judges: the policy's own supervised recipe continued for
        /// <see cref="MainJobPreset.WriterUpdates"/> more updates on the same training problems (no judge label, no gold),
        /// saved as <c>judge-reference-writer</c>. Its accuracy on held-out problems is reported (the exact checker scores it).
        /// </summary>
        private async Task ReferenceWriterAsync()
        {
            var dir = Path.Combine(_output, "judge-reference-writer");
            var model = HuggingFaceCheckpoint.Load(_policyDir);
            _owners.Add(model);
            var policyOptions = new WorldPolicyOptions();
            var examples = WorldPolicy.TrainingProblems(_world, policyOptions).Select(WorldPolicy.ToExample).ToArray();
            _ui.Run($"reference writer: the policy's recipe continued ({_preset.WriterUpdates} updates)", _preset.WriterUpdates, "steps", bar =>
                new SftTrainer(model, _tokenizer, new SftOptions { Steps = _preset.WriterUpdates, BatchSize = policyOptions.BatchSize, LearningRate = 1e-3, WarmupSteps = Math.Max(1, Math.Min(100, _preset.WriterUpdates / 10)), MaxSequenceLength = 768, Seed = 7 })
                    .Train(examples, Progress<TrainingProgress>(p => bar.Report(p.Step, F($"loss {p.Loss:F3}"))), _ct));
            HuggingFaceCheckpoint.Save(model, dir);
            BuiltInTokenizer.Save(dir);
            var generator = new LocalTextGenerator(model, _tokenizer);
            var check = await WorldPolicy.EvaluateAsync(generator, _heldOut.Take(200).ToArray(), new SamplingOptions { NumSamples = 1, MaxNewTokens = SolutionTokens, Temperature = 1, Seed = 1 }, _ct);
            _writer = new ReferenceWriter(generator, WorldJudging.PolicyPrefix);
            _writerNote = F($"the policy trained {_preset.WriterUpdates} more updates at lr 1e-3 on its own training problems: held-out accuracy {100 * check.Accuracy:F1} % at T = 1 on {Math.Min(200, _heldOut.Count)} problems, the policy's {100 * _baseline.Accuracy:F1} %");
            Stage($"reference writer: {_writerNote}");
        }

        /// <summary>
        /// The judges of one seed. The StepWiser recipe is the two-pass reference judge (the writer's own step, then a marked
        /// character comparison and the verdict): warm-up and RL on Abs-Q, RL on the other schemes, a discriminative baseline
        /// per scheme from the same practised weights on the same template. The one-pass world-analysis judge (and, when the
        /// preset asks, the re-derivation judge) are the comparison rows.
        /// </summary>
        private List<(string Name, LabelScheme Scheme, IStepJudge Judge, bool Discriminative)> TrainJudges(JudgeRecipeOptions recipe, int seed, IReadOnlyDictionary<LabelScheme, JudgeExample[]> plain)
        {
            var suffix = _preset.JudgeSeeds > 1 ? $"-seed{seed}" : "";
            var judges = new List<(string, LabelScheme, IStepJudge, bool)>();
            var examples = plain.ToDictionary(e => e.Key, e => _writer!.WithReferencesAsync(e.Value, _ct).GetAwaiter().GetResult().ToArray());
            // Every judge here is greedy with one vote: its verdicts are remembered, so the calibrated twin, the held-out
            // steps and the benchmark's repeated steps cost no second generation.
            IStepJudge TwoPass(IStepJudge judge) => new MemoizedJudge(new ReferenceJudge(_writer!, judge));
            var pre = Practised(recipe, suffix);
            const string warmName = "StepWiser warm-up (no RL), Abs-Q";
            judges.Add((warmName, LabelScheme.AbsoluteQ, TwoPass(Generative(warmName, LabelScheme.AbsoluteQ, pre, Reference, recipe, seed, suffix, examples, rl: false)), false));
            // The RL judge continues from the warm-up judge just saved (the same weights its own verdict stage would give).
            judges.Add(("StepWiser RL, Abs-Q", LabelScheme.AbsoluteQ, TwoPass(Generative("StepWiser RL, Abs-Q", LabelScheme.AbsoluteQ, Path.Combine(_output, $"judge-{Slug(warmName)}{suffix}"), Reference, recipe, seed, suffix, examples, rl: true, warmedUp: true)), false));
            // A scheme whose selected steps hold one label only cannot train a judge (tiny runs); it is skipped with a line.
            var schemes = (_preset.AllVariants ? Enum.GetValues<LabelScheme>() : [LabelScheme.AbsoluteQ])
                .Where(s => s == LabelScheme.AbsoluteQ || (examples[s].Any(e => e.Label) && examples[s].Any(e => !e.Label)) || Skip(s)).ToArray();
            foreach (var scheme in schemes.Where(s => s != LabelScheme.AbsoluteQ))
                judges.Add(($"StepWiser RL, {Short(scheme)}", scheme, TwoPass(Generative($"StepWiser RL, {Short(scheme)}", scheme, pre, Reference, recipe, seed, suffix, examples, rl: true)), false));
            if (_preset.WorldAnalysis)
            {
                var world = new Analysis("world", JudgeTemplate.Compact, _compare, recipe.Grpo.MaxNewTokens);
                const string name = "StepWiser RL, Abs-Q, one pass, world analysis";
                judges.Add((name, LabelScheme.AbsoluteQ, new MemoizedJudge(Generative(name, LabelScheme.AbsoluteQ, Pretrained("analysis-world", _compare, recipe, suffix), world, recipe, seed, suffix, plain, rl: true)), false));
            }
            if (_rederive is not null)
            {
                var rederive = new Analysis("re-derivation", JudgeTemplate.Compact, _rederive, recipe.Grpo.MaxNewTokens);
                const string name = "StepWiser RL, Abs-Q, one pass, re-derivation analysis";
                judges.Add((name, LabelScheme.AbsoluteQ, new MemoizedJudge(Generative(name, LabelScheme.AbsoluteQ, Pretrained("analysis-rederive", _rederive, recipe, suffix), rederive, recipe, seed, suffix, plain, rl: true)), false));
            }
            foreach (var scheme in schemes)
            {
                var disc = _ui.Run($"discriminative baseline ({Short(scheme)}, {recipe.WarmupSteps} steps)", recipe.WarmupSteps, "steps", bar =>
                    _ml.StepWiser().Trainers.Discriminative(new DiscriminativeJudgeTrainerOptions
                    {
                        Model = ModelBundle.BuiltIn(HuggingFaceCheckpoint.Load(pre)), Recipe = recipe, Template = JudgeTemplate.ReferencePairs,
                        Progress = Progress<TrainingProgress>(p => bar.Report(p.Step, F($"loss {p.Loss:F3}"))),
                    }).Fit(StepwiseJudgeTrainer.ToDataView(_ml, examples[scheme])));
                _owners.Add(disc);
                disc.Save(Path.Combine(_output, $"judge-discriminative-{Slug(Short(scheme))}{suffix}"));
                judges.Add(($"discriminative (+/−), {Short(scheme)}", scheme, TwoPass(disc.Judge), true));
            }
            return judges;
        }

        private bool Skip(LabelScheme scheme)
        {
            _ui.Line($"skipping {Short(scheme)} judges: its training steps have one label only");
            return false;
        }

        /// <summary>
        /// The reference judges' analysis stage from the policy's weights, saved as <c>judge-analysis-reference</c>:
        /// label-free practice pairs (the writer's references on the unlabelled steps, half of them with 1–6 letters or
        /// digits changed) → the marked comparison.
        /// </summary>
        private string Practised(JudgeRecipeOptions recipe, string suffix)
        {
            var dir = Path.Combine(_output, $"judge-analysis-reference{suffix}");
            using var model = HuggingFaceCheckpoint.Load(_policyDir);
            var references = _writer!.WithReferencesAsync(_unlabelled, _ct).GetAwaiter().GetResult().Select(i => i.Reference!).ToArray();
            var practice = ReferenceComparison.PracticePairs(references, _preset.PracticeSteps * recipe.BatchSize, maxEdits: 6, seed: recipe.Seed);
            var options = new JudgeRecipeOptions { PretrainSteps = _preset.PracticeSteps, PretrainLearningRate = recipe.PretrainLearningRate, BatchSize = recipe.BatchSize, MaxSequenceLength = recipe.MaxSequenceLength, Seed = recipe.Seed };
            _ui.Run($"analysis stage (reference comparison, {_preset.PracticeSteps} steps)", Math.Max(1, _preset.PracticeSteps), "steps", bar =>
                JudgeRecipe.Pretrain(model, _tokenizer, JudgeTemplate.ReferencePairs, practice, ReferenceComparison.Analysis, options, Progress<TrainingProgress>(p => bar.Report(p.Step, F($"loss {p.Loss:F3}"))), _ct));
            HuggingFaceCheckpoint.Save(model, dir);
            return dir;
        }

        /// <summary>The analysis stage from the policy's weights, saved as <c>judge-{name}</c>.</summary>
        private string Pretrained(string name, Func<JudgeInput, string> analysis, JudgeRecipeOptions recipe, string suffix)
        {
            var dir = Path.Combine(_output, $"judge-{name}{suffix}");
            using var model = HuggingFaceCheckpoint.Load(_policyDir);
            _ui.Run($"analysis stage ({name}, {recipe.PretrainSteps} steps)", Math.Max(1, recipe.PretrainSteps), "steps", bar =>
                JudgeRecipe.Pretrain(model, _tokenizer, JudgeTemplate.Compact, _unlabelled, analysis, recipe, Progress<TrainingProgress>(p => bar.Report(p.Step, F($"loss {p.Loss:F3}"))), _ct));
            HuggingFaceCheckpoint.Save(model, dir);
            return dir;
        }

        /// <summary>A generative judge: the verdict stage (unless <paramref name="warmedUp"/>), then GRPO when <paramref name="rl"/>; saved with its provenance.</summary>
        private IStepJudge Generative(string name, LabelScheme scheme, string from, Analysis analysis, JudgeRecipeOptions recipe, int seed, string suffix,
            IReadOnlyDictionary<LabelScheme, JudgeExample[]> examples, bool rl, bool warmedUp = false)
        {
            var model = HuggingFaceCheckpoint.Load(from);
            if (!warmedUp)
                _ui.Run($"verdict stage: {name} ({recipe.WarmupSteps} steps)", recipe.WarmupSteps, "steps", bar =>
                    JudgeRecipe.WarmUp(model, _tokenizer, analysis.Template, examples[scheme], analysis.Write, recipe, Progress<TrainingProgress>(p => bar.Report(p.Step, F($"loss {p.Loss:F3}"))), _ct));
            var judgeOptions = new StepwiseJudgeOptions { MaxNewTokens = analysis.MaxNewTokens };
            var metadata = new Dictionary<string, string> { ["scheme"] = scheme.ToString(), ["analysis"] = analysis.Name, ["rl_steps"] = (rl ? recipe.Grpo.Steps : 0).ToString(Inv) };
            if (analysis == Reference) metadata["reference_writer"] = "../judge-reference-writer";
            StepwiseJudgeTransformer transformer;
            if (rl)
            {
                var grpo = recipe.Grpo;
                var tokens = grpo.MaxNewTokens;
                grpo.LogCsvPath = Path.Combine(_output, $"grpo-{Slug(name)}{suffix}.csv");
                grpo.MaxNewTokens = analysis.MaxNewTokens;
                IReadOnlyList<GrpoStepMetrics> metrics = [];
                transformer = _ui.Run($"GRPO: {name} ({grpo.Steps} steps)", grpo.Steps, "steps", bar =>
                {
                    var trainer = _ml.StepWiser().Trainers.StepwiseJudge(new StepwiseJudgeTrainerOptions
                    {
                        Model = ModelBundle.BuiltIn(model), Template = analysis.Template, Grpo = grpo, Judge = judgeOptions, Metadata = metadata,
                        Progress = Progress<GrpoStepMetrics>(m => bar.Report(m.Step, F($"reward {m.MeanReward:F2} (+ {Cli.Num(m.RewardPositive, "F2")} / − {Cli.Num(m.RewardNegative, "F2")}), entropy {Cli.Num(m.Entropy)}, clipped {m.ClipFraction:P0}"))),
                    });
                    var fitted = trainer.Fit(StepwiseJudgeTrainer.ToDataView(_ml, examples[scheme]));
                    metrics = trainer.LastMetrics;
                    return fitted;
                });
                grpo.LogCsvPath = null;
                grpo.MaxNewTokens = tokens;
                if (seed == 1) _curves.Add((name, metrics));
            }
            else
                transformer = new StepwiseJudgeTransformer(ModelBundle.BuiltIn(model), analysis.Template, judgeOptions, metadata);
            transformer.Save(Path.Combine(_output, $"judge-{Slug(name)}{suffix}"));
            _owners.Add(transformer);
            return transformer.Judge;
        }
    }

    private static JudgeRecipeOptions Recipe(MainJobPreset preset, int seed) => new()
    {
        PretrainSteps = preset.PretrainSteps, WarmupSteps = preset.WarmupSteps, Seed = seed, PretrainBalanceBy = JudgeRecipeOptions.BySameOrDifferent,
        Grpo = new GrpoOptions { Steps = preset.GrpoSteps, PromptsPerStep = preset.GrpoPrompts, GroupSize = 4, MiniBatchSize = 32, LearningRate = 1e-4, KlCoefficient = 0.2, MaxNewTokens = 128, WarmupSteps = 5, Seed = seed },
    };

    private static string JudgeProvenance(MainJobPreset preset, int unlabelled, IReadOnlyDictionary<LabelScheme, JudgeExample[]> examples, string writer) =>
        "Every judge starts from the policy's weights. The StepWiser judges and the discriminative baselines are **two-pass reference judges** (`ReferenceJudge`): "
        + $"pass 1, the **reference writer** ({writer}; no judge label, no gold) writes its own next chunk from the problem and the history without seeing the step; "
        + "pass 2, the judge reads that reference and the step as aligned character pairs (`JudgeTemplate.ReferencePairs`). "
        + F($"**Analysis stage** ({preset.PracticeSteps} updates of 32): label-free practice pairs → the marked comparison (`ReferenceComparison.Analysis`: every character pair copied with `=` or `!`, then Same/Different); a pair is one of the writer's references on {unlabelled:N0} unlabelled policy steps and, for half of them, that text with 1–6 letters or digits changed. It reads no label and no task rule: only the two texts. ")
        + F($"**Verdict stage** ({preset.WarmupSteps} updates of 32): the marked comparison of the writer's reference with the real step + `\\boxed{{…}}` of the step's Monte-Carlo label, on the training solutions' steps up to each first negative label, balanced 50/50 ")
        + $"({string.Join(", ", examples.Select(e => F($"{e.Key}: {e.Value.Length} steps, {e.Value.Count(x => x.Label)} positive")))}). "
        + F($"**GRPO** ({preset.GrpoSteps} steps × {preset.GrpoPrompts} prompts × 4 responses, lr 1e-4, KL 0.2 to the warmed-up judge, clip 0.2/0.28): reward 1 when the verdict equals the Monte-Carlo label, same steps. ")
        + "The **discriminative** judge starts from the same weights after the analysis stage, reads the same two-pass prompt and trains on the same selected, balanced steps for the same updates, emitting `+`/`-`: the comparison with it is analysis written at inference or not, nothing else. "
        + (preset.WorldAnalysis ? F($"The **one-pass world-analysis** judge (the previous recipe, for comparison) reads problem, history and step; its analysis stage ({preset.PretrainSteps} updates) teaches `WorldJudging.CompareAnalysis`, which finds the problem's next instruction, recomputes it from the history's last value and compares it with the step — computed without labels but encoding this world's rules. ") : "")
        + (preset.Rederive ? "The **one-pass re-derivation** judge quotes the policy's own greedy re-derivation of the step and compares (`RederivationAnalysis`). " : "")
        + "No gold label reaches any training stage; gold labels only score the benchmark and the writer.";
}
