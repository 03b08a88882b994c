using Microsoft.ML;
using StepWiser.ML.Generation;
using StepWiser.ML.Judging;
using StepWiser.ML.Search;
using StepWiser.ML.Worlds;

namespace StepWiser.ML.Samples.Stages;

/// <summary>
/// Stage 5, chunk-reset search: the policy writes one chunk at a time, the judge checks it, and a rejected chunk is
/// thrown away and written again (up to five tries). Compared with the policy alone on the same problems.
/// </summary>
public static class SearchSample
{
    /// <summary>Returns (accuracy alone, accuracy with search, mean rejected tokens per problem).</summary>
    public static async Task<(double Alone, double Searched, double Rejected)> RunAsync(ITextGenerator policy, IStepJudge judge, ArithmeticChainWorld world, TextWriter log, int problems = 24)
    {
        var heldOut = world.Generate("search-sample", problems, seed: 1);

        var alone = await policy.GenerateAsync(heldOut.Select(p => GenerationRequest.FromText(p.Prompt, new SamplingOptions { MaxNewTokens = world.Options.SolutionTokenBudget, Temperature = 1, Seed = 3 })).ToArray());
        var aloneAccuracy = heldOut.Zip(alone).Average(x => ArithmeticChainWorld.IsCorrect(x.First, x.Second.Samples[0].Text) ? 1.0 : 0.0);

        var ml = new MLContext(seed: 1);
        var data = ArithmeticChainWorld.ToDataView(ml, heldOut);                       // Prompt, Problem, Answer, ...
        var searched = ml.StepWiser().Search.ChunkReset(policy, judge, new ChunkResetOptions { MaxTries = 5, ChunkMaxNewTokens = 48, MaxChunks = 10, Seed = 3 })
            .Fit(data).Transform(data);                                                 // -> SearchedSolution, AcceptedTokens, RejectedTokens, Resets, ...
        var results = ml.Data.CreateEnumerable<SearchRow>(searched, reuseRowObject: false).ToArray();
        var searchedAccuracy = heldOut.Zip(results).Average(x => ArithmeticChainWorld.IsCorrect(x.First, x.Second.SearchedSolution) ? 1.0 : 0.0);
        var rejected = results.Average(r => r.RejectedTokens);

        log.WriteLine($"policy alone {aloneAccuracy:P1}; with chunk-reset {searchedAccuracy:P1} ({results.Average(r => r.AcceptedTokens):F0} accepted, {rejected:F0} rejected tokens, {results.Average(r => r.Resets):F1} resets per problem)");
        return (aloneAccuracy, searchedAccuracy, rejected);
    }
}
