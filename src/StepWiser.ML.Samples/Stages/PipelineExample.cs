using Microsoft.ML;
using Microsoft.ML.Data;
using StepWiser.ML.Annotation;
using StepWiser.ML.AnswerChecking;
using StepWiser.ML.Chunking;
using StepWiser.ML.Evaluation;
using StepWiser.ML.Generation;
using StepWiser.ML.Judging;
using StepWiser.ML.Models;
using StepWiser.ML.Worlds;

namespace StepWiser.ML.Samples.Stages;

/// <summary>
/// The whole method through the one front door, <c>mlContext.StepWiser()</c>: chunk and annotate the policy's
/// solutions and train the judge with GRPO as one <c>EstimatorChain</c>, evaluate the judge on a ProcessBench-style
/// benchmark, search with it and select data with it. The region between the <c>pipeline</c> markers is docs/pipeline.md's example, word for word (a test
/// checks that, and runs this method).
/// </summary>
public static class PipelineExample
{
    /// <summary>What the example produced.</summary>
    public sealed record Outcome(int LabelledSteps, int PositiveSteps, ProcessBenchMetrics Metrics, string[] SearchedSolutions, string[] JudgeSelected);

    /// <summary>Runs every stage on <paramref name="problems"/> problems; the judge is trained from a copy of <paramref name="judgeBase"/>, which is left as it was.</summary>
    public static Outcome Run(ITextGenerator policy, ModelBundle judgeBase, ArithmeticChainWorld world, int problems = 8, int rlSteps = 2)
    {
        // <pipeline>
        var ml = new MLContext(seed: 1);
        var sw = ml.StepWiser();
        var verifier = new MathAnswerVerifier();

        // Solutions of the policy (any ITextGenerator: a local model or a vLLM/SGLang server), one row each.
        var prompts = world.Generate("pipeline", problems, seed: 1);
        var sampled = policy.GenerateAsync(prompts.Select(p => GenerationRequest.FromText(p.Prompt, new SamplingOptions { NumSamples = 4, Seed = 1 })).ToArray()).GetAwaiter().GetResult();
        var data = ml.Data.LoadFromEnumerable(prompts.Zip(sampled).SelectMany(x => x.Second.Samples.Select(s =>
            new SolutionRow { Problem = x.First.Problem, Prompt = x.First.Prompt, Solution = s.Text, Answer = x.First.AnswerText })));

        // One EstimatorChain: chunk each solution, label every chunk by Monte-Carlo rollouts of the policy (Abs-Q by
        // default), and train the judge with GRPO on each solution's labelled steps up to its first negative (a solution
        // whose rollouts failed has no labels and is skipped).
        var pipeline = sw.Transforms.ChunkSteps(new StepChunkerOptions { MalformedPolicy = MalformedChunkPolicy.Repair })  // Solution -> Chunks
            .Append(sw.Transforms.AnnotateMonteCarlo(policy, verifier, new MonteCarloOptions { Rollouts = 4 }))       // -> StepValues, InitialValue, StepLabels
            .Append(sw.Trainers.StepwiseJudge(new StepwiseJudgeTrainerOptions
            {
                Model = judgeBase, StepLabelsColumnName = "StepLabels",          // trains a copy of judgeBase on the annotated solutions
                Grpo = new GrpoOptions { Steps = rlSteps, PromptsPerStep = 4 },
            }));
        using var judge = pipeline.Fit(data).LastTransformer;                   // -> Verdicts, StepScores, Rationales, FirstRejected

        // A held-out ProcessBench-style benchmark (gold first errors from the exact checker: evaluation only), its Steps
        // read as the judge's Chunks, judged and scored.
        var benchmark = ml.Data.LoadFromEnumerable(WorldBenchmark.BuildAsync(policy, [("world", world)], 12, seed: 5).GetAwaiter().GetResult());
        var withChunks = ml.Transforms.CopyColumns("Chunks", "Steps").Fit(benchmark).Transform(benchmark);
        var metrics = sw.Evaluation.Evaluate(judge.Transform(withChunks));             // F1 per subset and their mean

        // Chunk-reset search with the judge, and judge-selected training data, on held-out problems.
        var heldOut = ArithmeticChainWorld.ToDataView(ml, world.Generate("pipeline-heldout", problems, seed: 2));  // Prompt, Problem, Answer
        var searched = sw.Search.ChunkReset(policy, judge.Judge).Fit(heldOut).Transform(heldOut);              // -> SearchedSolution, ...
        var selected = sw.Selection.ByJudge(policy, judge.Judge, verifier, samples: 4).Fit(heldOut).Transform(heldOut);  // -> JudgeSelected, OutcomeSelected, ...
        // </pipeline>
        int Count(string key) => int.Parse(judge.Metadata[key], System.Globalization.CultureInfo.InvariantCulture);
        return new Outcome(Count("training_examples"), Count("positive_examples"), metrics, searched.GetColumn<string>("SearchedSolution").ToArray(), selected.GetColumn<string>("JudgeSelected").ToArray());
    }
}
