namespace StepWiser.ML.Training;

/// <summary>Progress of a training run.</summary>
/// <param name="Step">Updates done.</param>
/// <param name="TotalSteps">Updates planned.</param>
/// <param name="Loss">Mean response-token loss of the last update.</param>
/// <param name="LearningRate">Learning rate of the last update.</param>
/// <param name="TokensPerSecond">Trained (non-padding) tokens per second since the run (or resume) began.</param>
public sealed record TrainingProgress(int Step, int TotalSteps, double Loss, double LearningRate, double TokensPerSecond);
