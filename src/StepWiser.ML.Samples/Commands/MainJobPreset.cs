namespace StepWiser.ML.Samples.Commands;

/// <summary>
/// Sizes of the main job. "smoke" only proves every stage runs (tests; numbers meaningless); "quick" is a short run;
/// "default" is the reported run; "large" gives stronger models.
/// </summary>
internal sealed record MainJobPreset(
    string Name, int PolicySteps, int AnnotationProblems, int SamplesPerProblem, int Rollouts, int WarmupSteps, int GrpoSteps, int GrpoPrompts,
    int BenchmarkPerSubset, int SearchProblems, int SelectionPrompts, int SelectionSamples, int FineTuneSteps, bool AllVariants, bool ShortRecipe = false, double Difficulty = 0.5)
{
    public static MainJobPreset Get(string name) => name switch
    {
        "smoke" => new("smoke", 200, 16, 4, 2, 4, 2, 4, 4, 4, 4, 2, 2, true, ShortRecipe: true, Difficulty: 0),
        "quick" => new("quick", 1500, 48, 4, 4, 60, 8, 16, 16, 24, 24, 4, 30, false),
        "default" => new("default", 3000, 200, 4, 8, 300, 100, 8, 40, 48, 48, 8, 30, true),
        "large" => new("large", 8000, 400, 8, 16, 400, 120, 32, 100, 200, 200, 8, 200, true),
        _ => throw new CliException($"unknown preset '{name}' (smoke, quick, default or large)"),
    };
}
