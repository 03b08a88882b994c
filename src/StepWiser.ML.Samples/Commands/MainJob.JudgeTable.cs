using System.Text;
using StepWiser.ML.Annotation;
using StepWiser.ML.Evaluation;
using StepWiser.ML.Judging;
using StepWiser.ML.Worlds;

namespace StepWiser.ML.Samples.Commands;

internal static partial class MainJob
{
    private sealed partial class Run
    {
        /// <summary>
        /// The judge table (test benchmark, with the dev F1 beside it), its CSVs and claims; returns the headline row:
        /// the StepWiser RL judge of the scheme with the best mean dev F1 (chosen without looking at the test benchmark).
        /// </summary>
        private TrainedJudge? ReportJudges(IReadOnlyList<TrainedJudge> rows, Dictionary<string, List<Scores>> scores, LabelScheme? scheme)
        {
            var goldSteps = _test.Sum(b => b.Label < 0 ? b.Steps.Length : b.Label + 1);
            var subsets = _test.Select(b => b.Subset).Distinct().Order(StringComparer.Ordinal).ToArray();
            _report.AppendLine(F($"## Judges on the test benchmark ({_test.Count} solutions, {goldSteps} gold steps; gold first errors from the exact checker)\n"));
            _report.AppendLine((_preset.JudgeSeeds > 1 ? F($"Mean ± standard deviation over {_preset.JudgeSeeds} judge seeds (each seed trains every judge again: data order, balancing and sampling). ") : "One judge seed (the `large` preset runs three). ")
                + F($"ProcessBench F1 per subset (by solution length) and its mean; balanced step accuracy (mean of the accuracies on right and on wrong steps) against the gold labels of the steps up to each first error, overall and on division steps; and the Avg. F1 on the dev benchmark ({_dev.Count} solutions of another problem stream), where the scheme and the judge for search and selection are chosen. The test benchmark is only scored.\n"));
            _report.AppendLine("| judge | " + string.Join(" | ", subsets) + " | **Avg. F1** | balanced (gold) | right / wrong steps | division steps (balanced) | dev Avg. F1 |\n|---|" + string.Concat(subsets.Select(_ => "---|")) + "---|---|---|---|---|");
            var evalCsv = new StringBuilder("judge,seed,benchmark,subset,error_accuracy,correct_accuracy,f1\n");
            var stepCsv = new StringBuilder("judge,seed,gold_accuracy,gold_balanced,gold_positive,gold_negative,division_balanced\n");
            foreach (var row in rows)
            {
                var runs = scores[row.Name];
                _report.AppendLine($"| {row.Name} | " + string.Join(" | ", subsets.Select(sub => Stat(runs.Select(r => r.Test.Subsets.FirstOrDefault(x => x.Subset == sub)?.F1 ?? double.NaN))))
                    + $" | **{Stat(runs.Select(r => r.Test.AverageF1))}** | {Stat(runs.Select(r => r.TestSteps.Balanced))} | {Stat(runs.Select(r => r.TestSteps.PositiveAccuracy))} / {Stat(runs.Select(r => r.TestSteps.NegativeAccuracy))}"
                    + $" | {Stat(runs.Select(r => r.Divisions.Balanced))} | {Stat(runs.Select(r => r.Dev.AverageF1))} |");
                for (var seed = 0; seed < runs.Count; seed++)
                {
                    foreach (var (bench, metrics) in new[] { ("test", runs[seed].Test), ("dev", runs[seed].Dev) })
                        foreach (var sub in metrics.Subsets)
                            evalCsv.AppendLine(F($"\"{row.Name}\",{seed + 1},{bench},{sub.Subset},{sub.ErrorAccuracy:F4},{sub.CorrectAccuracy:F4},{sub.F1:F4}"));
                    var g = runs[seed].TestSteps;
                    stepCsv.AppendLine(F($"\"{row.Name}\",{seed + 1},{g.Accuracy:F4},{g.Balanced:F4},{g.PositiveAccuracy:F4},{g.NegativeAccuracy:F4},{runs[seed].Divisions.Balanced:F4}"));
                }
            }
            WriteFile(Result("evaluation.csv"), evalCsv.ToString());
            WriteFile(Result("step-accuracy.csv"), stepCsv.ToString());

            var headline = rows.FirstOrDefault(r => r.Kind == RowKind.StepWiserRl && r.Scheme == scheme);
            if (headline is null) return null;
            double[] TestF1(RowKind kind) => rows.FirstOrDefault(r => r.Kind == kind && (r.Scheme == scheme || r.Scheme is null)) is { } row ? scores[row.Name].Select(s => s.Test.AverageF1 * 100).ToArray() : [];
            var rlF1 = TestF1(RowKind.StepWiserRl);
            var warmF1 = TestF1(RowKind.WarmUp);
            _claims["stepwiser_rl_f1"] = Round(Mean(rlF1), 2);
            _claims["stepwiser_rl_f1_sd"] = Round(Sd(rlF1), 2);
            _claims["warmup_f1"] = Round(Mean(warmF1), 2);
            _claims["rsft_f1"] = Round(Mean(TestF1(RowKind.RejectionSampling)), 2);
            _claims["nocot_rl_f1"] = Round(Mean(TestF1(RowKind.NoCotRl)), 2);
            _claims["discriminative_f1"] = Round(Mean(TestF1(RowKind.Discriminative)), 2);
            _claims["policy_writer_diff_f1"] = Round(Mean(TestF1(RowKind.PolicyWriterDiff)), 2);
            _claims["oracle_writer_f1"] = Round(Mean(TestF1(RowKind.OracleWriterDiff)), 2);
            _claims["always_positive_f1"] = Round(Mean(TestF1(RowKind.AlwaysPositive)), 2);
            _claims["rl_minus_warmup_min_seed"] = Round(rlF1.Zip(warmF1, (a, b) => a - b).DefaultIfEmpty(double.NaN).Min(), 2);
            _claims["balanced_gold"] = Round(100 * Mean(scores[headline.Name].Select(s => s.TestSteps.Balanced)), 2);
            _claims["seeds"] = _preset.JudgeSeeds;
            _report.AppendLine(F($"\nThe headline StepWiser judge is **{headline.Name}**: of the three schemes' RL judges, the one with the best dev F1 (seed 1), chosen before any baseline was trained; the baselines learned from the same scheme's labels. The oracle writer of the upper-bound row is {_oracleNote}; it is a stronger solver than the policy, so that row is an upper bound of a two-pass judge, not a StepWiser result."));
            ReportTargets(scores[headline.Name]);
            ReportJudgeMisses(scores[headline.Name], rows.FirstOrDefault(r => r.Kind == RowKind.WarmUp && r.Scheme == scheme) is { } warm ? scores[warm.Name] : [],
                rows.FirstOrDefault(r => r.Kind == RowKind.PolicyWriterDiff) is { } diff ? scores[diff.Name] : []);
            return headline;
        }

