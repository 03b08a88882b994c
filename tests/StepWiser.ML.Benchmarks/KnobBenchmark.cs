using System.Diagnostics;
using StepWiser.ML.Generation;
using StepWiser.ML.Tokenization;
using StepWiser.ML.Training;
using StepWiser.ML.Worlds;

/// <summary>
/// The difficulty knob of the built-in world (issue 4): one policy trained by the default recipe on equal shares of
/// difficulties 0, 0.25, 0.5, 0.75 and 1, then its held-out accuracy (greedy, and temperature 1 with 4 samples) at nine
/// difficulties. The numbers in docs/world-and-annotation.md come from this suite.
/// </summary>
internal static class KnobBenchmark
{
    public static void Run(int steps, int problemsPerLevel)
    {
        var clock = Stopwatch.StartNew();
        var options = new WorldPolicyOptions { Steps = steps, TrainingDifficulties = [0, 0.25, 0.5, 0.75, 1], TargetAccuracy = null };
        using var model = WorldPolicy.Train(new ArithmeticChainWorld(), options,
            new SyncProgress(p => { if (p.Step % 500 == 0) Console.WriteLine($"  step {p.Step}: loss {p.Loss:F4}, {p.TokensPerSecond:N0} tokens/s"); }));
        Console.WriteLine($"knob: mixture policy ({options.Model.NumHiddenLayers} layers, {steps} updates of {options.BatchSize}) trained in {clock.Elapsed:mm\\:ss}");
        var engine = new LocalTextGenerator(model, BuiltInTokenizer.Create());
        Console.WriteLine("| difficulty | digits | operations | greedy | temperature 1 |\n| --- | --- | --- | --- | --- |");
        foreach (var d in new[] { 0, 0.125, 0.25, 0.375, 0.5, 0.625, 0.75, 0.875, 1 })
        {
            var world = new ArithmeticChainWorld(new ArithmeticChainOptions { Difficulty = d });
            var test = world.Generate("test", problemsPerLevel, 1);
            var greedy = WorldPolicy.EvaluateAsync(engine, test, SamplingOptions.Greedy(400)).GetAwaiter().GetResult();
            var sampled = WorldPolicy.EvaluateAsync(engine, test, new SamplingOptions { NumSamples = 4, MaxNewTokens = 400, Temperature = 1, Seed = 5 }).GetAwaiter().GetResult();
            var o = world.Options;
            Console.WriteLine($"| {d} | {o.Digits} | {o.MinOperations}–{o.MaxOperations} | {greedy.Accuracy:P1} | {sampled.Accuracy:P1} |");
        }
    }

    private sealed class SyncProgress(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }
}
