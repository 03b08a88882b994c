namespace StepWiser.ML.Annotation;

/// <summary>Progress of Monte-Carlo annotation.</summary>
/// <param name="Rows">Solutions finished so far.</param>
/// <param name="TotalRows">Solutions to annotate, when known.</param>
/// <param name="Rollouts">Continuations sampled in this run (not counting those found in the store).</param>
/// <param name="CachedPrefixes">Prefixes whose rollouts came from the store.</param>
/// <param name="FailedPrefixes">Prefixes whose rollouts failed after retries (their values are NaN, never 0).</param>
/// <param name="RolloutsPerSecond">Sampling rate of this run.</param>
/// <param name="Eta">Estimated time left, when the total is known.</param>
public sealed record MonteCarloProgress(long Rows, long? TotalRows, long Rollouts, long CachedPrefixes, long FailedPrefixes, double RolloutsPerSecond, TimeSpan? Eta);