        /// <summary>
        /// Where the headline judge's verdicts come from, measured on the test benchmark: at the first errors, how many
        /// state a result the judge locates, on how many its own turn-1 result differs from the stated one, and how many
        /// it rejects; at the right steps that state a result, on how many its own result differs (a right step it
        /// recomputes wrongly). Gold only picks the steps; nothing here trains.
        /// </summary>
        private async Task ReportAnalysisProbeAsync(TrainedJudge headline)
        {
            if (headline.Judge is not StepwiseJudge { Template.ResultFirst: { } template } judge) return;
            var firstErrors = new List<JudgeInput>();
            var right = new List<JudgeInput>();
            foreach (var b in _test)
            {
                var last = b.Label < 0 ? b.Steps.Length - 1 : b.Label;
                for (var k = 0; k <= last; k++)
                {
                    var input = new JudgeInput(b.Problem, b.Steps.Take(k).ToArray(), b.Steps[k]);
                    if (k == b.Label) firstErrors.Add(input);
                    else if (template.Claim(input.Chunk) is not null) right.Add(input);
                }
            }
            if (firstErrors.Count == 0) return;
            var (own, _) = await template.WithOwnResultsAsync(judge.Generator, firstErrors.Concat(right).ToArray(), template.TurnOneTokens, _ct);
            var verdicts = await judge.JudgeStepsAsync(own.Take(firstErrors.Count).ToArray(), _ct);
            bool Differs(JudgeInput x) => template.Claim(x.Chunk) is { } stated && ResultFirstTemplate.OwnResult(x.Reference ?? "") != stated;
            var claimed = firstErrors.Count(x => template.Claim(x.Chunk) is not null);
            var caught = own.Take(firstErrors.Count).Count(Differs);
            var rejected = verdicts.Count(v => !v.Positive);
            var wrongRecomputed = own.Skip(firstErrors.Count).Count(Differs);
            _claims["probe_first_errors"] = firstErrors.Count;
            _claims["probe_claimed"] = claimed;
            _claims["probe_own_result_differs"] = caught;
            _claims["probe_rejected"] = rejected;
            _claims["probe_right_claimed"] = right.Count;
            _claims["probe_right_own_result_differs"] = wrongRecomputed;
            _report.AppendLine(F($"\n**Where the headline judge's verdicts come from** (measured on the test benchmark): of its {firstErrors.Count} first errors, {claimed} state a result the judge locates (the others go to turn 2 whole); on {caught} of those its own turn-1 result differs from the stated one, and it rejects {rejected} of the {firstErrors.Count}. Of the {right.Count} right steps up to the first errors that state a result, its own result differs on {wrongRecomputed} (a right step it recomputes wrongly, which its comparison then flags)."));
        }

