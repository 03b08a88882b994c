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
        // Both update paths in one run, interleaved (this machine is shared and noisy): each response's full sequence
        // on its own, then one prompt forward per group (GrpoOptions.SharedPromptForward), each from the same judge.
        var labelled = JudgeRecipe.SelectSteps(TrlStepwiseFormat.Read(Path.Combine(from, "labels-absoluteq.jsonl")), StepSelection.UpToFirstNegative);
        var results = new Dictionary<bool, List<GrpoStepMetrics[]>> { [false] = [], [true] = [] };
        GrpoOptions? options = null;
        long parameters = 0;
        for (var round = 0; round < 2; round++)
            foreach (var shared in new[] { false, true })
            {
                using var model = HuggingFaceCheckpoint.Load(Path.Combine(from, "judge-stepwiser-warm-up-no-rl--abs-q"));
                parameters = model.ParameterCount;
                options = new JudgeRecipeOptions().Grpo;
                options.Steps = steps;
                options.WarmupSteps = 1;
                options.BalancePrompts = true;
                options.SharedPromptForward = shared;
                var metrics = new GrpoTrainer(model, BuiltInTokenizer.Create(), JudgeTemplate.Compact, options).Train(labelled);
                results[shared].Add(metrics.Skip(1).ToArray());   // the first step warms the allocator and the kernels up
            }
        Console.WriteLine($"grpo step: {from} warm-up Abs-Q judge ({parameters:N0} parameters), {labelled.Count} labelled steps, {options!.PromptsPerStep} prompts x {options.GroupSize} responses, " +
            $"{options.MaxNewTokens} new tokens, KL {options.KlCoefficient}, mini-batch {options.MiniBatchSize}; {steps - 1} steps measured after one, two rounds of each path, interleaved");
        Console.WriteLine("| update path | group generation, s a step | updates, s a step | the rest | whole step | generation share | RL steps a minute |\n|---|---|---|---|---|---|---|");
        var perMinute = new Dictionary<bool, double>();
        foreach (var shared in new[] { false, true })
        {
            var measured = results[shared].SelectMany(m => m).ToArray();
            double total = measured.Sum(m => m.TotalSeconds);
            perMinute[shared] = 60 * measured.Length / total;
            Console.WriteLine($"| {(shared ? "one prompt forward per group" : "every response's full sequence")} | {measured.Average(m => m.GenerationSeconds):F2} | {measured.Average(m => m.UpdateSeconds):F2} | " +
                $"{measured.Average(m => m.OtherSeconds):F2} | {total / measured.Length:F2} | {measured.Sum(m => m.GenerationSeconds) / total:P0} | {perMinute[shared]:F1} |");
        }
        Console.WriteLine($"shared ÷ full: {perMinute[true] / perMinute[false]:F2}x the RL steps a minute");
        var a = results[false][0];
        var b = results[true][0];
        Console.WriteLine($"mean reward per step, full: {string.Join(" ", a.Select(m => m.MeanReward.ToString("F3")))}; shared: {string.Join(" ", b.Select(m => m.MeanReward.ToString("F3")))}");
        Console.WriteLine($"mean response {b.Average(m => m.ResponseLength):F0} tokens; zero-advantage groups {b.Average(m => m.ZeroAdvantageShare):P0}");
    }
}
