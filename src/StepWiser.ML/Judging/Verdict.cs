namespace StepWiser.ML.Judging;

/// <summary>A judge's verdict on one chunk.</summary>
public enum Verdict
{
    /// <summary>No valid final <c>\boxed{Positive}</c> / <c>\boxed{Negative}</c>: earns reward 0 and is counted, never guessed.</summary>
    Unparseable,

    /// <summary><c>\boxed{Positive}</c>: the chunk has no mistake.</summary>
    Positive,

    /// <summary><c>\boxed{Negative}</c>: the chunk has one or more mistakes.</summary>
    Negative,
}
