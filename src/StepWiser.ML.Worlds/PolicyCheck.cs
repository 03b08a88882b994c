namespace StepWiser.ML.Worlds;

/// <summary>One validation check of the policy recipe.</summary>
/// <param name="Updates">Updates done when the check ran.</param>
/// <param name="Accuracy">Temperature-1 accuracy on the validation problems (<see cref="WorldPolicy.ValidationSplit"/>).</param>
public sealed record PolicyCheck(int Updates, double Accuracy);
