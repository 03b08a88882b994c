namespace StepWiser.ML.Training;

/// <summary>
/// When a part of a <see cref="MemoryPlan"/> is allocated. Parts held throughout add up; of the other phases, which
/// never overlap, the largest adds to them to make the peak.
/// </summary>
public enum MemoryPhase
{
    /// <summary>Allocated for the whole run (weights, gradients, optimizer state, master weights, reference model).</summary>
    Held,

    /// <summary>During a forward and backward pass (activations and the gradients flowing through them).</summary>
    Update,

    /// <summary>During the KL reference's forward pass, which runs before the policy's forward pass (never with it).</summary>
    ReferenceForward,

    /// <summary>During the optimizer's step (its temporaries).</summary>
    Step,

    /// <summary>During generation (KV cache and the prefill's working memory).</summary>
    Generation,
}