        /// <summary>
        /// For each missed judge target, the measured numbers that say why and the rows they come from (written only
        /// when a target is missed; nothing typed).
        /// </summary>
        private void ReportJudgeMisses(IReadOnlyList<Scores> headline, IReadOnlyList<Scores> warmUp, IReadOnlyList<Scores> diff)
        {
            var c = _claims;
            var lines = new List<string>();
            double M(IReadOnlyList<Scores> runs, Func<Scores, double> f) => 100 * Mean(runs.Select(f));
            if (c["stepwiser_rl_f1"] - c["policy_writer_diff_f1"] < 10 && diff.Count > 0)
                lines.Add(F($"- **Against the policy-as-writer diff** (right / wrong steps column): the headline judge accepts {M(headline, r => r.TestSteps.PositiveAccuracy):F1} % of right steps against the diff's {M(diff, r => r.TestSteps.PositiveAccuracy):F1} %, and rejects {M(headline, r => r.TestSteps.NegativeAccuracy):F1} % of first errors against the diff's {M(diff, r => r.TestSteps.NegativeAccuracy):F1} %; the paragraph below says where its missed first errors come from."));
            if ((c["rl_minus_warmup_min_seed"] <= 0 || c["stepwiser_rl_f1"] - c["warmup_f1"] < 3) && warmUp.Count == headline.Count)
            {
                var gains = headline.Zip(warmUp, (a, b) => Signed(100 * (a.Test.AverageF1 - b.Test.AverageF1)));
                var firstErrors = _test.Count(b => b.Label >= 0);
                lines.Add(F($"- **RL over its warm-up** (the warm-up and RL rows of the headline scheme): test F1 gain per seed {string.Join(", ", gains)}; dev F1 {M(warmUp, r => r.Dev.AverageF1):F1} → {M(headline, r => r.Dev.AverageF1):F1}; on test, right steps accepted {M(warmUp, r => r.TestSteps.PositiveAccuracy):F1} → {M(headline, r => r.TestSteps.PositiveAccuracy):F1} % and first errors rejected {M(warmUp, r => r.TestSteps.NegativeAccuracy):F1} → {M(headline, r => r.TestSteps.NegativeAccuracy):F1} % (the test benchmark has {firstErrors} first errors: one is {100.0 / Math.Max(1, firstErrors):F1} points of that rate)."));
            }
            if (lines.Count > 0) _report.AppendLine("\n**Why the missed judge targets are missed** (measured in this run):\n\n" + string.Join("\n", lines));
        }

        /// <summary>The issue's judge targets, each with its measured value and whether it is met (computed here, never typed).</summary>
        private void ReportTargets(IReadOnlyList<Scores> headline)
        {
            var c = _claims;
            _report.AppendLine("\n| judge target | measured | |\n|---|---|---|");
            void Target(string what, string measured, bool met) => _report.AppendLine($"| {what} | {measured} | {(met ? "met" : "**missed**")} |");
            Target("StepWiser RL Avg. F1 ≥ 60 (test)", F($"{c["stepwiser_rl_f1"]:F1}"), c["stepwiser_rl_f1"] >= 60);
            Target("≥ 10 above discriminative SFT", F($"{Signed(c["stepwiser_rl_f1"] - c["discriminative_f1"])}"), c["stepwiser_rl_f1"] - c["discriminative_f1"] >= 10);
            Target("≥ 10 above the policy-as-writer diff", F($"{Signed(c["stepwiser_rl_f1"] - c["policy_writer_diff_f1"])}"), c["stepwiser_rl_f1"] - c["policy_writer_diff_f1"] >= 10);
            Target("RL above its warm-up in every seed", F($"smallest per-seed gain {Signed(c["rl_minus_warmup_min_seed"])}"), c["rl_minus_warmup_min_seed"] > 0);
            Target("mean gain of RL over its warm-up ≥ 3", F($"{Signed(c["stepwiser_rl_f1"] - c["warmup_f1"])}"), c["stepwiser_rl_f1"] - c["warmup_f1"] >= 3);
        }
    }

