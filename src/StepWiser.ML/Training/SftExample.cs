namespace StepWiser.ML.Training;

/// <summary>A supervised example: the loss is taken on the response tokens only.</summary>
/// <param name="Prompt">Conditioning text (masked out of the loss).</param>
/// <param name="Response">Target text.</param>
public sealed record SftExample(string Prompt, string Response);

/// <summary>Progress of a training run.</summary>
/// <param name="Step">Updates done.</param>
/// <param name="TotalSteps">Updates planned.</param>
/// <param name="Loss">Mean response-token loss of the last update.</param>
/// <param name="LearningRate">Learning rate of the last update.</param>
/// <param name="TokensPerSecond">Trained (non-padding) tokens per second since the run (or resume) began.</param>
public sealed record TrainingProgress(int Step, int TotalSteps, double Loss, double LearningRate, double TokensPerSecond);
