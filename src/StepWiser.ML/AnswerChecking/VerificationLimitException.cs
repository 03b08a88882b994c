namespace StepWiser.ML.AnswerChecking;

/// <summary>
/// Thrown inside the verifier when a comparison runs past its time budget or its input is too deeply nested; the
/// verifier turns it into an <see cref="AnswerOutcome.Undecided"/> verdict, so it never reaches callers.
/// </summary>
internal sealed class VerificationLimitException(string message) : Exception(message);
