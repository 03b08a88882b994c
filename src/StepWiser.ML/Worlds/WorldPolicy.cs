using StepWiser.ML.Generation;
using StepWiser.ML.Models;
using StepWiser.ML.Tokenization;
using StepWiser.ML.Training;

namespace StepWiser.ML.Worlds;

/// <summary>Trains and measures the policy of the built-in world.</summary>
public static class WorldPolicy
{
    /// <summary>The SFT example of a problem: its prompt and its canonical chunked solution.</summary>
    public static SftExample ToExample(WorldProblem problem) => new(problem.Prompt, problem.ChunkedSolution);

    /// <summary>
    /// Trains a policy from scratch on canonical solutions of the world's "train" split. The model writes chunked
    /// solutions and makes natural mistakes (nothing is injected): how many depends on the world's difficulty and the
    /// training budget.
    /// </summary>
    public static CausalLM Train(ArithmeticChainWorld world, WorldPolicyOptions? options = null, IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(world);
        options ??= new WorldPolicyOptions();
        var examples = TrainingProblems(world, options).Select(ToExample).ToArray();
        var model = CausalLM.CreateRandom(options.Model, seed: options.Seed);
        try
        {
            var sft = new SftOptions
            {
                Steps = options.Steps,
                BatchSize = options.BatchSize,
                LearningRate = options.LearningRate,
                WarmupSteps = Math.Min(100, options.Steps / 10),
                MaxSequenceLength = 768,
                Seed = options.Seed,
            };
            new SftTrainer(model, BuiltInTokenizer.Create(), sft).Train(examples, progress, cancellationToken);
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>The problems the recipe trains on: the world's "train" split, or equal shares of each training difficulty.</summary>
    public static IReadOnlyList<WorldProblem> TrainingProblems(ArithmeticChainWorld world, WorldPolicyOptions options)
    {
        ArgumentNullException.ThrowIfNull(world);
        ArgumentNullException.ThrowIfNull(options);
        var worlds = options.TrainingDifficulties is { Count: > 0 } levels
            ? levels.Select(d => new ArithmeticChainWorld(new ArithmeticChainOptions { Difficulty = d, ExplanationRate = world.Options.ExplanationRate, ModulusOverride = world.Options.ModulusOverride })).ToArray()
            : [world];
        var perWorld = (options.TrainProblems + worlds.Length - 1) / worlds.Length;
        return worlds.SelectMany(w => w.Generate("train", perWorld, options.Seed)).ToArray();
    }

    /// <summary>
    /// Samples <see cref="SamplingOptions.NumSamples"/> solutions per problem and checks them exactly.
    /// </summary>
    public static async Task<PolicyEvaluation> EvaluateAsync(ITextGenerator policy, IReadOnlyList<WorldProblem> problems, SamplingOptions sampling, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(problems);
        var results = await policy.GenerateAsync(problems.Select(p => GenerationRequest.FromText(p.Prompt, sampling)).ToArray(), cancellationToken).ConfigureAwait(false);
        var checks = problems.Select((p, i) => results[i].Samples.Select(s => ArithmeticChainWorld.Check(p, s.Text)).ToArray()).ToArray();
        var all = checks.SelectMany(c => c).ToArray();
        return new PolicyEvaluation(
            Accuracy: all.Average(c => c.IsCorrect ? 1.0 : 0.0),
            CompletionRate: all.Average(c => c.IsComplete ? 1.0 : 0.0),
            MeanChunks: all.Average(c => c.Chunks.Count),
            MixedPromptRate: checks.Average(c => c.Any(x => x.IsCorrect) && !c.All(x => x.IsCorrect) ? 1.0 : 0.0),
            CorrectButFlawedRate: all.Average(c => c.IsCorrect && c.FirstErrorIndex >= 0 ? 1.0 : 0.0),
            Checks: checks);
    }
}
