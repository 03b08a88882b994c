namespace StepWiser.ML.Training;

/// <summary>
/// How <see cref="AdamW"/> keeps its state and applies updates to parameters held in a low-precision type (bfloat16,
/// float16). Float32 parameters are updated in float32 whichever is chosen; the choice matters for the others, whose
/// resolution (bfloat16: 8 significant bits, a step of 2⁻⁸ ≈ 0.004 for weights between 0.5 and 1) is far coarser than
/// the updates of a fine-tuning learning rate (1e-6 × a normalised gradient).
/// </summary>
public enum OptimizerPrecision
{
    /// <summary>
    /// A float32 master copy of every low-precision parameter, float32 moments; each update is applied to the master
    /// copy and cast back to the parameter, so updates far below the parameter's resolution add up instead of vanishing.
    /// 12 bytes of optimizer state a parameter (4 master, 8 moments). The default.
    /// </summary>
    MasterWeights,

    /// <summary>
    /// The float32 master weights held in two halves: the bfloat16 parameter is the master truncated to bfloat16 (its
    /// upper 16 bits) and a 16-bit integer beside it holds the rest, exactly; moments in bfloat16. The update is the
    /// master-weight update at 6 bytes of optimizer state a parameter instead of 12 (the forward pass sees the master
    /// rounded toward zero, less than one bfloat16 step off, instead of to nearest). For models whose float32 state does
    /// not fit. A float16 parameter, which is not the upper half of a float32, gets a float32 master copy (8 bytes).
    /// </summary>
    SplitMasterWeights,

    /// <summary>
    /// Moments in the parameter's type and the update applied to the parameter directly: an update smaller than half a
    /// step of the parameter's resolution is lost (at bfloat16 and learning rate 1e-6, nearly every update). For
    /// comparison; do not train low-precision models with it.
    /// </summary>
    ParameterType,
}
