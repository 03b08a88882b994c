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

    /// <summary>The split the recipe's validation problems come from (no other part of the library uses it).</summary>
    public const string ValidationSplit = "policy-validation";

    /// <summary>
    /// Trains a policy from scratch on canonical solutions of the world's "train" split and returns it: the model of
    /// <see cref="TrainToBand"/>, which says whether it landed in <see cref="WorldPolicyOptions.TargetAccuracy"/>.
    /// The model writes chunked solutions and makes natural mistakes (nothing is injected): how many depends on the
    /// world's difficulty and the training budget.
    /// </summary>
    public static CausalLM Train(ArithmeticChainWorld world, WorldPolicyOptions? options = null, IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default) =>
        TrainToBand(world, options, progress, cancellationToken).Model;

    /// <summary>
    /// Trains a policy from scratch on canonical solutions of the world's "train" split, for at most
    /// <see cref="WorldPolicyOptions.Steps"/> updates: every <see cref="WorldPolicyOptions.EvaluateEvery"/> updates (and
    /// after the last) it samples <see cref="WorldPolicyOptions.ValidationSamples"/> temperature-1 solutions (seeded,
    /// at most <see cref="ArithmeticChainOptions.SolutionTokenBudget"/> new tokens) for each of
    /// <see cref="WorldPolicyOptions.ValidationProblems"/> problems of <see cref="ValidationSplit"/>, and stops at the
    /// first check whose accuracy lies in <see cref="WorldPolicyOptions.TargetAccuracy"/>. A run that never lands in the
    /// band trains all updates and reports <see cref="WorldPolicyTraining.InBand"/> false. With
    /// <see cref="WorldPolicyOptions.Threads"/> set, torch's thread count is pinned while training (results are
    /// deterministic for a given thread count and differ across thread counts).
    /// </summary>
    /// <param name="world">The world whose "train" split (or <see cref="WorldPolicyOptions.TrainingDifficulties"/>) it trains on and whose validation split it checks on.</param>
    /// <param name="options">The recipe; null is the default one.</param>
    /// <param name="progress">Receives one report per update.</param>
    /// <param name="cancellationToken">Cancels between updates.</param>
    /// <returns>The model (the caller disposes it), the updates used and every check.</returns>
    public static WorldPolicyTraining TrainToBand(ArithmeticChainWorld world, WorldPolicyOptions? options = null, IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(world);
        options ??= new WorldPolicyOptions();
        var band = options.TargetAccuracy;
        var examples = TrainingProblems(world, options).Select(ToExample).ToArray();
        using var pinned = options.Threads is { } threads ? TorchThreads.Pin(threads) : null;
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
            var checks = new List<PolicyCheck>();
            Func<int, bool>? stopAfter = null;
            if (band is not null)
            {
                var tokenizer = BuiltInTokenizer.Create();
                var engine = new LocalTextGenerator(model, tokenizer);
                var problems = world.Generate(ValidationSplit, options.ValidationProblems, options.Seed);
                var sampling = new SamplingOptions { NumSamples = options.ValidationSamples, MaxNewTokens = world.Options.SolutionTokenBudget, Temperature = 1, Seed = options.Seed };
                var requests = problems.Select(p => GenerationRequest.FromText(p.Prompt, sampling)).ToArray();
                stopAfter = done =>
                {
                    if (done % options.EvaluateEvery != 0 && done != options.Steps) return false;
                    // Synchronous on the training thread, so generation runs with the thread count training runs with.
                    var accuracy = Summarize(problems, engine.Generate(requests, cancellationToken)).Accuracy;
                    checks.Add(new PolicyCheck(done, accuracy));
                    return band.Contains(accuracy);
                };
            }
            var result = new SftTrainer(model, BuiltInTokenizer.Create(), sft).Train(examples, stopAfter, progress, cancellationToken);
            return new WorldPolicyTraining(model, result.Steps, checks, band, TorchThreads.Current, result.Losses);
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
        return Summarize(problems, results);
    }

    private static PolicyEvaluation Summarize(IReadOnlyList<WorldProblem> problems, IReadOnlyList<GenerationResult> results)
    {
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
