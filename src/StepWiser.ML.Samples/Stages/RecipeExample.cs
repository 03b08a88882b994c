using Microsoft.ML;
using StepWiser.ML.Annotation;
using StepWiser.ML.Evaluation;
using StepWiser.ML.Generation;
using StepWiser.ML.Judging;
using StepWiser.ML.Worlds;

namespace StepWiser.ML.Samples.Stages;

/// <summary>
/// The StepWiser judge's whole recipe as one trainer: from the main job's output folder (its policy, Monte-Carlo labels
/// and test benchmark), one <c>Trainers.StepwiseJudge</c> fit runs the analysis stage, the verdict stage and GRPO, and
/// the judge is scored on the benchmark. With the main job's recipe and seed it gives the main job's
/// "StepWiser RL, Abs-Q" judge, weight for weight (a test checks that). The region between the <c>recipe</c> markers is
/// docs/pipeline.md's second example, word for word.
/// </summary>
public static class RecipeExample
{
    /// <summary>Trains the judge from <paramref name="run"/> (a main job output folder) with <paramref name="recipe"/> and scores it; the caller disposes the judge.</summary>
    public static (StepwiseJudgeTransformer Judge, JudgeBenchmarkResult Test) Run(string run, ArithmeticChainWorld world, int unlabelledProblems, JudgeRecipeOptions recipe)
    {
        // <recipe>
        var ml = new MLContext(seed: 1);
        var sw = ml.StepWiser();
        using var policy = sw.LoadModel(Path.Combine(run, "policy"));            // the judge starts from the policy's weights
        var generator = new LocalTextGenerator(policy.Model, policy.Tokenizer);

        // Unlabelled steps for the analysis stage: the policy's own samples, hotter than it runs (no labels, no gold).
        var unlabelled = WorldJudging.UnlabelledStepsAsync(generator, world, unlabelledProblems, temperature: 1.3f).GetAwaiter().GetResult();
        // Annotated solutions: Prompt (the problem), Completions (the chunks), Labels (Monte-Carlo Abs-Q labels).
        var solutions = TrlStepwiseFormat.Load(ml, Path.Combine(run, "labels-absoluteq.jsonl"));

        var judge = sw.Trainers.StepwiseJudge(new StepwiseJudgeTrainerOptions
        {
            Model = policy,                                                 // a copy is trained; policy stays as it was
            Template = JudgeTemplate.Numbered,                              // problem, numbered history, new step
            Recipe = recipe,                                                // analysis stage -> verdict stage -> GRPO
            Analysis = new JudgeAnalysis(StepVerification.Analysis, unlabelled),
            Judge = new StepwiseJudgeOptions { MaxNewTokens = 96 },         // room for the analysis and the verdict
            ProblemColumnName = "Prompt", ChunksColumnName = "Completions", StepLabelsColumnName = "Labels",
        }).Fit(solutions);

        // Scored on the held-out test benchmark (gold from the exact checker: evaluation only).
        var test = sw.Evaluation.EvaluateJudgeAsync(judge.Judge, ProcessBench.Read(Path.Combine(run, "world-benchmark.json")).ToArray()).GetAwaiter().GetResult();
        // </recipe>
        return (judge, test);
    }
}
