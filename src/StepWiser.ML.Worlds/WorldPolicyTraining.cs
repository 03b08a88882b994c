using StepWiser.ML.Models;

namespace StepWiser.ML.Worlds;

/// <summary>What <see cref="WorldPolicy.TrainToBand"/> did.</summary>
/// <param name="Model">The trained policy (the caller disposes it).</param>
/// <param name="Updates">Updates the policy was trained for: the check that landed in the band, or <see cref="WorldPolicyOptions.Steps"/>.</param>
/// <param name="Checks">Every validation check, in order (empty when <see cref="WorldPolicyOptions.TargetAccuracy"/> is null).</param>
/// <param name="Band">The band aimed at, or null when none was set.</param>
/// <param name="Threads">Torch's intra-op thread count during training (results are deterministic for a given count only).</param>
/// <param name="Losses">Loss of each update.</param>
public sealed record WorldPolicyTraining(CausalLM Model, int Updates, IReadOnlyList<PolicyCheck> Checks, AccuracyBand? Band, int Threads, IReadOnlyList<double> Losses)
{
    /// <summary>Accuracy of the last check (the one training stopped at), or null when there was no check.</summary>
    public double? ValidationAccuracy => Checks.Count > 0 ? Checks[^1].Accuracy : null;

    /// <summary>Whether the last check's accuracy lies in <see cref="Band"/>; false when no band was set.</summary>
    public bool InBand => Band is { } band && ValidationAccuracy is { } accuracy && band.Contains(accuracy);
}
