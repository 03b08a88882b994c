using System.Diagnostics;
using System.Globalization;
using StepWiser.ML.Generation;
using StepWiser.ML.Tokenization;
using StepWiser.ML.Training;
using StepWiser.ML.Worlds;

/// <summary>
/// A policy in a band: the default policy recipe (difficulty 0.5, default <see cref="WorldPolicyOptions"/>, early
/// stopping into <see cref="WorldPolicyOptions.TargetAccuracy"/>) for several seeds at 1 and 2 torch threads, each run
/// followed by its held-out temperature-1 accuracy (48 problems of "heldout" × 4 samples, with the run's thread count).
/// The table in docs/world-and-annotation.md ("A policy in a band") comes from this suite. Options override the
/// recipe to explore: --band MIN,MAX, --every N, --steps N, --validation N.
/// </summary>
internal static class PolicyBandBenchmark
{
    public static void Run(int[] seeds, int[] threads, Action<WorldPolicyOptions> configure)
    {
        var world = new ArithmeticChainWorld(new ArithmeticChainOptions { Difficulty = 0.5 });
        var heldOut = world.Generate("heldout", 48, 1);
        var sampling = new SamplingOptions { NumSamples = 4, MaxNewTokens = world.Options.SolutionTokenBudget, Temperature = 1, Seed = 1 };
        var probe = new WorldPolicyOptions();
        configure(probe);
        Console.WriteLine($"policy-band: difficulty 0.5, band {probe.TargetAccuracy?.ToString() ?? "none"}, check every {probe.EvaluateEvery} updates on {probe.ValidationProblems} × {probe.ValidationSamples}, at most {probe.Steps} updates of {probe.BatchSize}; {Environment.ProcessorCount} cores");
        var rows = new List<string>();
        foreach (var t in threads)
        {
            foreach (var seed in seeds)
            {
                var options = new WorldPolicyOptions { Seed = seed, Threads = t };
                configure(options);
                var clock = Stopwatch.StartNew();
                var run = WorldPolicy.TrainToBand(world, options, new SyncProgress(p =>
                {
                    if (p.Step % 500 == 0) Console.WriteLine($"    seed {seed}, {t} threads, update {p.Step}: loss {p.Loss:F4}, {p.TokensPerSecond:N0} tokens/s, {clock.Elapsed:mm\\:ss}");
                }));
                using var model = run.Model;
                double trainSeconds = clock.Elapsed.TotalSeconds;
                PolicyEvaluation eval;
                var evalClock = Stopwatch.StartNew();
                using (TorchThreads.Pin(t))
                    eval = Summarize(new LocalTextGenerator(model, BuiltInTokenizer.Create()), heldOut, sampling);
                Console.WriteLine($"  seed {seed}, {run.Threads} threads: checks {string.Join(" ", run.Checks.Select(c => $"{c.Updates}:{c.Accuracy * 100:F0}"))}; held-out evaluation {evalClock.Elapsed.TotalSeconds:F1} s");
                var row = $"| {seed} | {run.Threads} | {run.Updates} | {Percent(run.ValidationAccuracy)} | {(run.InBand ? "yes" : "no")} | {eval.Accuracy * 100:F1} % | {eval.MixedPromptRate * 100:F0} % | {trainSeconds:F0} |";
                Console.WriteLine(row);
                rows.Add(row);
            }
        }
        Console.WriteLine("\n| seed | threads | updates used | validation accuracy at stop | in band | held-out T=1 accuracy | mixed prompts | seconds (training + checks) |");
        Console.WriteLine("| --- | --- | --- | --- | --- | --- | --- | --- |");
        foreach (var row in rows) Console.WriteLine(row);
    }

    /// <summary>Held-out evaluation on this thread (so with the pinned thread count), as <see cref="WorldPolicy.EvaluateAsync"/> computes it.</summary>
    private static PolicyEvaluation Summarize(LocalTextGenerator engine, IReadOnlyList<WorldProblem> problems, SamplingOptions sampling) =>
        WorldPolicy.EvaluateAsync(new Synchronous(engine), problems, sampling).GetAwaiter().GetResult();

    private static string Percent(double? value) => value is { } v ? (v * 100).ToString("F1", CultureInfo.InvariantCulture) + " %" : "–";

    private sealed class SyncProgress(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }

    /// <summary>Runs generation on the calling thread (torch's thread count is a per-thread setting once a thread has used torch).</summary>
    private sealed class Synchronous(LocalTextGenerator engine) : ITextGenerator
    {
        public Task<IReadOnlyList<GenerationResult>> GenerateAsync(IReadOnlyList<GenerationRequest> requests, CancellationToken cancellationToken = default) =>
            Task.FromResult(engine.Generate(requests, cancellationToken));
    }
}
