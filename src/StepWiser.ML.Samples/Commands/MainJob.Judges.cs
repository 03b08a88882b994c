using System.Text;
using StepWiser.ML.Annotation;
using StepWiser.ML.Evaluation;
using StepWiser.ML.Generation;
using StepWiser.ML.Judging;
using StepWiser.ML.Models;
using StepWiser.ML.Samples.Reporting;
using StepWiser.ML.Search;
using StepWiser.ML.Tokenization;
using StepWiser.ML.Training;
using StepWiser.ML.Worlds;

namespace StepWiser.ML.Samples.Commands;

internal static partial class MainJob
{
    /// <summary>What a row of the judge table is: the StepWiser judge, a baseline, or an upper bound.</summary>
    private enum RowKind { StepWiserRl, WarmUp, RejectionSampling, NoCotRl, Discriminative, PolicyWriterDiff, OracleWriterDiff, AlwaysPositive }

    /// <summary>One trained judge of one seed: its row, the scheme it learned from (null when it learned nothing) and the judge.</summary>
    private sealed record TrainedJudge(string Name, RowKind Kind, LabelScheme? Scheme, IStepJudge Judge);

    /// <summary>One judge's scores on one seed: ProcessBench metrics and gold step accuracy on the test and dev benchmarks, and gold step accuracy on the test benchmark's division steps.</summary>
    private sealed record Scores(ProcessBenchMetrics Test, StepAccuracy TestSteps, ProcessBenchMetrics Dev, StepAccuracy Divisions);

    private sealed partial class Run
    {
        private IReadOnlyList<ProcessBenchRecord> _dev = [];
        private IReadOnlyList<ProcessBenchRecord> _test = [];
        private IReadOnlyList<JudgeInput> _unlabelled = [];
        private readonly Dictionary<string, IStepJudge> _seedless = [];
        private string _oracleNote = "";

        /// <summary>
        /// The one-model judge's two turns: in the policy's own text, turn 1 the step cut before its stated result (the
        /// library's generic claim locator: nothing of the world's rules), where the judge writes its own line and result;
        /// turn 2 that line beside the stated result, then its comparison and verdict.
        /// </summary>
        private static ResultFirstTemplate Judge => StepVerification.WorldIndependentResultFirst;

        /// <summary>The template the recipe trainer and the saved judges carry (turn 2; the judge runs turn 1 itself).</summary>
        private static JudgeTemplate Template => Judge.TurnTwo;

        /// <summary>Room for the comparison (its digit pairs and same/differs, about 15 tokens) and the boxed verdict.</summary>
        internal const int AnalysisTokens = 40;

        /// <summary>
        /// Temperature of the policy's samples the analysis stage learns on: hotter than the policy runs, so that more
        /// steps carry the policy's own kind of slip (lab/judge-design.md: better than steps with rewritten digits).
        /// </summary>
        private const float UnlabelledTemperature = 1.3f;

        /// <summary>Room for a verdict written without analysis (the no-CoT row).</summary>
        private const int VerdictTokens = 24;

