using StepWiser.ML.Annotation;
using StepWiser.ML.Generation;
using StepWiser.ML.Judging;
using StepWiser.ML.Models;
using StepWiser.ML.Tokenization;
using StepWiser.ML.Training;
using StepWiser.ML.Worlds;

/// <summary>
/// Where a GRPO step's time goes (issue 17): from a main-job folder, its warmed-up Abs-Q judge and its Abs-Q labels
/// (steps up to each first negative, as the main job trains on), <c>--steps</c> RL steps at the main job's settings
/// (16 prompts × 4 responses, KL 0.2 to the starting judge, mini-batches of 32), and the split of each step's wall-clock
/// time into group generation, updates (forward, reference forward, backward, AdamW) and the rest. A folder with a
/// <c>judge-reference-writer</c> (the two-pass recipe) is measured as the main job trains it: the writer's references on
/// the labelled steps, the <c>reference-pairs</c> template, 256 new tokens; an older folder with the compact template
/// and 128 new tokens.
/// Three trainers are measured: the one issue 17 started from (full sequences, libtorch decode), the managed decode step
/// alone, and the default (also one prompt forward per group).
/// Usage: --suite grpo-step --from OUT [--steps 10]
/// </summary>
internal static class GrpoStepBenchmark
{
    public static void Run(string from, int steps)
    {
        // Both update paths in one run, interleaved (this machine is shared and noisy): each response's full sequence
        // on its own, then one prompt forward per group (GrpoOptions.SharedPromptForward), each from the same judge.
        var labelled = JudgeRecipe.SelectSteps(TrlStepwiseFormat.Read(Path.Combine(from, "labels-absoluteq.jsonl")), StepSelection.UpToFirstNegative);
        var writerDir = Path.Combine(from, "judge-reference-writer");
        var twoPass = Directory.Exists(writerDir);
        var template = twoPass ? JudgeTemplate.ReferencePairs : JudgeTemplate.Compact;
        if (twoPass)
        {
            using var writerModel = HuggingFaceCheckpoint.Load(writerDir);
            var writer = new ReferenceWriter(new LocalTextGenerator(writerModel, BuiltInTokenizer.Create()), WorldJudging.PolicyPrefix);
            labelled = writer.WithReferencesAsync(labelled).GetAwaiter().GetResult();
        }
        // Three trainers from the same judge, interleaved (this machine is shared and noisy): the trainer as issue 17 found
        // it (each response's full sequence in the update, libtorch's decode forward), then the managed decode step
        // alone, then also one prompt forward per group (the default).
        var arms = new (string Name, bool Shared, bool Managed)[]
        {
            ("every response's full sequence, libtorch decode (the trainer issue 17 measured)", false, false),
            ("every response's full sequence, managed decode", false, true),
            ("one prompt forward per group, managed decode (the default)", true, true),
        };
        var results = arms.Select(_ => new List<GrpoStepMetrics[]>()).ToArray();
        GrpoOptions? options = null;
        long parameters = 0;
        for (var round = 0; round < 2; round++)
            for (var arm = 0; arm < arms.Length; arm++)
            {
                using var model = HuggingFaceCheckpoint.Load(Path.Combine(from, "judge-stepwiser-warm-up-no-rl--abs-q"));
                parameters = model.ParameterCount;
                options = new JudgeRecipeOptions().Grpo with
                {
                    Steps = steps,
                    MaxNewTokens = twoPass ? 256 : new JudgeRecipeOptions().Grpo.MaxNewTokens,   // two-pass: the main job's ReferenceJudgeTokens
                    WarmupSteps = 1,
                    BalancePrompts = true,
                    SharedPromptForward = arms[arm].Shared,
                    ManagedDecode = arms[arm].Managed,
                };
                var metrics = new GrpoTrainer(model, BuiltInTokenizer.Create(), template, options).Train(labelled);
                results[arm].Add(metrics.Skip(1).ToArray());   // the first step warms the allocator and the kernels up
            }
        Console.WriteLine($"grpo step: {from} warm-up Abs-Q judge ({(twoPass ? "two-pass, reference-pairs" : "one-pass, compact")}) ({parameters:N0} parameters), {labelled.Count} labelled steps, {options!.PromptsPerStep} prompts x {options.GroupSize} responses, " +
            $"{options.MaxNewTokens} new tokens, KL {options.KlCoefficient}, mini-batch {options.MiniBatchSize}; {steps - 1} steps measured after one, two rounds of each trainer, interleaved");
        Console.WriteLine("| trainer | group generation, s a step | updates, s a step | the rest | whole step | generation share | RL steps a minute |\n|---|---|---|---|---|---|---|");
        var perMinute = new double[arms.Length];
        for (var arm = 0; arm < arms.Length; arm++)
        {
            var measured = results[arm].SelectMany(m => m).ToArray();
            double total = measured.Sum(m => m.TotalSeconds);
            perMinute[arm] = 60 * measured.Length / total;
            Console.WriteLine($"| {arms[arm].Name} | {measured.Average(m => m.GenerationSeconds):F2} | {measured.Average(m => m.UpdateSeconds):F2} | " +
                $"{measured.Average(m => m.OtherSeconds):F2} | {total / measured.Length:F2} | {measured.Sum(m => m.GenerationSeconds) / total:P0} | {perMinute[arm]:F1} |");
        }
        Console.WriteLine($"the default ÷ the trainer issue 17 measured: {perMinute[2] / perMinute[0]:F2}x the RL steps a minute; managed decode alone {perMinute[1] / perMinute[0]:F2}x; one prompt forward per group over full sequences (both managed) {perMinute[2] / perMinute[1]:F2}x");
        for (var arm = 0; arm < arms.Length; arm++)
            Console.WriteLine($"mean reward per step, {arms[arm].Name}: {string.Join(" ", results[arm][0].Select(m => m.MeanReward.ToString("F3")))}");
        var b = results[2][0];
        Console.WriteLine($"mean response {b.Average(m => m.ResponseLength):F0} tokens; zero-advantage groups {b.Average(m => m.ZeroAdvantageShare):P0}");
    }
}
