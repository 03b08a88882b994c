using StepWiser.ML.Annotation;
using StepWiser.ML.Judging;
using StepWiser.ML.Models;
using StepWiser.ML.Tokenization;
using StepWiser.ML.Training;

/// <summary>
/// Where a GRPO step's time goes (issue 17): from a main-job folder, its warmed-up Abs-Q judge and its Abs-Q labels
/// (steps up to each first negative, as the main job trains on), <c>--steps</c> RL steps at the main job's settings
/// (16 prompts × 4 responses, 128 new tokens, KL 0.2 to the starting judge, mini-batches of 32), and the split of each
/// step's wall-clock time into group generation, updates (forward, reference forward, backward, AdamW) and the rest.
/// Usage: --suite grpo-step --from OUT [--steps 10]
/// </summary>
internal static class GrpoStepBenchmark
{
    public static void Run(string from, int steps)
    {
        using var model = HuggingFaceCheckpoint.Load(Path.Combine(from, "judge-stepwiser-warm-up-no-rl--abs-q"));
        var labelled = JudgeRecipe.SelectSteps(TrlStepwiseFormat.Read(Path.Combine(from, "labels-absoluteq.jsonl")), StepSelection.UpToFirstNegative);
        var options = new JudgeRecipeOptions().Grpo;
        options.Steps = steps;
        options.WarmupSteps = 1;
        options.BalancePrompts = true;
        var metrics = new GrpoTrainer(model, BuiltInTokenizer.Create(), JudgeTemplate.Compact, options).Train(labelled);
        var measured = metrics.Skip(1).ToArray();   // the first step warms the allocator and the kernels up
        double total = measured.Sum(m => m.TotalSeconds);
        Console.WriteLine($"grpo step: {from} warm-up Abs-Q judge ({model.ParameterCount:N0} parameters), {labelled.Count} labelled steps, {options.PromptsPerStep} prompts x {options.GroupSize} responses, " +
            $"{options.MaxNewTokens} new tokens, KL {options.KlCoefficient}, mini-batch {options.MiniBatchSize}; {measured.Length} steps measured after one");
        Console.WriteLine($"| part | s a step | share |\n|---|---|---|");
        Console.WriteLine($"| group generation | {measured.Average(m => m.GenerationSeconds):F2} | {measured.Sum(m => m.GenerationSeconds) / total:P0} |");
        Console.WriteLine($"| updates | {measured.Average(m => m.UpdateSeconds):F2} | {measured.Sum(m => m.UpdateSeconds) / total:P0} |");
        Console.WriteLine($"| the rest | {measured.Average(m => m.OtherSeconds):F2} | {measured.Sum(m => m.OtherSeconds) / total:P0} |");
        Console.WriteLine($"| whole step | {total / measured.Length:F2} | 100 % |");
        Console.WriteLine($"{60 * measured.Length / total:F1} RL steps a minute; mean response {measured.Average(m => m.ResponseLength):F0} tokens; zero-advantage groups {measured.Average(m => m.ZeroAdvantageShare):P0}");
    }
}
