using System.Text;
using System.Text.Json;
using StepWiser.ML.Generation;
using StepWiser.ML.Judging;
using StepWiser.ML.Models;
using StepWiser.ML.Samples.Reporting;
using StepWiser.ML.Search;
using StepWiser.ML.Selection;
using StepWiser.ML.Tokenization;
using StepWiser.ML.Training;
using StepWiser.ML.Worlds;

namespace StepWiser.ML.Samples.Commands;

internal static partial class MainJob
{
    private sealed partial class Run
    {
        /// <summary>Search seeds: each problem is searched once per seed, and the policy alone is drawn with the same seeds (a paired comparison).</summary>
        private static readonly int[] SearchSeeds = [9, 10, 11];

        /// <summary>
        /// 6. Chunk-reset search on held-out problems, paired: the policy alone writes chunk by chunk with the same attempt
        /// seeds as the search (<see cref="ChunkResetSearch.PolicyAlone"/>), so both draw the same first attempts until
        /// the judge first rejects one; each problem is searched with three seeds. Then the chosen judge (and, over several
        /// judge seeds, the discriminative judge on the same labels).
        /// </summary>
        public async Task SearchAsync(ChosenJudge? best, ChosenJudge? disc)
        {
            _report.AppendLine(F($"\n## Chunk-reset search ({_heldOut.Count} held-out problems × {SearchSeeds.Length} search seeds, up to 5 tries per chunk, the last try kept)\n"));
            _report.AppendLine(F($"The policy alone is drawn chunk by chunk with the same seeds as the search (every chunk accepted), so the two share every first attempt until the judge first rejects a chunk: the paired difference is the judge's effect, without the sampling noise of two unrelated runs. Standard errors take the problem as the unit (each problem's {SearchSeeds.Length} seeds averaged first: they are not independent draws), n = {_heldOut.Count}.\n"));
            _report.AppendLine("| method | accuracy | ± 1 s.e. | difference from the policy alone | accepted tokens / problem | rejected tokens / problem | judge calls / problem |\n|---|---|---|---|---|---|---|");
            var searchCsv = new StringBuilder("method,accuracy,paired_difference,paired_difference_se,accepted_tokens,rejected_tokens,judge_calls\n");
            var searchPoints = new List<LabelledPoint>();
            var problems = ArithmeticChainWorld.ToDataView(_ml, _heldOut);
            ChunkResetOptions Options(int seed) => new() { ChunkMaxNewTokens = 48, MaxChunks = 10, Seed = seed, BatchSize = _heldOut.Count, ReuseVerdicts = true };   // the judges are greedy (one vote)
            SearchRow[] Searched(ChunkResetSearchTransformer t) => _ml.Data.CreateEnumerable<SearchRow>(t.Transform(problems), reuseRowObject: false).ToArray();
            // 1 or 0 per search, seed after seed (row i is problem i mod n), the layout PerProblem reads.
            double[] Correct(IReadOnlyList<SearchRow> rows) => rows.Select((r, i) => ArithmeticChainWorld.IsCorrect(_heldOut[i % _heldOut.Count], r.SearchedSolution) ? 1.0 : 0.0).ToArray();

            // The policy alone: the same search with a judge that accepts every chunk.
            var aloneRows = SearchSeeds.SelectMany(seed => Searched(_ml.StepWiser().Search.PolicyAlone(_policy, Options(seed)).Fit(problems))).ToArray();
            var alone = Correct(aloneRows);
            var aloneTokens = aloneRows.Average(r => r.AcceptedTokens);
            _report.AppendLine(F($"| policy alone | {100 * alone.Average():F1} % | {100 * PerProblem(alone, _heldOut.Count).StandardError:F1} | — | {aloneTokens:F0} | 0 | 0 |"));
            searchCsv.AppendLine(F($"policy alone,{alone.Average():F4},0,0,{aloneTokens:F1},0,0"));
            searchPoints.Add(new LabelledPoint("policy alone", aloneTokens, alone.Average()));

            var searchJudges = (_preset.JudgeSeeds > 1 ? new[] { best, disc } : [best]).OfType<ChosenJudge>().ToArray();
            _ui.Run($"chunk-reset search ({_heldOut.Count} problems × {SearchSeeds.Length} seeds × {searchJudges.Length} judges)", searchJudges.Length * SearchSeeds.Length, "searches", bar =>
            {
                var done = 0;
                foreach (var j in searchJudges)
                {
                    var rows = new List<SearchRow>();
                    foreach (var seed in SearchSeeds)
                    {
                        rows.AddRange(Searched(_ml.StepWiser().Search.ChunkReset(_policy, j.Judge, Options(seed)).Fit(problems)));
                        bar.Report(++done, F($"{j.Name}, seed {seed}"));
                    }
                    var correct = Correct(rows);
                    var (mean, se) = PerProblem(correct.Zip(alone, (x, y) => x - y).ToArray(), _heldOut.Count);
                    var acc = correct.Average();
                    var (accepted, rejected, calls) = (rows.Average(r => r.AcceptedTokens), rows.Average(r => r.RejectedTokens), rows.Average(r => r.JudgeCalls));
                    _report.AppendLine(F($"| + {j.Name} | {100 * acc:F1} % | {100 * PerProblem(correct, _heldOut.Count).StandardError:F1} | {100 * mean:+0.0;-0.0;0.0} ± {100 * se:F1} | {accepted:F0} | {rejected:F0} | {calls:F1} |"));
                    searchCsv.AppendLine(F($"\"{j.Name}\",{acc:F4},{mean:F4},{se:F4},{accepted:F1},{rejected:F1},{calls:F2}"));
                    searchPoints.Add(new LabelledPoint(j.Name, accepted + rejected, acc));
                }
                return 0;
            });
            _report.AppendLine(F($"\nThe judge for search and selection is the calibrated generative judge with the best F1 on the held-out Monte-Carlo-labelled solutions (no gold): {best?.Name}. Judge calls are the calls made: a chunk the policy draws again word for word at the same point takes the verdict it got there before (`ReuseVerdicts`; the judges are greedy, so the search is the same)."));
            File.WriteAllText(Path.Combine(_output, "search.csv"), searchCsv.ToString());
            Plots.Points(Path.Combine(_output, "search-accuracy-vs-tokens.png"), "Chunk-reset search: accuracy vs generated tokens", "generated tokens per problem (accepted + rejected)", "accuracy", searchPoints, 0, 1);
        }

