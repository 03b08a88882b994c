using StepWiser.ML.Worlds;

namespace StepWiser.ML.Samples.Commands;

/// <summary>
/// Sizes of the main job. "smoke" only proves every stage runs (tests; numbers meaningless, no policy band); "quick" is a
/// short run; "default" is the reported run (under 15 minutes on 2 cores); "large" is the default recipe (plus the one-pass
/// world-analysis judge for comparison) over three judge
/// seeds (mean ± sd) with twice the annotated problems, a 300-solution benchmark, 400 search problems and 200 selection
/// prompts (under an hour; its judge recipe is the default's, so its spread is the default run's).
/// </summary>
internal sealed record MainJobPreset(
    string Name, int PolicySteps, AccuracyBand? PolicyBand, int AnnotationProblems, int SamplesPerProblem, int Rollouts,
    int PretrainProblems, int PretrainSteps, int WarmupSteps, int GrpoSteps, int GrpoPrompts,
    int BenchmarkPerSubset, int SearchProblems, int SelectionPrompts, int SelectionSamples, int FineTuneSteps,
    bool AllVariants, bool Rederive, int JudgeSeeds = 1, bool ShortRecipe = false, double Difficulty = 0.5,
    int WriterUpdates = 800, int PracticeSteps = 1500, bool WorldAnalysis = true, int ReferenceJudgeTokens = 256)
{
    /// <summary>The policy's accuracy band of the full presets: T = 1 accuracy on validation problems (see docs/world-and-annotation.md).</summary>
    public static AccuracyBand Band { get; } = new WorldPolicyOptions().TargetAccuracy ?? new AccuracyBand(0.35, 0.70);

    public static MainJobPreset Get(string name) => name switch
    {
        "smoke" => new("smoke", 200, null, 48, 4, 2, 8, 4, 4, 2, 4, 4, 4, 4, 2, 2, true, true, ShortRecipe: true, Difficulty: 0, WriterUpdates: 4, PracticeSteps: 4, ReferenceJudgeTokens: 40),
        "quick" => new("quick", 3000, Band, 64, 4, 4, 200, 150, 60, 10, 16, 16, 48, 24, 4, 30, false, false, WriterUpdates: 400, PracticeSteps: 600, WorldAnalysis: false),
        "default" => new("default", 3000, Band, 200, 4, 8, 600, 600, 150, 30, 16, 40, 200, 48, 8, 30, true, false, WorldAnalysis: false),
        "large" => new("large", 3000, Band, 400, 4, 8, 600, 600, 150, 30, 16, 100, 400, 200, 8, 30, true, false, JudgeSeeds: 3),
        _ => throw new CliException($"unknown preset '{name}' (smoke, quick, default or large)"),
    };
}