        /// <summary>
        /// 4-5. Judges: the StepWiser judge (one model from the policy's weights: the verification analysis learned on
        /// unlabelled steps, then verdicts from Monte-Carlo labels, then GRPO) per label scheme, and every baseline from the
        /// same weights on the same labelled steps; scored on a dev benchmark (where the scheme and the judge for search and
        /// selection are chosen) and on a test benchmark (only scored). Gold labels score, never train.
        /// </summary>
        public async Task<ChosenJudge?> JudgesAsync(Labelled labelled)
        {
            await PrepareJudgeDataAsync();
            _report.AppendLine(F($"\n## Judges: what each learned from\n\n{JudgeProvenance(_preset, _unlabelled.Count, labelled.Train)}\n"));
            var scores = new Dictionary<string, List<Scores>>();
            var rows = new List<TrainedJudge>();
            LabelScheme? headline = null;
            for (var seed = 1; seed <= _preset.JudgeSeeds; seed++)
            {
                var recipe = Recipe(_preset, seed);
                var suffix = _preset.JudgeSeeds > 1 ? $"-seed{seed}" : "";
                var analysed = Analysed("analysis", await TurnOneLinesAsync(null, labelled.Train), recipe, suffix);
                var stepwiser = await ScoredAsync(await StepWiserJudgesAsync(analysed, recipe, seed, suffix, labelled.Train), seed, scores);
                // The scheme is chosen once, on the dev benchmark (seed 1's RL judges); the baselines learn from its labels.
                headline ??= stepwiser.Where(j => j.Kind == RowKind.StepWiserRl).OrderByDescending(j => scores[j.Name][0].Dev.AverageF1).Select(j => j.Scheme).FirstOrDefault();
                var others = headline is { } scheme ? await ScoredAsync(Baselines(analysed, recipe, seed, suffix, scheme, await TurnOneLinesAsync(scheme, labelled.Train), labelled.Train), seed, scores) : [];
                if (seed == 1) rows.AddRange(stepwiser.Concat(others));
            }
            var chosen = ReportJudges(rows, scores, headline);
            if (chosen is not null) await ReportAnalysisProbeAsync(chosen);
            return chosen is null ? null : new ChosenJudge(chosen.Name, chosen.Scheme!.Value, chosen.Judge);
        }

        /// <summary>Scores each judge on the test and dev benchmarks as it comes (the dev score is what choices read).</summary>
        private async Task<List<TrainedJudge>> ScoredAsync(IEnumerable<TrainedJudge> judges, int seed, Dictionary<string, List<Scores>> scores)
        {
            var done = new List<TrainedJudge>();
            foreach (var judge in judges)
            {
                var test = await _ml.StepWiser().Evaluation.EvaluateJudgeAsync(judge.Judge, _test, _ct);
                var dev = await _ml.StepWiser().Evaluation.EvaluateJudgeAsync(judge.Judge, _dev, _ct);
                (scores.TryGetValue(judge.Name, out var list) ? list : scores[judge.Name] = []).Add(new Scores(test.Metrics, test.GoldSteps, dev.Metrics, DivisionSteps(_test, test.Judgments)));
                Stage(F($"  {judge.Name} (seed {seed}): dev F1 {ProcessBenchMetrics.Percent(dev.Metrics.AverageF1)}"));
                done.Add(judge);
            }
            return done;
        }

        /// <summary>The dev and test benchmarks (policy-written solutions on two disjoint held-out problem streams, gold from the exact checker) and the unlabelled steps of the analysis stage.</summary>
        private async Task PrepareJudgeDataAsync()
        {
            _test = await WorldBenchmark.BuildAsync(_policy, [("world", _world)], _preset.BenchmarkSize, seed: 5, subsetOf: WorldBenchmark.ByLength(), cancellationToken: _ct);
            _dev = await WorldBenchmark.BuildAsync(_policy, [("world", _world)], _preset.BenchmarkSize, seed: 6, subsetOf: WorldBenchmark.ByLength(), cancellationToken: _ct);
            ProcessBench.Write(Path.Combine(_output, "world-benchmark.json"), _test);
            ProcessBench.Write(Path.Combine(_output, "world-benchmark-dev.json"), _dev);
            _unlabelled = await WorldJudging.UnlabelledStepsAsync(_policy, _world, _preset.PretrainProblems, _ct, UnlabelledTemperature);
        }

        /// <summary>Gold step accuracy on the benchmark's division steps (steps up to each first error whose equation divides).</summary>
        private static StepAccuracy DivisionSteps(IReadOnlyList<ProcessBenchRecord> bench, IReadOnlyList<StepJudgment> judgments)
        {
            var labels = new List<bool>();
            var verdicts = new List<bool>();
            for (var r = 0; r < bench.Count; r++)
            {
                var last = bench[r].Label < 0 ? bench[r].Steps.Length - 1 : bench[r].Label;
                for (var k = 0; k <= last; k++)
                {
                    if (!bench[r].Steps[k].Contains('/', StringComparison.Ordinal)) continue;
                    labels.Add(k != bench[r].Label);
                    verdicts.Add(judgments[r].Verdicts[k]);
                }
            }
            return StepAccuracy.Compute(labels, verdicts);
        }

