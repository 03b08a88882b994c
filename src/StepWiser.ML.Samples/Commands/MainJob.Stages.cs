using System.Globalization;
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
        /// 6. Chunk-reset search on held-out problems with its whole cost: the policy alone chunk by chunk with the same
        /// attempt seeds (a paired comparison), the search with the chosen judge counting the policy's accepted and
        /// rejected tokens and every token the judge generated, and what a user would do instead with the same
        /// generated tokens: a majority vote over full samples of the policy (self-consistency).
        /// </summary>
        public async Task SearchAsync(ChosenJudge? chosen)
        {
            _report.AppendLine(F($"\n## Chunk-reset search ({_heldOut.Count} held-out problems × {SearchSeeds.Length} search seeds, up to 5 tries per chunk, the last try kept)\n"));
            _report.AppendLine(F($"The policy alone is drawn chunk by chunk with the same seeds as the search (every chunk accepted), so the two share every first attempt until the judge first rejects a chunk. Generated tokens count everything: the policy's accepted and rejected chunks and the judge's analyses and verdicts. The majority vote samples full solutions from the policy (T = 1) until it has spent about the search's tokens and takes the most frequent boxed answer. Standard errors take the problem as the unit (each problem's {SearchSeeds.Length} seeds averaged first), n = {_heldOut.Count}.\n"));
            _report.AppendLine("| method | accuracy | ± 1 s.e. | difference from the policy alone | generated tokens / problem | of which judge |\n|---|---|---|---|---|---|");
            var searchCsv = new StringBuilder("method,accuracy,paired_difference,paired_difference_se,tokens,judge_tokens\n");
            var points = new List<LabelledPoint>();
            var problems = ArithmeticChainWorld.ToDataView(_ml, _heldOut);
            ChunkResetOptions Options(int seed) => new() { ChunkMaxNewTokens = 48, MaxChunks = 10, Seed = seed, BatchSize = _heldOut.Count, ReuseVerdicts = true };
            SearchRow[] Searched(ChunkResetSearchTransformer t) => _ml.Data.CreateEnumerable<SearchRow>(t.Transform(problems), reuseRowObject: false).ToArray();
            // 1 or 0 per problem, seed after seed (row i is problem i mod n), the layout PerProblem reads.
            double[] Correct(IReadOnlyList<string> solutions) => solutions.Select((s, i) => ArithmeticChainWorld.IsCorrect(_heldOut[i % _heldOut.Count], s) ? 1.0 : 0.0).ToArray();
            void Row(string name, double[] correct, double[]? alone, double tokens, double judgeTokens)
            {
                var difference = alone is null ? "—" : PerProblem(correct.Zip(alone, (x, y) => x - y).ToArray(), _heldOut.Count) is var (mean, se) ? F($"{Signed(100 * mean)} ± {100 * se:F1}") : "";
                _report.AppendLine(F($"| {name} | {100 * correct.Average():F1} % | {100 * PerProblem(correct, _heldOut.Count).StandardError:F1} | {difference} | {tokens:F0} | {judgeTokens:F0} |"));
                searchCsv.AppendLine(F($"\"{name}\",{correct.Average():F4},{(alone is null ? 0 : correct.Zip(alone, (x, y) => x - y).Average()):F4},0,{tokens:F1},{judgeTokens:F1}"));
                points.Add(new LabelledPoint(name, tokens, correct.Average()));
            }

            var aloneRows = SearchSeeds.SelectMany(seed => Searched(_ml.StepWiser().Search.PolicyAlone(_policy, Options(seed)).Fit(problems))).ToArray();
            var alone = Correct(aloneRows.Select(r => r.SearchedSolution).ToArray());
            var aloneTokens = aloneRows.Average(r => r.AcceptedTokens);
            Row("policy alone", alone, null, aloneTokens, 0);
            _claims["policy_accuracy"] = Round(100 * alone.Average(), 2);
            if (chosen is null) return;

            var rows = _ui.Run($"chunk-reset search ({_heldOut.Count} problems × {SearchSeeds.Length} seeds)", SearchSeeds.Length, "searches", bar =>
                SearchSeeds.SelectMany((seed, k) =>
                {
                    var found = Searched(_ml.StepWiser().Search.ChunkReset(_policy, chosen.Judge, Options(seed)).Fit(problems));
                    bar.Report(k + 1, F($"seed {seed}"));
                    return found;
                }).ToArray());
            var searched = Correct(rows.Select(r => r.SearchedSolution).ToArray());
            var searchTokens = rows.Average(r => r.AcceptedTokens + r.RejectedTokens + r.JudgeTokens);
            Row($"chunk-reset search with {chosen.Name}", searched, alone, searchTokens, rows.Average(r => r.JudgeTokens));

            // The majority vote at the same budget: as many full samples as the search's tokens buy.
            var votes = Math.Max(1, (int)Math.Round(searchTokens / Math.Max(1, aloneTokens)));
            var (voted, votedTokens) = await MajorityVoteAsync(votes);
            Row(F($"majority vote of {votes} policy samples (the same tokens)"), voted, alone, votedTokens, 0);
            _claims["search_accuracy"] = Round(100 * searched.Average(), 2);
            _claims["majority_vote_same_tokens_accuracy"] = Round(100 * voted.Average(), 2);
            _claims["search_tokens_per_problem"] = Round(searchTokens, 1);
            _report.AppendLine(F($"\nThe judge is the one chosen on the dev benchmark: {chosen.Name}. Judge calls are the calls made: a chunk the policy draws again word for word at the same point takes the verdict it got there before (`ReuseVerdicts`; the judge is greedy, so the search is the same)."));
            ReportSearchTargets(aloneTokens, searchTokens, rows.Average(r => r.JudgeTokens), votes, votedTokens);
            WriteFile(Result("search.csv"), searchCsv.ToString());
            Plots.Points(Result("search-accuracy-vs-tokens.png"), "Search, policy alone and majority vote: accuracy vs generated tokens", "generated tokens per problem (policy and judge)", "accuracy", points, 0, 1);
        }

        /// <summary>The majority vote of <paramref name="votes"/> full policy samples per problem and search seed: per-problem correctness (the PerProblem layout) and mean generated tokens per problem.</summary>
        private async Task<(double[] Correct, double Tokens)> MajorityVoteAsync(int votes)
        {
            var correct = new List<double>();
            long tokens = 0;
            foreach (var seed in SearchSeeds)
            {
                var sampling = new SamplingOptions { NumSamples = votes, MaxNewTokens = SolutionTokens, Temperature = 1, Seed = seed * 7_919L };
                var results = await _policy.GenerateAsync(_heldOut.Select(p => GenerationRequest.FromText(p.Prompt, sampling)).ToArray(), _ct);
                for (var i = 0; i < _heldOut.Count; i++)
                {
                    tokens += results[i].Samples.Sum(s => s.TokenIds.Count);
                    var answer = results[i].Samples.Select(s => ArithmeticChainWorld.ExtractBoxed(s.Text)).Where(a => a is not null)
                        .GroupBy(a => a, StringComparer.Ordinal).OrderByDescending(g => g.Count()).Select(g => g.Key).FirstOrDefault();   // ties: the answer drawn first
                    correct.Add(answer == _heldOut[i].AnswerText ? 1 : 0);
                }
            }
            return (correct.ToArray(), tokens / (double)(SearchSeeds.Length * _heldOut.Count));
        }

        private void ReportSearchTargets(double aloneTokens, double searchTokens, double judgeTokens, int votes, double votedTokens)
        {
            var c = _claims;
            _report.AppendLine("\n| search target | measured | |\n|---|---|---|");
            _report.AppendLine(F($"| ≥ 5 points above the policy alone | {Signed(c["search_accuracy"] - c["policy_accuracy"])} | {(c["search_accuracy"] - c["policy_accuracy"] >= 5 ? "met" : "**missed**")} |"));
            _report.AppendLine(F($"| at least level with the majority vote at the same tokens | {Signed(c["search_accuracy"] - c["majority_vote_same_tokens_accuracy"])} | {(c["search_accuracy"] >= c["majority_vote_same_tokens_accuracy"] ? "met" : "**missed**")} |"));
            if (c["search_accuracy"] < c["majority_vote_same_tokens_accuracy"])
                _report.AppendLine(F($"\n**Why the search is below the vote** (the table's token columns): of the search's {searchTokens:F0} tokens a problem, the judge generated {judgeTokens:F0} ({100 * judgeTokens / searchTokens:F0} %) and the policy {searchTokens - judgeTokens:F0}, {searchTokens - judgeTokens - aloneTokens:F0} more than alone; the vote takes the whole number of samples nearest those tokens, {votes} ({votedTokens:F0} tokens a problem), which gain {Signed(c["majority_vote_same_tokens_accuracy"] - c["policy_accuracy"])} points over the policy alone against the search's {Signed(c["search_accuracy"] - c["policy_accuracy"])}."));
        }

        /// <summary>
        /// 7. Data selection: N samples per prompt; the policy fine-tuned (several seeds) on the judge's pick (the correct
        /// sample with the highest mean step score), on every correct sample (outcome-only rejection sampling) and on one
        /// correct sample drawn at random; held-out accuracy of each.
        /// </summary>
        public async Task SelectAsync(ChosenJudge? chosen)
        {
            if (chosen is null) return;
            var prompts = _world.Generate("select", _preset.SelectionPrompts, 1);
            var byPrompt = prompts.ToDictionary(p => p.Prompt, StringComparer.Ordinal);
            var picks = _ui.Run($"data selection ({prompts.Count} prompts × {_preset.SelectionSamples} samples)", 1, "passes", bar =>
            {
                var data = ArithmeticChainWorld.ToDataView(_ml, prompts);
                var options = new JudgeDataSelectionOptions { Sampling = new SamplingOptions { NumSamples = _preset.SelectionSamples, MaxNewTokens = SolutionTokens, Temperature = 1, Seed = 11 }, Seed = 1, BatchSize = prompts.Count };
                var selected = _ml.StepWiser().Selection.ByJudge(_policy, chosen.Judge, _verifier, options).Fit(data).Transform(data);
                bar.Report(1);
                return _ml.Data.CreateEnumerable<SelectionRow>(selected, reuseRowObject: false).Where(s => s.JudgeSelected.Length > 0).ToArray();
            });
            bool Flawed(SelectionRow row, string solution) => ArithmeticChainWorld.Check(byPrompt[row.Prompt], solution).FirstErrorIndex >= 0;
            var methods = new (string Name, string Key, Func<SelectionRow, IEnumerable<string>> Pick)[]
            {
                ("StepWiser judge selection (the correct sample with the best mean step score)", "selection_judge", s => [s.JudgeSelected]),
                ("outcome-only selection (every correct sample)", "selection_outcome", s => s.CorrectSolutions),
                ("a random correct sample", "selection_random", s => [s.OutcomeSelected]),
            };
            _report.AppendLine(F($"\n## Data selection ({picks.Length} prompts with a correct sample of {prompts.Count}, N = {_preset.SelectionSamples}; {_preset.FineTuneSteps} fine-tuning steps, {_preset.FineTuneSeeds} fine-tuning seeds)\n"));
            _report.AppendLine("Each pick set fine-tunes the policy from its own weights, once per fine-tuning seed; held-out accuracy on the search problems (T = 1, 4 samples), mean ± sd over the seeds. Picks with a wrong step are counted with the exact checker (evaluation only).\n");
            _report.AppendLine(F($"| training data | examples | picks with a wrong step | held-out accuracy |\n|---|---|---|---|\n| none (the policy) | — | — | {100 * _baseline.Accuracy:F1} % |"));
            var selectionCsv = new StringBuilder("method,seed,examples,flawed_share,accuracy\n");
            var counts = new Dictionary<string, (int Examples, double Flawed)>();
            foreach (var (name, key, pick) in picks.Length == 0 ? [] : methods)
            {
                var examples = picks.SelectMany(s => pick(s).Select(solution => (Row: s, Solution: solution))).ToArray();
                var flawed = examples.Average(e => Flawed(e.Row, e.Solution) ? 1.0 : 0.0);
                var accuracies = new List<double>();
                for (var seed = 1; seed <= _preset.FineTuneSeeds; seed++)
                {
                    using var tuned = HuggingFaceCheckpoint.Load(_policyDir);
                    _ui.Run($"fine-tuning on {name} (seed {seed})", _preset.FineTuneSteps, "steps", bar =>
                        new SftTrainer(tuned, _tokenizer, new SftOptions { Steps = _preset.FineTuneSteps, BatchSize = 16, LearningRate = 3e-4, WarmupSteps = 5, Seed = seed })
                            .Train(examples.Select(e => new SftExample(e.Row.Prompt, e.Solution)).ToArray(), Progress<TrainingProgress>(p => bar.Report(p.Step)), _ct));
                    var eval = await WorldPolicy.EvaluateAsync(new LocalTextGenerator(tuned, _tokenizer), _heldOut, new SamplingOptions { NumSamples = 4, MaxNewTokens = SolutionTokens, Temperature = 1, Seed = 1 }, _ct);
                    accuracies.Add(eval.Accuracy);
                    selectionCsv.AppendLine(F($"\"{name}\",{seed},{examples.Length},{flawed:F4},{eval.Accuracy:F4}"));
                }
                _claims[key] = Round(100 * accuracies.Average(), 2);
                counts[key] = (examples.Length, flawed);
                _report.AppendLine(F($"| {name} | {examples.Length} | {100 * flawed:F1} % | {Stat(accuracies)} % |"));
            }
            WriteFile(Result("selection.csv"), selectionCsv.ToString());
            if (picks.Length == 0)
            {
                _report.AppendLine("\nNo prompt had a correct sample, so there is nothing to fine-tune on (the policy needs more training).");
                return;
            }
            var choices = picks.Count(p => p.CorrectCount > 1);
            var differ = picks.Count(p => p.JudgeSelected != p.OutcomeSelected);
            _claims["picks_differ_share"] = Round(differ / (double)picks.Length);
            _report.AppendLine(F($"\n{choices} of the {picks.Length} prompts had more than one correct sample to choose from; the judge's pick differs from the random correct pick on {differ} ({100.0 * differ / picks.Length:F1} %)."));
            var c = _claims;
            _report.AppendLine("\n| selection target | measured | |\n|---|---|---|");
            _report.AppendLine(F($"| judge-selected ≥ 2 points above outcome-selected | {Signed(c["selection_judge"] - c["selection_outcome"])} | {(c["selection_judge"] - c["selection_outcome"] >= 2 ? "met" : "**missed**")} |"));
            _report.AppendLine(F($"| picks differ on ≥ 30 % of prompts | {100 * c["picks_differ_share"]:F1} % | {(c["picks_differ_share"] >= 0.30 ? "met" : "**missed**")} |"));
            _report.AppendLine(F($"| right-answer samples with a wrong step ≥ 15 % | {100 * c["flawed_correct_share"]:F1} % | {(c["flawed_correct_share"] >= 0.15 ? "met" : "**missed**")} |"));
            _report.AppendLine(F($"| right-answer samples not all one text on ≥ 30 % of problems | {100 * c["distinct_correct_share"]:F1} % | {(c["distinct_correct_share"] >= 0.30 ? "met" : "**missed**")} |"));
            if (c["selection_judge"] - c["selection_outcome"] < 2)
                _report.AppendLine(F($"\n**Why judge selection is not 2 points above outcome-only** (the table's examples and wrong-step columns): the judge's picks hold a wrong step on {100 * counts["selection_judge"].Flawed:F1} % against {100 * counts["selection_random"].Flawed:F1} % for a random correct pick, so its choice removes few flawed samples, and outcome-only selection fine-tunes on {counts["selection_outcome"].Examples} examples against the judge's {counts["selection_judge"].Examples}."));
        }

        /// <summary>
        /// The headline numbers as one small Markdown table (results/summary.md), from the claims: what the README shows,
        /// written by the run (a test checks the README's copy against docs/results/summary.md).
        /// </summary>
        private string Summary()
        {
            string V(string key, string unit = "") => _claims.TryGetValue(key, out var v) && !double.IsNaN(v) ? F($"{v:F1}{unit}") : "n/a";
            var table = new StringBuilder("| measured on the built-in world's test benchmark and held-out problems | value |\n|---|---|\n");
            foreach (var (label, key, unit) in new[]
            {
                ("StepWiser RL judge, ProcessBench-style Avg. F1", "stepwiser_rl_f1", ""), ("the same judge after its warm-up, no RL", "warmup_f1", ""),
                ("RS-FT instead of RL", "rsft_f1", ""), ("no-CoT RL (verdict only)", "nocot_rl_f1", ""), ("discriminative SFT (+/−)", "discriminative_f1", ""),
                ("policy-as-writer diff (two-pass)", "policy_writer_diff_f1", ""), ("upper bound: oracle-writer diff (a stronger solver)", "oracle_writer_f1", ""),
                ("policy alone, accuracy", "policy_accuracy", " %"), ("chunk-reset search with the judge, accuracy", "search_accuracy", " %"),
                ("majority vote at the search's generated tokens, accuracy", "majority_vote_same_tokens_accuracy", " %"),
                ("policy fine-tuned on the judge's picks, accuracy", "selection_judge", " %"), ("… on every correct sample (outcome only)", "selection_outcome", " %"),
                ("… on a random correct sample", "selection_random", " %"),
            })
                table.Append(CultureInfo.InvariantCulture, $"| {label} | {V(key, unit)} |\n");
            return table.ToString();
        }

        /// <summary>8. GRPO curves (CSV per run, PNG of all runs), claims.json, the report (deterministic: no times) and the run's times apart.</summary>
        public void Finish()
        {
            if (_curves.Count > 0)
            {
                Plots.Lines(Result("grpo-reward.png"), "GRPO mean reward (moving average of 5 steps)", "RL step", "mean reward",
                    _curves.Select(c => new Series(c.Name, c.Metrics.Select(m => (double)m.Step).ToArray(), Plots.Smooth(c.Metrics.Select(m => m.MeanReward).ToArray(), 5))), 0, 1);
                Plots.Lines(Result("grpo-entropy.png"), "GRPO policy entropy (nats per token)", "RL step", "entropy",
                    _curves.Select(c => new Series(c.Name, c.Metrics.Select(m => (double)m.Step).ToArray(), c.Metrics.Select(m => m.Entropy).ToArray())));
            }
            _report.AppendLine("\n## GRPO curves\n\n![reward](results/grpo-reward.png)\n\n![entropy](results/grpo-entropy.png)\n\nPer-step metrics of every RL run are in `grpo-*.csv` (reward, reward by class, zero-advantage share, entropy, response length, clip fraction).\n");
            var timing = new StringBuilder();
            foreach (var (name, m) in _curves)
            {
                _report.AppendLine(F($"- {name}: reward {m.Take(5).Average(x => x.MeanReward):F2} (first 5 steps) → {m.TakeLast(5).Average(x => x.MeanReward):F2} (last 5); zero-advantage groups {m.Average(x => x.ZeroAdvantageShare):P0}; entropy {Cli.Num(m[0].Entropy)} → {Cli.Num(m[^1].Entropy)}; clipped tokens {m.Average(x => x.ClipFraction):P1} on average"));
                var seconds = Math.Max(1e-9, m.Sum(x => x.TotalSeconds));
                timing.AppendLine(F($"- GRPO {name}: {seconds / m.Count:F2} s a step, of which generation {m.Sum(x => x.GenerationSeconds) / seconds:P0}, updates {m.Sum(x => x.UpdateSeconds) / seconds:P0}"));
            }
            _report.AppendLine("\n## Plots\n\n![search accuracy vs tokens](results/search-accuracy-vs-tokens.png)\n");
            _report.AppendLine("\n## Files\n\n- `claims.json`: the headline numbers of this run, written by it.\n- `policy/`, `judge-*/`: models in Hugging Face layout (generative judges with `stepwiser-judge.json`, load with `StepwiseJudgeTransformer.Load`; `judge-discriminative-*` with `DiscriminativeJudgeTransformer.Load`; `judge-analysis*` is the analysis stage the judges and baselines start from).\n- `solutions.jsonl`: the policy's sampled solutions in the format `annotate --input` reads.\n- `labels-*.jsonl`: Monte-Carlo labels per scheme (TRL stepwise format; `train-judge --input` reads them).\n- `world-benchmark.json`, `world-benchmark-dev.json`: the test and dev benchmarks (ProcessBench format; `evaluate --input` reads them).\n- `results/`: the tables' numbers (`evaluation.csv`, `step-accuracy.csv`, `search.csv`, `selection.csv`, `grpo-*.csv`), the plots and a copy of `claims.json`: with `report.md`, what docs/results.md and docs/results/ publish.\n- `rollouts/`: the rollout store (a rerun reuses it).\n- `timings.md`: how long each part took on this machine.");
            WriteFile(Path.Combine(_output, "report.md"), _report.ToString());
            WriteFile(Result("summary.md"), Summary());
            var claims = JsonSerializer.Serialize(new SortedDictionary<string, double?>(_claims.ToDictionary(c => c.Key, c => double.IsNaN(c.Value) ? (double?)null : c.Value), StringComparer.Ordinal), new JsonSerializerOptions { WriteIndented = true }) + "\n";
            WriteFile(Path.Combine(_output, "claims.json"), claims);
            WriteFile(Result("claims.json"), claims);
            WriteFile(Path.Combine(_output, "timings.md"), F($"# Times of this run\n\nTotal {_ui.Elapsed:mm\\:ss}; torch threads {TorchSharp.torch.get_num_threads()}.\n\n") + _ui.Log + timing);
            Console.WriteLine();
            Console.WriteLine(_report.ToString());
            Stage($"done in {_ui.Elapsed:mm\\:ss}; results in {Path.GetFullPath(_output)}");
        }
    }

    /// <summary>1. The policy: trained into the preset's band and saved with a manifest, or reused when the folder holds one for this preset.</summary>
    private static string TrainOrReusePolicy(StageConsole ui, ArithmeticChainWorld world, MainJobPreset preset, string policyDir, CancellationToken cancellationToken)
    {
        var manifestPath = Path.Combine(policyDir, "stepwiser-policy.json");
        if (File.Exists(Path.Combine(policyDir, "config.json")))
        {
            var manifest = File.Exists(manifestPath) ? JsonSerializer.Deserialize<PolicyManifest>(File.ReadAllText(manifestPath)) : null;
            if (manifest is null || manifest.Preset != preset.Name || manifest.Difficulty != preset.Difficulty || manifest.World != WorldName)
                throw new CliException($"{policyDir} holds a policy trained {(manifest is null ? "by an unknown recipe" : $"for preset '{manifest.Preset}' of the {manifest.World ?? "digit-row"} world")}, not for preset '{preset.Name}' of the {WorldName} world; choose another --output or remove that folder");
            var validation = manifest.ValidationAccuracy is { } v ? F($"validation accuracy {100 * v:F1} %") : "no accuracy band";
            ui.Line($"reusing policy from {policyDir} (preset {manifest.Preset}, {manifest.Updates} updates, {validation})");
            return F($"reused from policy/ of the output folder (an earlier run): {manifest.Updates} updates, {validation}");
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
            WriteFile(manifestPath, JsonSerializer.Serialize(new PolicyManifest(preset.Name, preset.Difficulty, training.Updates, accuracy, training.Threads, WorldName)));
            return training.Checks.Count == 0 ? F($"{training.Updates} updates (no accuracy band)")
                : F($"{training.Updates} updates, stopped at validation accuracy {100 * accuracy!.Value:F1} % (band {options.TargetAccuracy}; checks {checks})");
        }
    }

    private sealed record PolicyManifest(string Preset, double Difficulty, int Updates, double? ValidationAccuracy, int Threads, string? World = null);

    /// <summary>The world a policy folder was trained on (a folder from another world is not reused).</summary>
    private const string WorldName = "several-paths";
}
