namespace StepWiser.ML.Training;

/// <summary>What a <see cref="MemoryPlan"/> plans for.</summary>
public enum MemoryTask
{
    /// <summary>Supervised fine-tuning (<see cref="SftTrainer"/>): forward and backward over prompt + response, loss on the response.</summary>
    Sft,

    /// <summary>
    /// GRPO (the judge trainer): generation of the groups (KV cache), then forward and backward over prompt + response,
    /// optionally a KL reference model.
    /// </summary>
    Grpo,

    /// <summary>Generation only: the weights and the KV cache of the rows decoded at once.</summary>
    Inference,
}