        /// <summary>
        /// The judge's turn-1 lines (self-distillation: the untrained policy's own greedy line in its own text, no label, no
        /// rule of the world) for the unlabelled steps (<paramref name="scheme"/> null), or for them and a scheme's
        /// labelled steps; computed once each, the unlabelled steps in one batch and each scheme's steps in another (as
        /// docs/pipeline.md's recipe example does, which gives the same lines).
        /// </summary>
        private async Task<Func<JudgeInput, string>> TurnOneLinesAsync(LabelScheme? scheme, IReadOnlyDictionary<LabelScheme, JudgeExample[]> examples)
        {
            _unlabelledLines ??= await Judge.SelfDistilledAsync(_policy, _unlabelled, _ct);
            if (scheme is not { } s) return _unlabelledLines;
            if (_schemeLines.TryGetValue(s, out var known)) return known;
            var unlabelled = _unlabelledLines;
            var own = await Judge.SelfDistilledAsync(_policy, examples[s].Select(e => e.Input), _ct);
            return _schemeLines[s] = x => unlabelled(x) is { Length: > 0 } line ? line : own(x);
        }

        private Func<JudgeInput, string>? _unlabelledLines;
        private readonly Dictionary<LabelScheme, Func<JudgeInput, string>> _schemeLines = [];

        /// <summary>The StepWiser judges of one seed, per scheme: after the verdict stage (warm-up) and after GRPO, from the analysed weights.</summary>
        private async Task<List<TrainedJudge>> StepWiserJudgesAsync(string analysed, JudgeRecipeOptions recipe, int seed, string suffix, IReadOnlyDictionary<LabelScheme, JudgeExample[]> examples)
        {
            var judges = new List<TrainedJudge>();
            // A scheme whose selected steps hold one label only cannot train a judge (tiny runs); it is skipped with a line.
            foreach (var scheme in Enum.GetValues<LabelScheme>().Where(s => (examples[s].Any(e => e.Label) && examples[s].Any(e => !e.Label)) || Skip(s)))
            {
                var s = Short(scheme);
                var lines = await TurnOneLinesAsync(scheme, examples);
                var warm = Generative($"StepWiser warm-up (no RL), {s}", analysed, Template, lines, recipe, scheme, examples, suffix, rl: false);
                judges.Add(new(warm.Name, RowKind.WarmUp, scheme, warm.Judge));
                var rl = Generative($"StepWiser RL, {s}", warm.Directory, Template, null, recipe, scheme, examples, suffix, rl: true, seed: seed);
                judges.Add(new(rl.Name, RowKind.StepWiserRl, scheme, rl.Judge));
            }
            return judges;
        }

        /// <summary>
        /// The baselines of one seed on the chosen scheme's labels, each from the same analysed weights and the same steps:
        /// RS-FT (from the warm-up), no-CoT RL and discriminative SFT (both reading the whole step in the same policy text,
        /// no turn 1); then, once, the judges that learn nothing (the writer diffs and always-Positive).
        /// </summary>
        private IEnumerable<TrainedJudge> Baselines(string analysed, JudgeRecipeOptions recipe, int seed, string suffix, LabelScheme scheme, Func<JudgeInput, string> lines,
            IReadOnlyDictionary<LabelScheme, JudgeExample[]> examples)
        {
            var s = Short(scheme);
            var warmDir = Path.Combine(_output, $"judge-{Slug($"StepWiser warm-up (no RL), {s}")}{suffix}");
            yield return new($"RS-FT, {s}", RowKind.RejectionSampling, scheme, RejectionSampled($"RS-FT, {s}", warmDir, recipe, scheme, examples, suffix));
            var verdictOnly = Generative($"no-CoT RL (verdict only), {s}", analysed, Judge.Inner, _ => "", recipe, scheme, examples, suffix, rl: true, seed: seed, maxNewTokens: VerdictTokens);
            yield return new(verdictOnly.Name, RowKind.NoCotRl, scheme, verdictOnly.Judge);
            yield return new($"discriminative SFT (+/−), {s}", RowKind.Discriminative, scheme, Discriminative(analysed, recipe, scheme, examples, suffix));
            yield return new("policy-as-writer diff (two-pass)", RowKind.PolicyWriterDiff, null, Seedless("policy-diff", () => new ReferenceJudge(new ReferenceWriter(_policy, WorldJudging.PolicyPrefix), ReferenceComparison.ExactJudge)));
            yield return new("upper bound: oracle-writer diff (a stronger solver)", RowKind.OracleWriterDiff, null, Seedless("oracle-diff", OracleWriterJudge));
            yield return new("always Positive", RowKind.AlwaysPositive, null, ChunkResetSearch.AcceptEveryChunk);
        }

