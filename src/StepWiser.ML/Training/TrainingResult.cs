namespace StepWiser.ML.Training;

/// <summary>Outcome of a training run.</summary>
/// <param name="Steps">Updates completed in total (including those before a resume).</param>
/// <param name="ResumedFromStep">Step restored from a checkpoint, or 0.</param>
/// <param name="Losses">Loss of each update run in this call.</param>
/// <param name="TokensPerSecond">Trained tokens per second in this call.</param>
public sealed record TrainingResult(int Steps, int ResumedFromStep, IReadOnlyList<double> Losses, double TokensPerSecond);
