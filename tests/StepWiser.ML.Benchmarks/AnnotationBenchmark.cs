using System.Diagnostics;
using System.Globalization;
using StepWiser.ML.Annotation;
using StepWiser.ML.Generation;
using StepWiser.ML.Models;
using StepWiser.ML.AnswerChecking;
using StepWiser.ML.Tokenization;
using StepWiser.ML.Worlds;

/// <summary>
/// Monte-Carlo annotation throughput on the built-in world: the annotator (all prefixes of a batch in one engine call,
/// each prefix computed once and forked for its M continuations) versus a naive annotator (every continuation generated
/// alone: one prompt, one sample, one call), in one run on the same policy; and how cost grows with chunks.
/// </summary>
internal static class AnnotationBenchmark
{
    public static void Run()
    {
        var world = new ArithmeticChainWorld(new ArithmeticChainOptions { Difficulty = 0.5 });
        Console.WriteLine("annotation: training a small world policy (Tiny, 150 steps) ...");
        using var model = WorldPolicy.Train(world, new WorldPolicyOptions { Model = BuiltInModels.Tiny, Steps = 150, LearningRate = 5e-3, TrainProblems = 4000, TargetAccuracy = null });
        var engine = new LocalTextGenerator(model, BuiltInTokenizer.Create());
        var naive = new OneAtATime(new LocalTextGenerator(model, BuiltInTokenizer.Create(), new LocalGeneratorOptions { MaxBatchRows = 1 }));
        var inputs = world.Generate("bench", 8, 1).Select(p => new AnnotationInput(p.Prompt, p.Chunks, p.AnswerText)).ToArray();
        var options = new MonteCarloOptions { Rollouts = 16, MaxNewTokens = 96, BatchSize = 8, Seed = 3 };

        var (fast, fastRollouts, fastTokens) = Time(engine, inputs, options);
        var (slow, slowRollouts, slowTokens) = Time(naive, inputs, options);
        Console.WriteLine($"annotation ({inputs.Length} solutions, {inputs.Sum(i => i.Chunks.Count)} chunks, M = 16): " +
            $"annotator {fastRollouts / fast:N0} rollouts/s, {fastTokens / fast:N0} generated tok/s; naive {slowRollouts / slow:N0} rollouts/s, {slowTokens / slow:N0} tok/s; " +
            $"speed-up {slow / fast:F1}x (goal >= 10x)");

        // Cost against the number of chunks: solutions of 3..8 chunks, same count of each.
        var hard = new ArithmeticChainWorld(new ArithmeticChainOptions { Difficulty = 1 });
        var pool = world.Generate("bench-h", 400, 2).Concat(hard.Generate("bench-h", 400, 2)).ToArray();
        foreach (var chunks in new[] { 3, 4, 5, 6, 8 })
        {
            var group = pool.Where(p => p.Chunks.Count == chunks).Take(6)
                .Select(p => new AnnotationInput(p.Prompt, p.Chunks, p.AnswerText)).ToArray();
            if (group.Length < 6) continue;
            var (seconds, rollouts, tokens) = Time(engine, group, options);
            Console.WriteLine($"  {chunks} chunks: {seconds:F2} s, {rollouts:N0} rollouts, {tokens:N0} generated tokens, {seconds / tokens * 1e3:F3} ms per generated token");
        }
    }

    private static (double Seconds, long Rollouts, long Tokens) Time(ITextGenerator policy, AnnotationInput[] inputs, MonteCarloOptions options)
    {
        var counting = new CountingTokens(policy);
        using var annotator = new MonteCarloAnnotator(counting, new MathAnswerVerifier(), options);
        var clock = Stopwatch.StartNew();
        annotator.AnnotateAsync(inputs).GetAwaiter().GetResult();
        return (clock.Elapsed.TotalSeconds, annotator.RolloutsSampled, counting.Tokens);
    }

    private sealed class CountingTokens(ITextGenerator inner) : ITextGenerator
    {
        public long Tokens;

        public async Task<IReadOnlyList<GenerationResult>> GenerateAsync(IReadOnlyList<GenerationRequest> requests, CancellationToken cancellationToken = default)
        {
            var results = await inner.GenerateAsync(requests, cancellationToken);
            Tokens += results.Sum(r => r.Samples.Sum(s => (long)s.TokenIds.Count));
            return results;
        }
    }

    /// <summary>The naive annotator's engine use: each continuation its own single-sample call.</summary>
    private sealed class OneAtATime(ITextGenerator inner) : ITextGenerator
    {
        public async Task<IReadOnlyList<GenerationResult>> GenerateAsync(IReadOnlyList<GenerationRequest> requests, CancellationToken cancellationToken = default)
        {
            var results = new List<GenerationResult>();
            foreach (var r in requests)
            {
                var samples = new List<GeneratedSample>();
                var prompt = 0;
                for (var j = 0; j < r.Options.NumSamples; j++)
                {
                    var one = r with { Options = r.Options with { NumSamples = 1, Seed = r.Options.Seed + j } };
                    var result = (await inner.GenerateAsync([one], cancellationToken))[0];
                    samples.Add(result.Samples[0]);
                    prompt = result.PromptTokenCount;
                }
                results.Add(new GenerationResult(samples, prompt));
            }
            return results;
        }
    }
}