        private IStepJudge Seedless(string key, Func<IStepJudge> create) => _seedless.TryGetValue(key, out var judge) ? judge : _seedless[key] = new MemoizedJudge(create());

        private bool Skip(LabelScheme scheme)
        {
            _ui.Line($"skipping {Short(scheme)} judges: its training steps have one label only");
            return false;
        }

        /// <summary>The analysis stage from the policy's weights on the unlabelled steps (the recipe trainer, that stage alone: both turns, no label), saved as <c>judge-{name}</c>.</summary>
        private string Analysed(string name, Func<JudgeInput, string> analysis, JudgeRecipeOptions recipe, string suffix)
        {
            var dir = Path.Combine(_output, $"judge-{name}{suffix}");
            var model = HuggingFaceCheckpoint.Load(_policyDir);
            using var analysed = Owned(model, () => _ui.Run($"analysis stage ({name}, {recipe.PretrainSteps} steps)", Math.Max(1, recipe.PretrainSteps), "steps", bar =>
                RecipeTrainer(model, Template, recipe with { Stages = JudgeRecipeStages.Analysis }, new JudgeAnalysis(analysis, _unlabelled), AnalysisTokens, [],
                    supervised: p => bar.Report(p.Step, F($"loss {p.Loss:F3}"))).Fit(StepwiseJudgeTrainer.ToDataView(_ml, []))));
            analysed.Save(dir);
            return dir;
        }

        /// <summary>
        /// A generative judge over <paramref name="template"/> from the weights in <paramref name="from"/> by the recipe
        /// trainer: the verdict stage with <paramref name="analysis"/> (null: none, the weights are already warmed up; for
        /// the result-first template, the turn-1 lines), then GRPO when <paramref name="rl"/>; saved with its provenance.
        /// </summary>
        private (string Name, string Directory, IStepJudge Judge) Generative(string name, string from, JudgeTemplate template, Func<JudgeInput, string>? analysis, JudgeRecipeOptions recipe,
            LabelScheme scheme, IReadOnlyDictionary<LabelScheme, JudgeExample[]> examples, string suffix, bool rl, int seed = 1, int maxNewTokens = AnalysisTokens)
        {
            if (analysis is null && !rl) throw new ArgumentException("a judge needs the verdict stage, GRPO or both", nameof(rl));
            var stages = (analysis is null ? JudgeRecipeStages.None : JudgeRecipeStages.Verdicts) | (rl ? JudgeRecipeStages.Grpo : JudgeRecipeStages.None);
            var staged = recipe with { Stages = stages, Grpo = recipe.Grpo with { MaxNewTokens = maxNewTokens, LogCsvPath = rl ? Result($"grpo-{Slug(name)}{suffix}.csv") : null } };
            var what = (analysis is null ? "" : $"verdict stage ({recipe.WarmupSteps} steps)") + (analysis is not null && rl ? " and " : "") + (rl ? $"GRPO ({recipe.Grpo.Steps} steps)" : "");
            var total = (analysis is null ? 0 : recipe.WarmupSteps) + (rl ? recipe.Grpo.Steps : 0);
            var offset = 0;
            var trainer = default(StepwiseJudgeTrainer);
            var model = HuggingFaceCheckpoint.Load(from);
            var transformer = Owned(model, () => _ui.Run($"{what}: {name}", total, "steps", bar =>
            {
                trainer = RecipeTrainer(model, template, staged, analysis is null ? null : new JudgeAnalysis(analysis, _unlabelled), maxNewTokens,
                    new Dictionary<string, string> { ["scheme"] = scheme.ToString() },
                    supervised: p => { offset = p.Step; bar.Report(p.Step, F($"loss {p.Loss:F3}")); },
                    rl: m => bar.Report(offset + m.Step, F($"reward {m.MeanReward:F2} (+ {Cli.Num(m.RewardPositive, "F2")} / − {Cli.Num(m.RewardNegative, "F2")}), entropy {Cli.Num(m.Entropy)}, clipped {m.ClipFraction:P0}")));
                return trainer.Fit(StepwiseJudgeTrainer.ToDataView(_ml, examples[scheme]));
            }));
            if (rl && seed == 1) _curves.Add((name, trainer!.LastMetrics));
            var dir = Path.Combine(_output, $"judge-{Slug(name)}{suffix}");
            transformer.Save(dir);
            _owners.Add(transformer);
            return (name, dir, transformer.Judge);
        }

