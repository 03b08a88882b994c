using Microsoft.ML;
using StepWiser.ML.Annotation;
using StepWiser.ML.Chunking;
using StepWiser.ML.Generation;
using StepWiser.ML.AnswerChecking;
using StepWiser.ML.Worlds;

namespace StepWiser.ML.Samples.Stages;

/// <summary>
/// Stage 2, Monte-Carlo annotation: the policy samples solutions, the chunker cuts them, the annotator rolls the policy
/// out from every prefix and turns the values into step labels; the labels are written as TRL stepwise JSONL, the
/// format <c>train-judge</c> and Python's <c>trl</c> read. Reads Prompt/Solution/Answer; writes StepValues, InitialValue,
/// StepLabels, FailedPrefixes.
/// </summary>
public static class AnnotateSample
{
    /// <summary>Runs the sample with <paramref name="policy"/> on <paramref name="world"/>; returns the labelled solutions.</summary>
    public static async Task<IReadOnlyList<StepwiseExample>> RunAsync(ITextGenerator policy, ArithmeticChainWorld world, string trlPath, TextWriter log, int problems = 24)
    {
        var ml = new MLContext(seed: 1);
        var verifier = new MathAnswerVerifier();

        // Solutions to label: a few samples per problem, as the policy writes them.
        var batch = world.Generate("annotate-sample", problems, seed: 1);
        var sampled = await policy.GenerateAsync(batch.Select(p => GenerationRequest.FromText(p.Prompt, new SamplingOptions { NumSamples = 4, MaxNewTokens = world.Options.SolutionTokenBudget, Temperature = 1, Seed = 2 })).ToArray());
        var rows = batch.Zip(sampled).SelectMany(x => x.Second.Samples.Select(s => new SolutionRow { Problem = x.First.Problem, Prompt = x.First.Prompt, Solution = s.Text, Answer = x.First.AnswerText })).ToArray();
        var data = ml.Data.LoadFromEnumerable(rows);

        // Chunk, then annotate: M rollouts per prefix, Abs-Q labels (a step is good when its prefix can still succeed).
        var pipeline = ml.StepWiser().Transforms.ChunkSteps(new StepChunkerOptions { MalformedPolicy = MalformedChunkPolicy.Repair })
            .Append(ml.StepWiser().Transforms.AnnotateMonteCarlo(policy, verifier, new MonteCarloOptions { Rollouts = 4, MaxNewTokens = world.Options.SolutionTokenBudget, Scheme = LabelScheme.AbsoluteQ }));
        var annotated = pipeline.Fit(data).Transform(data);

        var labelled = ml.Data.CreateEnumerable<AnnotatedRow>(annotated, reuseRowObject: false)
            .Where(r => r.FailedPrefixes == 0 && r.StepLabels.Length == r.Chunks.Length)
            .Select(r => new StepwiseExample(r.Problem, r.Chunks, r.StepLabels)).ToArray();
        TrlStepwiseFormat.Write(trlPath, labelled);
        var steps = labelled.Sum(e => e.Labels.Count);
        log.WriteLine($"{labelled.Length} solutions, {steps} labelled steps, {100.0 * labelled.Sum(e => e.Labels.Count(l => l)) / Math.Max(1, steps):F1} % positive → {trlPath}");
        return labelled;
    }
}
