using System.Diagnostics;
using System.Globalization;
using Microsoft.ML;
using StepWiser.ML;
using StepWiser.ML.Annotation;
using StepWiser.ML.Evaluation;
using StepWiser.ML.Judging;
using StepWiser.ML.Models;
using StepWiser.ML.Worlds;

/// <summary>
/// How much the GRPO stage can move the main job's one-model judge: from a main job folder's warmed-up Abs-Q judge
/// (<c>judge-stepwiser-warm-up-no-rl--abs-q</c>), GRPO on the same labelled steps (the run's <c>labels-absoluteq.jsonl</c>,
/// steps up to the first negative) with the main job's settings and with larger budgets, hotter sampling or other
/// learning rates; each judge scored on the run's dev benchmark only (choices are made there; the test benchmark is
/// left alone). Command: <c>--suite grpo-budget --from OUT [--seeds 1] [--variants a,b]</c>.
/// </summary>
internal static class GrpoBudgetBenchmark
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>The main job's GRPO stage for the default preset (MainJob.Recipe): 30 steps of 16 prompts × 4 responses.</summary>
    private static GrpoOptions MainJob(int seed) => new()
    {
        Steps = 30, PromptsPerStep = 16, GroupSize = 4, MiniBatchSize = 32, LearningRate = 1e-4, KlCoefficient = 0.2, MaxNewTokens = 96, WarmupSteps = 5, Seed = seed,
    };

    private static readonly (string Name, Func<GrpoOptions, GrpoOptions> Change)[] Variants =
    [
        ("main-job", g => g),
        ("steps300", g => g with { Steps = 300 }),
        ("steps300-t1.5", g => g with { Steps = 300, Temperature = 1.5f }),
        ("steps300-lr3e-4", g => g with { Steps = 300, LearningRate = 3e-4 }),
        ("steps300-t1.5-lr3e-4", g => g with { Steps = 300, Temperature = 1.5f, LearningRate = 3e-4 }),
        ("steps300-nokl", g => g with { Steps = 300, KlCoefficient = 0 }),
    ];

    public static void Run(string from, IReadOnlyList<int> seeds, IReadOnlySet<string>? only)
    {
        var ml = new MLContext(seed: 1);
        var subsetOf = WorldBenchmark.ByLength();
        var dev = ProcessBench.Read(Path.Combine(from, "world-benchmark-dev.json")).Select(r => { r.Subset = subsetOf(r); return r; }).ToArray();
        var solutions = TrlStepwiseFormat.Load(ml, Path.Combine(from, "labels-absoluteq.jsonl"));
        var warmDir = Path.Combine(from, "judge-stepwiser-warm-up-no-rl--abs-q");
        Console.WriteLine($"grpo budget: {from}, dev benchmark {dev.Length} solutions; torch threads {TorchSharp.torch.get_num_threads()}");
        Console.WriteLine("| variant | seed | steps | dev Avg. F1 | dev balanced (gold) | reward first 5 → last 5 | zero-adv. groups | entropy | clipped | seconds |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|---|---|");
        using (var warm = ModelBundle.Load(warmDir))
        {
            var judge = new StepwiseJudgeTransformer(warm, JudgeTemplate.Numbered, new StepwiseJudgeOptions { MaxNewTokens = 96 });
            var r = ml.StepWiser().Evaluation.EvaluateJudgeAsync(judge.Judge, dev).GetAwaiter().GetResult();
            Console.WriteLine(string.Create(Inv, $"| warm-up (no GRPO) | – | 0 | {100 * r.Metrics.AverageF1:F1} | {100 * r.GoldSteps.Balanced:F1} % | – | – | – | – | – |"));
        }
        foreach (var seed in seeds)
            foreach (var (name, change) in Variants.Where(v => only is null || only.Contains(v.Name)))
            {
                var grpo = change(MainJob(seed));
                var clock = Stopwatch.StartNew();
                var trainer = ml.StepWiser().Trainers.StepwiseJudge(new StepwiseJudgeTrainerOptions
                {
                    Model = ModelBundle.Load(warmDir), TrainInPlace = true, Template = JudgeTemplate.Numbered,
                    Recipe = new JudgeRecipeOptions { Stages = JudgeRecipeStages.Grpo, Seed = seed, Grpo = grpo },
                    Judge = new StepwiseJudgeOptions { MaxNewTokens = 96 },
                    ProblemColumnName = "Prompt", ChunksColumnName = "Completions", StepLabelsColumnName = "Labels",
                });
                using var judge = trainer.Fit(solutions);
                var seconds = clock.Elapsed.TotalSeconds;
                var r = ml.StepWiser().Evaluation.EvaluateJudgeAsync(judge.Judge, dev).GetAwaiter().GetResult();
                var m = trainer.LastMetrics;
                Console.WriteLine(string.Create(Inv,
                    $"| {name} | {seed} | {grpo.Steps} | {100 * r.Metrics.AverageF1:F1} | {100 * r.GoldSteps.Balanced:F1} % | {m.Take(5).Average(x => x.MeanReward):F2} → {m.TakeLast(5).Average(x => x.MeanReward):F2} | {m.Average(x => x.ZeroAdvantageShare):P0} | {m.Average(x => x.Entropy):F3} | {m.Average(x => x.ClipFraction):P1} | {seconds:F0} |"));
            }
    }
}
