using System.Diagnostics;
using StepWiser.ML.Evaluation;
using StepWiser.ML.Judging;
using StepWiser.ML.Worlds;

/// <summary>
/// Every judge a main job saved, before and after choosing its acceptance threshold on the held-out Monte-Carlo labels of
/// its own scheme (every fifth annotated problem, as the main job holds out; no gold): Avg. F1 and balanced gold step
/// accuracy on the main job's benchmark, and the F1 on the held-out labels the threshold was chosen on.
/// With <c>--votes K</c> the generative judges sample K responses a step at temperature 1 (Maj@K; the score is the mean
/// probability of Positive over them) instead of one greedy response.
/// Usage: --suite calibration --from OUT [--votes K] [--dev] (--dev: score on the dev benchmark, where choices are made).
/// </summary>
internal static class CalibrationBenchmark
{
    public static void Run(string from, int votes = 1, bool dev = false)
    {
        var clock = Stopwatch.StartNew();
        var subsetOf = WorldBenchmark.ByLength();
        var file = dev ? "world-benchmark-dev.json" : "world-benchmark.json";
        var benchmark = ProcessBench.Read(Path.Combine(from, file)).Select(r => { r.Subset = subsetOf(r); return r; }).ToArray();
        var heldOut = MainJobFolder.HeldOutSolutions(from);
        Console.WriteLine($"calibration on {from}: benchmark {file}, {benchmark.Length} solutions; held-out labelled solutions {heldOut["AbsoluteQ"].Count}; generative judges {(votes > 1 ? $"Maj@{votes} at T = 1" : "greedy")}");
        Console.WriteLine("| judge | threshold | held-out MC F1 (default → chosen) | Avg. F1 (default → calibrated) | balanced gold (default → calibrated) | gold positive / negative (calibrated) |\n|---|---|---|---|---|---|");
        foreach (var dir in Directory.GetDirectories(from, "judge-*").Order())
        {
            var name = Path.GetFileName(dir);
            if (MainJobFolder.LoadJudge(dir, o => votes > 1 ? o with { Votes = votes, Temperature = 1 } : o) is not { } loaded) continue;   // the analysis stage's checkpoints are not judges
            var (judge, owner, scheme) = loaded;
            using (owner)
            {
                var start = clock.Elapsed;
                var choice = JudgeCalibration.ChooseThresholdAsync(judge, heldOut[scheme]).GetAwaiter().GetResult();
                var before = JudgeBenchmark.EvaluateAsync(judge, benchmark).GetAwaiter().GetResult();
                var after = JudgeBenchmark.EvaluateAsync(JudgeCalibration.WithThreshold(judge, choice.Threshold), benchmark).GetAwaiter().GetResult();
                Console.WriteLine(F($"| {name} | {choice.Threshold:F3} | {100 * choice.DefaultF1:F1} → {100 * choice.F1:F1} | {100 * before.Metrics.AverageF1:F1} → {100 * after.Metrics.AverageF1:F1} | {100 * before.GoldSteps.Balanced:F1} → {100 * after.GoldSteps.Balanced:F1} | {100 * after.GoldSteps.PositiveAccuracy:F1} / {100 * after.GoldSteps.NegativeAccuracy:F1} |"));
                Console.Error.WriteLine(F($"  {name}: {(clock.Elapsed - start).TotalSeconds:F0} s"));
            }
        }
        Console.WriteLine(F($"calibration: {clock.Elapsed:mm\\:ss} in total"));
    }

    private static string F(FormattableString s) => s.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
