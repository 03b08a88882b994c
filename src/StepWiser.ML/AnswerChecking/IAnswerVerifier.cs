namespace StepWiser.ML.AnswerChecking;

/// <summary>
/// Decides whether a model's final answer matches a reference answer: the outcome reward of RL on verifiable
/// problems and the "final answer correct" label of rollouts. Implementations are thread-safe and deterministic.
/// </summary>
public interface IAnswerVerifier
{
    /// <summary>
    /// The final answer stated in a model response (for example the content of its last <c>\boxed{}</c>), or
    /// <see langword="null"/> when the response states none.
    /// </summary>
    string? ExtractAnswer(string response);

    /// <summary>
    /// Whether two bare answers (not whole responses) denote the same mathematical object. Answers that cannot be
    /// decided within the implementation's limits count as not equivalent; <see cref="Verify"/> tells them apart.
    /// </summary>
    bool IsEquivalent(string candidate, string reference);

    /// <summary>
    /// Extracts the final answer of <paramref name="response"/> and compares it with <paramref name="reference"/>,
    /// which may be a bare answer or a worked solution that marks its answer (<c>\boxed{}</c>, GSM8K <c>#### n</c>).
    /// </summary>
    AnswerVerdict Verify(string response, string reference);
}
