using Microsoft.ML;
using StepWiser.ML.Generation;
using StepWiser.ML.Judging;
using StepWiser.ML.Search;
using StepWiser.ML.Worlds;

namespace StepWiser.ML.Samples.Stages;

/// <summary>
/// Stage 5, chunk-reset search: the policy writes one chunk at a time, the judge checks it, and a rejected chunk is
/// thrown away and written again (up to five tries). Compared with the policy alone on the same problems, written the
/// same way with the same attempt seeds (every chunk accepted), so the two differ only where the judge rejected a chunk.
/// </summary>
public static class SearchSample
{
    /// <summary>Returns (accuracy alone, accuracy with search, mean rejected tokens per problem).</summary>
    public static async Task<(double Alone, double Searched, double Rejected)> RunAsync(ITextGenerator policy, IStepJudge judge, ArithmeticChainWorld world, TextWriter log, int problems = 24)
    {
        var heldOut = world.Generate("search-sample", problems, seed: 1);

        var ml = new MLContext(seed: 1);
        var data = ArithmeticChainWorld.ToDataView(ml, heldOut);                       // Prompt, Problem, Answer, ...
        var options = new ChunkResetOptions { MaxTries = 5, ChunkMaxNewTokens = 48, MaxChunks = 10, Seed = 3 };
        var alone = ml.Data.CreateEnumerable<SearchRow>(ml.StepWiser().Search.PolicyAlone(policy, options).Fit(data).Transform(data), reuseRowObject: false);
        var aloneAccuracy = heldOut.Zip(alone).Average(x => ArithmeticChainWorld.IsCorrect(x.First, x.Second.SearchedSolution) ? 1.0 : 0.0);

        var searched = ml.StepWiser().Search.ChunkReset(policy, judge, options)
            .Fit(data).Transform(data);                                                 // -> SearchedSolution, AcceptedTokens, RejectedTokens, Resets, ...
        var results = ml.Data.CreateEnumerable<SearchRow>(searched, reuseRowObject: false).ToArray();
        var searchedAccuracy = heldOut.Zip(results).Average(x => ArithmeticChainWorld.IsCorrect(x.First, x.Second.SearchedSolution) ? 1.0 : 0.0);
        var rejected = results.Average(r => r.RejectedTokens);

        log.WriteLine($"policy alone {aloneAccuracy:P1}; with chunk-reset {searchedAccuracy:P1} ({results.Average(r => r.AcceptedTokens):F0} accepted, {rejected:F0} rejected tokens, {results.Average(r => r.Resets):F1} resets per problem)");
        return (aloneAccuracy, searchedAccuracy, rejected);
    }
}
