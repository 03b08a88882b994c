using Microsoft.ML;
using Microsoft.ML.Data;
using StepWiser.ML.Chunking;
using StepWiser.ML.Worlds;

namespace StepWiser.ML.Samples.Stages;

/// <summary>
/// Stage 1, chunking: raw reasoning traces (short lines, blank lines between) become chunk vectors, once by a rule
/// and once from the <c>&lt;chunk&gt;</c> tags of the policy format. Reads Solution/RawSolution, writes Chunks and ChunkCount.
/// </summary>
public static class ChunkSample
{
    /// <summary>Runs the sample; returns the mean chunk count of (raw traces, tagged solutions).</summary>
    public static (double Raw, double Tagged) Run(TextWriter log)
    {
        var ml = new MLContext(seed: 1);
        var problems = new ArithmeticChainWorld().Generate("samples", 50, seed: 1);
        var data = ArithmeticChainWorld.ToDataView(ml, problems);

        // Blank-line rule on the raw traces; tags on the chunked solutions. Each stage adds its own columns.
        var byRule = ml.StepWiser().Transforms.ChunkSteps("RawChunks", "RawSolution", ChunkingMode.BlankLines).Fit(data).Transform(data);
        var byTags = ml.StepWiser().Transforms.ChunkSteps(new StepChunkerOptions { InputColumnName = "Solution", Mode = ChunkingMode.Tags }).Fit(byRule).Transform(byRule);

        var raw = byRule.GetColumn<string[]>("RawChunks").Average(c => c.Length);
        var tagged = byTags.GetColumn<int>("ChunkCount").Average();
        log.WriteLine($"mean steps: {raw:F2} raw lines vs {tagged:F2} logical chunks");
        var first = byTags.GetColumn<string[]>("Chunks").First();
        for (var i = 0; i < first.Length; i++) log.WriteLine($"  chunk {i + 1}: {first[i].Replace("\n\n", " / ", StringComparison.Ordinal)}");
        return (raw, tagged);
    }
}
