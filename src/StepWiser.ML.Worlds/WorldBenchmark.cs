using StepWiser.ML.Evaluation;
using StepWiser.ML.Generation;

namespace StepWiser.ML.Worlds;

/// <summary>
/// A ProcessBench-style held-out benchmark for the built-in world: solutions written by a policy on problems of a
/// held-out split, gold first-error labels from the world's exact checker, balanced between erroneous and correct
/// solutions, one subset per difficulty (like ProcessBench's four). Records use ProcessBench's format, so the same
/// reader and evaluator run on both.
/// </summary>
public static class WorldBenchmark
{
    /// <summary>
    /// Builds the benchmark: for each named world, up to <paramref name="perSubset"/> records, half erroneous and half
    /// correct, from solutions sampled at <paramref name="temperature"/>. Incomplete solutions are skipped. A subset
    /// may come out smaller when the policy rarely makes (or rarely avoids) mistakes there. Solutions are sampled up to
    /// <paramref name="maxNewTokens"/> tokens (default: each world's <see cref="ArithmeticChainOptions.SolutionTokenBudget"/>).
    /// <paramref name="subsetOf"/>, when given, names each record's subset instead of its world (for example
    /// <see cref="ByLength"/>); record ids keep the world's name.
    /// </summary>
    public static async Task<IReadOnlyList<ProcessBenchRecord>> BuildAsync(ITextGenerator policy, IReadOnlyList<(string Subset, ArithmeticChainWorld World)> subsets,
        int perSubset, int seed = 0, float temperature = 1.0f, int? maxNewTokens = null, Func<ProcessBenchRecord, string>? subsetOf = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(subsets);
        var records = new List<ProcessBenchRecord>();
        foreach (var (name, world) in subsets)
        {
            var erroneous = new List<ProcessBenchRecord>();
            var correct = new List<ProcessBenchRecord>();
            var half = perSubset / 2;
            for (var round = 0; round < 8 && (erroneous.Count < half || correct.Count < half); round++)
            {
                var problems = world.Generate($"heldout-{name}-{round}", Math.Max(8, perSubset), seed);
                var sampling = new SamplingOptions { MaxNewTokens = maxNewTokens ?? world.Options.SolutionTokenBudget, Temperature = temperature, Seed = seed * 7919L + round * 104_729L };
                var results = await policy.GenerateAsync(problems.Select(p => GenerationRequest.FromText(p.Prompt, sampling)).ToArray(), cancellationToken).ConfigureAwait(false);
                for (var i = 0; i < problems.Count; i++)
                {
                    var check = ArithmeticChainWorld.Check(problems[i], results[i].Samples[0].Text);
                    if (!check.IsComplete || check.Chunks.Count == 0) continue;
                    var record = new ProcessBenchRecord
                    {
                        Id = $"{name}-{erroneous.Count + correct.Count}", Generator = "world-policy", Problem = problems[i].Problem, Steps = check.Chunks.ToArray(),
                        FinalAnswerCorrect = check.IsCorrect, Label = check.FirstErrorIndex, Subset = name,
                    };
                    if (record.Label >= 0 && erroneous.Count < half) erroneous.Add(record);
                    else if (record.Label < 0 && correct.Count < half) correct.Add(record);
                }
            }
            var merged = erroneous.Concat(correct).ToArray();
            for (var i = 0; i < merged.Length; i++) merged[i].Id = $"{name}-{i}";
            records.AddRange(merged);
        }
        if (subsetOf is not null)
            foreach (var r in records) r.Subset = subsetOf(r);
        return records;
    }

    /// <summary>
    /// Subsets by solution length, for scores per length the way ProcessBench reports per source: "short" (at most
    /// <paramref name="shortMax"/> steps), "medium" (at most <paramref name="mediumMax"/>), "long" (more).
    /// </summary>
    public static Func<ProcessBenchRecord, string> ByLength(int shortMax = 4, int mediumMax = 5)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(mediumMax, shortMax);
        return r => r.Steps.Length <= shortMax ? "short" : r.Steps.Length <= mediumMax ? "medium" : "long";
    }
}