    private static double Mean(IEnumerable<double> values)
    {
        var v = values.Where(x => !double.IsNaN(x)).ToArray();
        return v.Length == 0 ? double.NaN : v.Average();
    }

    private static double Sd(IReadOnlyList<double> values)
    {
        if (values.Count < 2) return double.NaN;   // undefined for one seed: null in claims.json
        var mean = values.Average();
        return Math.Sqrt(values.Sum(x => (x - mean) * (x - mean)) / (values.Count - 1));
    }

    private static string JudgeProvenance(MainJobPreset preset, int unlabelled, IReadOnlyDictionary<LabelScheme, JudgeExample[]> examples) =>
        "**The StepWiser judge** is one model, initialised from the policy's weights, that judges a step in two turns of the policy's own text (`StepVerification.WorldIndependentResultFirst`, a `ResultFirstTemplate`): "
        + "turn 1 is the policy's prompt with the history and the new step cut just before the result it states (the library's generic claim locator: the number after the step's last `=` or `->`, or in `\\boxed{}`), where the judge writes its own line ending with its own result; "
        + "turn 2 is the same text with that line, `Stated:` and the step's result, then `Check:`, where it writes its comparison (the two results digit by digit, each pair marked `=` or `!`, then `same` or `differs`) and then `\\boxed{Positive}` or `\\boxed{Negative}`. "
        + "A step that states no result goes to turn 2 whole. Nothing in it encodes a rule of the world beyond the policy's own prompt. "
        + F($"**Turn-1 lines** are the untrained policy's own greedy lines at those cut points (self-distillation: no label, no rule). **Analysis stage** ({preset.AnalysisSteps} updates of 32 at 1e-3, no label): on {unlabelled:N0} unlabelled steps of the policy's own solutions (sampled at T = 1.3), turn 1 → the line and turn 2 → the comparison of its result with the stated one. ")
        + F($"**Verdict stage** ({preset.WarmupSteps} updates of 32 at 1e-3): turn 2 → comparison + `\\boxed{{…}}` of each step's Monte-Carlo label, on the annotated solutions' steps up to each first negative label, the labels as they come ")
        + $"({string.Join(", ", examples.Select(e => F($"{Short(e.Key)}: {e.Value.Length} steps, {e.Value.Count(x => x.Label)} positive")))}), with as many turn-1 examples of the unlabelled steps so that turn 1 is kept; this is the **warm-up** row. "
        + F($"**GRPO** ({preset.GrpoSteps} steps × {preset.GrpoPrompts} balanced prompts × 4 responses, lr {Recipe(preset, 1).Grpo.LearningRate:0.#####}, KL 0.2 to the warmed-up judge, clip-higher 0.2/0.28) on both turns: a step's 4 responses are 4 sampled turn-1 lines, each followed by one sampled turn 2, and both turns' tokens take the response's advantage (reward 1 when the verdict equals the Monte-Carlo label), same steps; so RL trains the judge's own recomputation as well as its verdict. ")
        + "The recipe (turn 1 in the policy's text, the learning rates, the labels as they come) was chosen on the dev benchmark in the lab notebook (lab/judge-design.md). "
        + "**Baselines**, on the labels of the scheme chosen on the dev benchmark, each from the same analysed weights and the same selected steps: **RS-FT** (the paper's ablation: GRPO's prompts and number of samples, both turns sampled as GRPO samples them, drawn once from the warmed-up judge, both turns of the responses whose verdict matches the label kept, and as many fine-tuning updates as GRPO makes); "
        + "**no-CoT RL** (the same verdict stage and GRPO with the verdict alone, reading the whole step in the same policy text: no turn 1, no comparison); **discriminative SFT** (the same updates on the same text emitting `+`/`−`, labels balanced). "
        + "**The policy-as-writer diff** is the two-pass judge without a stronger writer: the policy writes its own next step without seeing the step, and the step is accepted when it equals it character for character (the comparison in code: the ceiling of a learned comparer). "
        + "**The oracle-writer diff** is the same with a writer trained longer than the policy: an *upper bound*, not a StepWiser row. **Always Positive** accepts every step. "
        + "No gold label reaches any training stage; gold labels and the exact checker only score the benchmarks.";
}
