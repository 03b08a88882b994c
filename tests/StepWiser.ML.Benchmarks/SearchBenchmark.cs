using System.Diagnostics;
using System.Globalization;
using StepWiser.ML.Evaluation;
using StepWiser.ML.Generation;
using StepWiser.ML.Judging;
using StepWiser.ML.Models;
using StepWiser.ML.Search;
using StepWiser.ML.Tokenization;
using StepWiser.ML.Worlds;

/// <summary>
/// Chunk-reset search on a main job's folder, paired and over several search seeds: for each seed the policy alone
/// (<see cref="ChunkResetSearch.PolicyAlone"/>, the same attempt seeds) and each named judge, calibrated on the
/// held-out Monte-Carlo labels of its scheme (no gold) or at its own verdicts, with the last or the best-scored attempt
/// kept after five rejections. Reports accuracy, the paired difference from the policy alone with its standard error
/// (the problem as the unit, its seeds averaged first), tokens, and, from the gold checker (evaluation only), how often the judge accepted the
/// distinct chunks it saw that were right and that were wrong during the search: a reset helps on average only when the first
/// is larger than the second.
/// Usage: --suite search --from OUT [--judges judge-a,judge-b] [--seeds 9,10,11] [--problems 200] [--uncalibrated]
/// </summary>
internal static class SearchBenchmark
{
    public static void Run(string from, IReadOnlyList<string>? judgeNames, IReadOnlyList<int> seeds, int problemCount, bool calibrate)
    {
        var clock = Stopwatch.StartNew();
        var world = new ArithmeticChainWorld(new ArithmeticChainOptions { Difficulty = 0.5 });
        var problems = world.Generate("heldout", problemCount, 1);
        var byText = problems.GroupBy(p => p.Problem).ToDictionary(g => g.Key, g => g.First());
        using var policyModel = HuggingFaceCheckpoint.Load(Path.Combine(from, "policy"));
        var policy = new LocalTextGenerator(policyModel, BuiltInTokenizer.Create());
        var names = judgeNames ?? ["judge-stepwiser-rl-rel-effective"];
        var heldOut = MainJobFolder.HeldOutSolutions(from);
        var pairs = problems.Select(p => (p.Prompt, p.Problem)).ToArray();
        ChunkResetOptions Opt(int seed, AfterMaxTries after) => new() { ChunkMaxNewTokens = 48, MaxChunks = 10, Seed = seed, BatchSize = problemCount, AfterMaxTries = after, ReuseVerdicts = true };

        Console.WriteLine(F($"search on {from}: {problemCount} held-out problems, seeds {string.Join(",", seeds)}, judges {(calibrate ? "calibrated on held-out MC labels" : "at their own verdicts")}"));
        var alone = seeds.ToDictionary(s => s, s =>
            ChunkResetSearch.PolicyAlone(policy, Opt(s, AfterMaxTries.KeepLast)).SearchAsync(pairs).GetAwaiter().GetResult()
                .Select((r, i) => ArithmeticChainWorld.IsCorrect(problems[i], r.Solution) ? 1.0 : 0.0).ToArray());
        var aloneAll = seeds.SelectMany(s => alone[s]).ToArray();
        Console.WriteLine(F($"policy alone (chunk by chunk): {100 * aloneAll.Average():F1} % (per seed {string.Join(" / ", seeds.Select(s => (100 * alone[s].Average()).ToString("F1", CultureInfo.InvariantCulture)))}) [{clock.Elapsed:mm\\:ss}]"));
        Console.WriteLine("\n| judge | kept after 5 rejections | accuracy | paired difference ± s.e. | accepted / rejected tokens a problem | judge accepts distinct right chunks | judge accepts distinct wrong chunks | in contested states: accepts right / wrong (states) | judge calls a problem |\n|---|---|---|---|---|---|---|---|---|");
        Console.WriteLine(F($"| policy alone | — | {100 * aloneAll.Average():F1} % | — | — | — | — | — | 0 |"));
        foreach (var name in names)
        {
            var dir = Path.Combine(from, name);
            var (judge, owner, scheme) = MainJobFolder.LoadJudge(dir) ?? throw new ArgumentException($"{dir} holds no judge");
            using (owner)
            {
                var label = name;
                if (calibrate)
                {
                    var choice = JudgeCalibration.ChooseThresholdAsync(judge, heldOut[scheme]).GetAwaiter().GetResult();
                    judge = JudgeCalibration.WithThreshold(judge, choice.Threshold);
                    label += F($", t = {choice.Threshold:F3}");
                }
                foreach (var after in new[] { AfterMaxTries.KeepLast, AfterMaxTries.KeepBest })
                {
                    var counting = new GoldCounting(judge, byText);
                    var correct = new List<double>();
                    var diffs = new List<double>();
                    var (accepted, rejected, calls) = (0.0, 0.0, 0.0);
                    foreach (var seed in seeds)
                    {
                        var results = new ChunkResetSearch(policy, counting, Opt(seed, after)).SearchAsync(pairs).GetAwaiter().GetResult();
                        for (var i = 0; i < results.Count; i++)
                        {
                            var ok = ArithmeticChainWorld.IsCorrect(problems[i], results[i].Solution) ? 1.0 : 0.0;
                            correct.Add(ok);
                            diffs.Add(ok - alone[seed][i]);
                            accepted += results[i].AcceptedTokens;
                            rejected += results[i].RejectedTokens;
                            calls += results[i].JudgeCalls;
                        }
                    }
                    var n = diffs.Count;
                    var contested = counting.Contested();
                    // The problem is the unit: its seeds are averaged first (they are not independent draws).
                    var perProblem = Enumerable.Range(0, problemCount).Select(i => Enumerable.Range(0, seeds.Count).Average(k => diffs[k * problemCount + i])).ToArray();
                    var mean = perProblem.Average();
                    var se = Math.Sqrt(perProblem.Sum(d => (d - mean) * (d - mean)) / (problemCount - 1) / problemCount);
                    Console.WriteLine(F($"| {label} | {after} | {100 * correct.Average():F1} % | {100 * mean:+0.0;-0.0} ± {100 * se:F1} | {accepted / n:F0} / {rejected / n:F0} | {100 * counting.AcceptRight:F1} % of {counting.Right} | {100 * counting.AcceptWrong:F1} % of {counting.Wrong} | {100 * contested.AcceptRight:F1} % / {100 * contested.AcceptWrong:F1} % ({contested.States}) | {calls / n:F1} |"));
                }
            }
        }
        Console.WriteLine(F($"search: {clock.Elapsed:mm\\:ss} in total"));
    }