        /// <summary>Runs a fit that trains <paramref name="model"/> in place: the fitted judge owns it, and a failed or cancelled fit disposes it.</summary>
        private static T Owned<T>(Models.CausalLM model, Func<T> fit)
        {
            try { return fit(); }
            catch
            {
                model.Dispose();
                throw;
            }
        }

        /// <summary>The library's recipe trainer over <paramref name="model"/> (loaded for this judge alone: trained in place, owned by the fitted judge).</summary>
        private StepwiseJudgeTrainer RecipeTrainer(Models.CausalLM model, JudgeTemplate template, JudgeRecipeOptions recipe, JudgeAnalysis? analysis, int maxNewTokens, Dictionary<string, string> metadata,
            Action<TrainingProgress>? supervised = null, Action<GrpoStepMetrics>? rl = null) =>
            _ml.StepWiser().Trainers.StepwiseJudge(new StepwiseJudgeTrainerOptions
            {
                Model = ModelBundle.BuiltIn(model), TrainInPlace = true, CancellationToken = _ct, Template = template, Recipe = recipe, Analysis = analysis,
                Judge = new StepwiseJudgeOptions { MaxNewTokens = maxNewTokens }, Metadata = metadata,
                SupervisedProgress = supervised is null ? null : Progress(supervised), Progress = rl is null ? null : Progress(rl),
            });

        /// <summary>The RS-FT row: the warmed-up judge fine-tuned on its own responses whose verdicts match the labels (GRPO's prompts, samples and updates).</summary>
        private IStepJudge RejectionSampled(string name, string warmedUp, JudgeRecipeOptions recipe, LabelScheme scheme, IReadOnlyDictionary<LabelScheme, JudgeExample[]> examples, string suffix)
        {
            var model = HuggingFaceCheckpoint.Load(warmedUp);
            _ui.Run($"RS-FT: {name}", 1, "passes", bar =>
            {
                JudgeRecipe.RejectionSample(model, _tokenizer, Template, examples[scheme], recipe with { Grpo = recipe.Grpo with { MaxNewTokens = AnalysisTokens } }, cancellationToken: _ct);
                bar.Report(1);
                return 0;
            });
            var transformer = new StepwiseJudgeTransformer(ModelBundle.BuiltIn(model), Template, new StepwiseJudgeOptions { MaxNewTokens = AnalysisTokens },
                new Dictionary<string, string> { ["scheme"] = scheme.ToString(), ["rs_ft"] = "true" });
            transformer.Save(Path.Combine(_output, $"judge-{Slug(name)}{suffix}"));
            _owners.Add(transformer);
            return transformer.Judge;
        }

