using StepWiser.ML.Worlds;

namespace StepWiser.ML.Samples.Commands;

/// <summary>
/// Sizes of the main job. "smoke" only proves every stage runs (tests; numbers meaningless, no policy band); "quick" is a
/// short run; "default" is the reported run (under 15 minutes on 2 cores, one judge seed); "large" runs every judge row
/// over three seeds (mean ± sd) with more annotated problems, larger benchmarks, more search problems and more
/// selection prompts (under an hour).
/// </summary>
internal sealed record MainJobPreset(
    string Name, int PolicySteps, AccuracyBand? PolicyBand, int AnnotationProblems, int SamplesPerProblem, int Rollouts,
    int PretrainProblems, int AnalysisSteps, int WarmupSteps, int GrpoSteps, int GrpoPrompts,
    int BenchmarkSize, int SearchProblems, int SelectionPrompts, int SelectionSamples, int FineTuneSteps, int FineTuneSeeds,
    int JudgeSeeds = 1, bool ShortRecipe = false, double Difficulty = 0.5, int WriterUpdates = 800)
{
    /// <summary>The policy's accuracy band of the full presets: T = 1 accuracy on validation problems (see docs/world-and-annotation.md).</summary>
    public static AccuracyBand Band { get; } = new WorldPolicyOptions().TargetAccuracy ?? new AccuracyBand(0.35, 0.70);

    /// <summary>The world of a preset: the several-paths world at the preset's difficulty.</summary>
    public ArithmeticChainOptions World() => ArithmeticChainOptions.SeveralPaths(Difficulty);

    public static MainJobPreset Get(string name) => name switch
    {
        "smoke" => new("smoke", 200, null, 48, 4, 2, 8, 4, 4, 2, 4, 8, 4, 4, 2, 2, 1, ShortRecipe: true, Difficulty: 0, WriterUpdates: 4),
        "quick" => new("quick", 3000, Band, 64, 4, 4, 200, 300, 150, 30, 16, 48, 48, 24, 4, 30, 1, WriterUpdates: 400),
        "default" => new("default", 3000, Band, 200, 4, 8, 1200, 800, 600, 90, 16, 120, 200, 64, 8, 40, 3),
        "large" => new("large", 3000, Band, 400, 4, 8, 1200, 800, 600, 90, 16, 300, 400, 200, 8, 40, 3, JudgeSeeds: 3),
        _ => throw new CliException($"unknown preset '{name}' (smoke, quick, default or large)"),
    };
}
