namespace StepWiser.ML.AnswerChecking;

/// <summary>The outcome of comparing a candidate answer with a reference.</summary>
public enum AnswerOutcome
{
    /// <summary>The candidate denotes the same answer as the reference.</summary>
    Equivalent,

    /// <summary>The candidate denotes a different answer.</summary>
    NotEquivalent,

    /// <summary>The response states no final answer that the configured extraction modes recognise.</summary>
    NoAnswer,

    /// <summary>
    /// The comparison could not be decided within the verifier's limits (time budget, nesting depth, values that
    /// overflow); treat it as not correct when a yes/no decision is needed.
    /// </summary>
    Undecided,
}