        /// <summary>7. Judge-selected vs outcome-selected correct solutions, then the policy fine-tuned on each.</summary>
        public async Task SelectAsync(ChosenJudge? best)
        {
            if (best is null) return;
            var prompts = _world.Generate("select", _preset.SelectionPrompts, 1);
            var picks = _ui.Run($"data selection ({prompts.Count} prompts × {_preset.SelectionSamples} samples)", 1, "passes", bar =>
            {
                var data = ArithmeticChainWorld.ToDataView(_ml, prompts);
                var options = new JudgeDataSelectionOptions { Sampling = new SamplingOptions { NumSamples = _preset.SelectionSamples, MaxNewTokens = SolutionTokens, Temperature = 1, Seed = 11 }, Seed = 1, BatchSize = prompts.Count };
                var selected = _ml.StepWiser().Selection.ByJudge(_policy, best.Judge, _verifier, options).Fit(data).Transform(data);
                bar.Report(1);
                return _ml.Data.CreateEnumerable<SelectionRow>(selected, reuseRowObject: false).Where(s => s.JudgeSelected.Length > 0).ToArray();
            });
            _report.AppendLine(F($"\n## Data selection ({picks.Length} prompts with a correct sample, N = {_preset.SelectionSamples}, {_preset.FineTuneSteps} fine-tuning steps)\n\n| training data | held-out accuracy |\n|---|---|\n| none (the policy) | {100 * _baseline.Accuracy:F1} % |"));
            if (picks.Length == 0) _report.AppendLine("\nNo prompt had a correct sample, so there is nothing to fine-tune on (the policy needs more training).");
            // How much the comparison can show: prompts with more than one correct sample, and prompts where the two picks differ.
            var choices = picks.Count(p => p.CorrectCount > 1);
            var differ = picks.Count(p => p.JudgeSelected != p.OutcomeSelected);
            foreach (var (name, pick) in picks.Length == 0 ? [] : new[] { ("outcome-only selection", (Func<SelectionRow, string>)(s => s.OutcomeSelected)), ("StepWiser judge selection", s => s.JudgeSelected) })
            {
                using var tuned = HuggingFaceCheckpoint.Load(_policyDir);
                _ui.Run($"fine-tuning on {name}", _preset.FineTuneSteps, "steps", bar =>
                    new SftTrainer(tuned, _tokenizer, new SftOptions { Steps = _preset.FineTuneSteps, BatchSize = 16, LearningRate = 3e-4, WarmupSteps = 5 })
                        .Train(picks.Select(s => new SftExample(s.Prompt, pick(s))).ToArray(), Progress<TrainingProgress>(p => bar.Report(p.Step)), _ct));
                var eval = await WorldPolicy.EvaluateAsync(new LocalTextGenerator(tuned, _tokenizer), _heldOut, new SamplingOptions { NumSamples = 4, MaxNewTokens = SolutionTokens, Temperature = 1, Seed = 1 }, _ct);
                _report.AppendLine(F($"| {name} | {100 * eval.Accuracy:F1} % |"));
            }
            if (picks.Length > 0)
                _report.AppendLine(F($"\n{choices} of the {picks.Length} prompts had more than one correct sample to choose from; the judge's pick differs from the outcome-only pick on {differ}."));
        }