        /// <summary>The discriminative baseline: the analysed weights trained on the same selected, balanced steps for the same updates, emitting +/−.</summary>
        private IStepJudge Discriminative(string analysed, JudgeRecipeOptions recipe, LabelScheme scheme, IReadOnlyDictionary<LabelScheme, JudgeExample[]> examples, string suffix)
        {
            var disc = _ui.Run($"discriminative baseline ({Short(scheme)}, {recipe.WarmupSteps} steps)", recipe.WarmupSteps, "steps", bar =>
                _ml.StepWiser().Trainers.Discriminative(new DiscriminativeJudgeTrainerOptions
                {
                    Model = ModelBundle.BuiltIn(HuggingFaceCheckpoint.Load(analysed)), TrainInPlace = true, CancellationToken = _ct, Recipe = recipe, Template = Judge.Inner,
                    Progress = Progress<TrainingProgress>(p => bar.Report(p.Step, F($"loss {p.Loss:F3}"))),
                }).Fit(StepwiseJudgeTrainer.ToDataView(_ml, examples[scheme])));
            _owners.Add(disc);
            disc.Save(Path.Combine(_output, $"judge-discriminative-{Slug(Short(scheme))}{suffix}"));
            return disc.Judge;
        }

        /// <summary>
        /// The upper-bound row's writer: the policy's supervised recipe continued <see cref="MainJobPreset.WriterUpdates"/>
        /// updates on its own training problems (a stronger solver than the policy; no judge label, no gold), writing its
        /// own next step for an exact comparison with the step.
        /// </summary>
        private IStepJudge OracleWriterJudge()
        {
            var model = HuggingFaceCheckpoint.Load(_policyDir);
            _owners.Add(model);
            var policyOptions = new WorldPolicyOptions();
            var examples = WorldPolicy.TrainingProblems(_world, policyOptions).Select(WorldPolicy.ToExample).ToArray();
            _ui.Run($"oracle writer (upper bound): the policy's recipe continued ({_preset.WriterUpdates} updates)", _preset.WriterUpdates, "steps", bar =>
                new SftTrainer(model, _tokenizer, new SftOptions { Steps = _preset.WriterUpdates, BatchSize = policyOptions.BatchSize, LearningRate = 1e-3, WarmupSteps = Math.Max(1, Math.Min(100, _preset.WriterUpdates / 10)), MaxSequenceLength = 768, Seed = 7 })
                    .Train(examples, Progress<TrainingProgress>(p => bar.Report(p.Step, F($"loss {p.Loss:F3}"))), _ct));
            var generator = new LocalTextGenerator(model, _tokenizer);
            var check = WorldPolicy.EvaluateAsync(generator, _heldOut, new SamplingOptions { NumSamples = 1, MaxNewTokens = SolutionTokens, Temperature = 1, Seed = 1 }, _ct).GetAwaiter().GetResult();
            _oracleNote = F($"the policy trained {_preset.WriterUpdates} more updates: held-out accuracy {100 * check.Accuracy:F1} % at T = 1 against the policy's {100 * _baseline.Accuracy:F1} %");
            return new ReferenceJudge(new ReferenceWriter(generator, WorldJudging.PolicyPrefix), ReferenceComparison.ExactJudge);
        }
    }

    /// <summary>The judge recipe of a preset and seed (what <see cref="Stages.RecipeExample"/> takes to give the main job's judge).</summary>
    /// <remarks>
    /// Chosen on the dev benchmark (lab/judge-design.md, "The result-first judge in the recipe's stages"): both supervised
    /// stages at 1e-3; the verdict stage on the labels as they come (with the comparison's same/differs word a verdict
    /// learns that most "same" steps are right; balanced labels taught it to reject them), GRPO on balanced prompts,
    /// sampling turn 1 too, 90 steps at 3e-5 ("GRPO that samples turn 1": above the warm-up where fixed lines were not).
    /// </remarks>
    internal static JudgeRecipeOptions Recipe(MainJobPreset preset, int seed) => new()
    {
        PretrainSteps = preset.AnalysisSteps, WarmupSteps = preset.WarmupSteps, Seed = seed, PretrainLearningRate = 1e-3, WarmupBalance = false,
        Grpo = new GrpoOptions { Steps = preset.GrpoSteps, PromptsPerStep = preset.GrpoPrompts, GroupSize = 4, MiniBatchSize = 32, LearningRate = 3e-5, KlCoefficient = 0.2, MaxNewTokens = Run.AnalysisTokens, WarmupSteps = 5, Seed = seed, SampleTurnOne = true },
    };
}