    /// <summary>Passes steps to a judge and counts, with the exact checker (evaluation only), its verdicts on right and on wrong chunks.</summary>
    private sealed class GoldCounting(IStepJudge inner, IReadOnlyDictionary<string, WorldProblem> problems) : IStepJudge
    {
        private int _acceptedRight, _acceptedWrong, _shown;
        private readonly HashSet<(string, string, string)> _seen = [];
        private readonly Dictionary<(string Problem, string History), List<(bool Right, bool Accepted)>> _states = [];

        /// <summary>
        /// In contested states (a point of a solution where the search saw both a right and a wrong distinct chunk): the
        /// share of the right and of the wrong chunks the judge accepted, and how many such states there were. Only here
        /// can a reset change which chunk is kept.
        /// </summary>
        public (double AcceptRight, double AcceptWrong, int States) Contested()
        {
            var contested = _states.Values.Where(v => v.Any(x => x.Right) && v.Any(x => !x.Right)).ToArray();
            var right = contested.SelectMany(v => v.Where(x => x.Right)).ToArray();
            var wrong = contested.SelectMany(v => v.Where(x => !x.Right)).ToArray();
            return (right.Length == 0 ? 0 : right.Average(x => x.Accepted ? 1.0 : 0.0), wrong.Length == 0 ? 0 : wrong.Average(x => x.Accepted ? 1.0 : 0.0), contested.Length);
        }
        private static readonly int Show = int.TryParse(Environment.GetEnvironmentVariable("SEARCH_SHOW"), out var n) ? n : 0;

        public int Right { get; private set; }
        public int Wrong { get; private set; }
        public double AcceptRight => Right == 0 ? 0 : (double)_acceptedRight / Right;
        public double AcceptWrong => Wrong == 0 ? 0 : (double)_acceptedWrong / Wrong;

        public async Task<IReadOnlyList<StepVerdict>> JudgeStepsAsync(IReadOnlyList<JudgeInput> inputs, CancellationToken cancellationToken = default)
        {
            var verdicts = await inner.JudgeStepsAsync(inputs, cancellationToken).ConfigureAwait(false);
            for (var i = 0; i < inputs.Count; i++)
            {
                // A rejected chunk is often drawn again word for word (the policy is near-deterministic on many steps):
                // count each distinct (problem, history, chunk) once, so the rates are the judge's, not the resampler's.
                var state = (inputs[i].Problem, string.Join("\u0001", inputs[i].History));
                if (!_seen.Add((state.Problem, state.Item2, inputs[i].Chunk))) continue;
                var check = ArithmeticChainWorld.Check(problems[inputs[i].Problem], [.. inputs[i].History, inputs[i].Chunk]);
                if (!_states.TryGetValue(state, out var judged)) _states[state] = judged = [];
                judged.Add((check.ChunkIsCorrect[^1], verdicts[i].Positive));
                if (check.ChunkIsCorrect[^1])
                {
                    Right++;
                    if (verdicts[i].Positive) _acceptedRight++;
                    else if (_shown++ < Show) Console.WriteLine($"REJECTED RIGHT: history [{string.Join(" | ", inputs[i].History).Replace("\n", " ")}] chunk [{inputs[i].Chunk.Replace("\n", " ")}] score {verdicts[i].Score:F4}: {verdicts[i].Rationale.Replace("\n", " ")}");
                }
                else { Wrong++; if (verdicts[i].Positive) _acceptedWrong++; }
            }
            return verdicts;
        }
    }

    private static string F(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