        /// <summary>8. GRPO curves (CSV per run, PNG of all runs) and the report.</summary>
        public void Finish()
        {
            if (_curves.Count > 0)
            {
                Plots.Lines(Path.Combine(_output, "grpo-reward.png"), "GRPO mean reward (moving average of 5 steps)", "RL step", "mean reward",
                    _curves.Select(c => new Series(c.Name, c.Metrics.Select(m => (double)m.Step).ToArray(), Plots.Smooth(c.Metrics.Select(m => m.MeanReward).ToArray(), 5))), 0, 1);
                Plots.Lines(Path.Combine(_output, "grpo-entropy.png"), "GRPO policy entropy (nats per token)", "RL step", "entropy",
                    _curves.Select(c => new Series(c.Name, c.Metrics.Select(m => (double)m.Step).ToArray(), c.Metrics.Select(m => m.Entropy).ToArray())));
            }
            _report.AppendLine("\n## GRPO curves\n\n![reward](grpo-reward.png)\n\n![entropy](grpo-entropy.png)\n\nPer-step metrics of every RL run are in `grpo-*.csv` (reward, reward by class, zero-advantage share, entropy, response length, clip fraction).\n");
            foreach (var (name, m) in _curves)
            {
                var seconds = Math.Max(1e-9, m.Sum(x => x.TotalSeconds));
                _report.AppendLine(F($"- {name}: reward {m.Take(5).Average(x => x.MeanReward):F2} (first 5 steps) → {m.TakeLast(5).Average(x => x.MeanReward):F2} (last 5); entropy {Cli.Num(m[0].Entropy)} → {Cli.Num(m[^1].Entropy)}; clipped tokens {m.Average(x => x.ClipFraction):P1} on average; {seconds / m.Count:F1} s a step, of which generation {m.Sum(x => x.GenerationSeconds) / seconds:P0}, updates {m.Sum(x => x.UpdateSeconds) / seconds:P0}, the rest {m.Sum(x => x.OtherSeconds) / seconds:P0}"));
            }
            _report.AppendLine("\n## Plots\n\n![judge accuracy by step](judge-accuracy-by-step.png)\n\n![search accuracy vs tokens](search-accuracy-vs-tokens.png)\n");
            _report.AppendLine("\n## Files\n\n- `policy/`, `judge-*/`: models in Hugging Face layout (generative judges with `stepwiser-judge.json`, load with `StepwiseJudgeTransformer.Load`; `judge-discriminative-*` with `DiscriminativeJudgeTransformer.Load`; `judge-analysis-*` is the analysis stage both start from; `judge-reference-writer/` is pass 1 of the two-pass judges, which name it in their manifest's `reference_writer`).\n- `solutions.jsonl`: the policy's sampled solutions in the format `annotate --input` reads.\n- `labels-*.jsonl`: Monte-Carlo labels per scheme (TRL stepwise format; `train-judge --input` reads them).\n- `world-benchmark.json`: the held-out benchmark (ProcessBench format; `evaluate --input` reads it).\n- `evaluation.csv`, `step-accuracy.csv`, `search.csv`, `grpo-*.csv`: the tables' numbers.\n- `rollouts/`: the rollout store (a rerun reuses it).");
            _report.AppendLine(F($"\nTotal time {_ui.Elapsed:mm\\:ss}."));
            File.WriteAllText(Path.Combine(_output, "report.md"), _report.ToString());
            Console.WriteLine();
            Console.WriteLine(_report.ToString());
            Stage($"done; results in {Path.GetFullPath(_output)}");
        }
    }

    /// <summary>1. The policy: trained into the preset's band and saved with a manifest, or reused when the folder holds one for this preset.</summary>
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

    private sealed record PolicyManifest(string Preset, double Difficulty, int Updates, double? ValidationAccuracy, int Threads);
}
