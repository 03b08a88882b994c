using Microsoft.ML;
using StepWiser.ML.Annotation;
using StepWiser.ML.Evaluation;
using StepWiser.ML.Generation;
using StepWiser.ML.Judging;
using StepWiser.ML.Worlds;

namespace StepWiser.ML.Samples.Stages;

/// <summary>
/// The StepWiser judge's whole recipe as one trainer: from the main job's output folder (its policy, Monte-Carlo labels
/// and test benchmark), one <c>Trainers.StepwiseJudge</c> fit of the result-first judge runs the analysis stage, the
/// verdict stage and GRPO, and the judge is scored on the benchmark. With the main job's recipe and seed it gives the main job's
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
        var labels = Path.Combine(run, "labels-absoluteq.jsonl");
        var solutions = TrlStepwiseFormat.Load(ml, labels);

        // The judge works out each step's result before it reads it (turn 1), then compares (turn 2), in the policy's
        // own text. Turn 1's lines are the untrained policy's own (self-distillation): for the unlabelled steps, then for
        // the labelled steps the recipe trains on.
        var template = StepVerification.WorldIndependentResultFirst;
        var ownLines = template.SelfDistilledAsync(generator, unlabelled).GetAwaiter().GetResult();
        var labelled = JudgeRecipe.SelectSteps(TrlStepwiseFormat.Read(labels), recipe.StepSelection).Select(e => e.Input);
        var labelledLines = template.SelfDistilledAsync(generator, labelled).GetAwaiter().GetResult();

        var judge = sw.Trainers.StepwiseJudge(new StepwiseJudgeTrainerOptions
        {
            Model = policy,                                                 // a copy is trained; policy stays as it was
            Template = template.TurnTwo,                                    // the fitted judge runs turn 1 itself
            Recipe = recipe,                                                // analysis stage -> verdict stage -> GRPO
            Analysis = new JudgeAnalysis(x => ownLines(x) is { Length: > 0 } line ? line : labelledLines(x), unlabelled),
            Judge = new StepwiseJudgeOptions { MaxNewTokens = 40 },         // room for the comparison and the verdict
            ProblemColumnName = "Prompt", ChunksColumnName = "Completions", StepLabelsColumnName = "Labels",
        }).Fit(solutions);

        // Scored on the held-out test benchmark (gold from the exact checker: evaluation only).
        var test = sw.Evaluation.EvaluateJudgeAsync(judge.Judge, ProcessBench.Read(Path.Combine(run, "world-benchmark.json")).ToArray()).GetAwaiter().GetResult();
        // </recipe>
        return (judge, test);
    }
}
