namespace StepWiser.ML.Annotation;

/// <summary>
/// Monte-Carlo annotation stopped because the policy kept failing (see
/// <see cref="MonteCarloOptions.MaxConsecutiveFailures"/>); the message names the first failure. Nothing was labelled
/// from the missing values; with a store, the finished prefixes are in it.
/// </summary>
public sealed class PolicyFailedException : Exception
{
    /// <summary>Creates the exception.</summary>
    public PolicyFailedException(string message, Exception? inner = null) : base(message, inner) { }
}
