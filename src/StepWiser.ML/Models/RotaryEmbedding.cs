using static TorchSharp.torch;

namespace StepWiser.ML.Models;

/// <summary>
/// Rotary position embedding in the rotate-half form used by Qwen2 and Llama:
/// <c>inv_freq = theta^(-2i/d)</c>, angles = position × inv_freq, applied to queries and keys.
/// </summary>
internal static class RotaryEmbedding
{
    /// <summary>
    /// Cosine and sine tables for the given positions: (B, T) → two (B, 1, T, D) tensors, broadcastable over heads.
    /// </summary>
    public static (Tensor Cos, Tensor Sin) Tables(Tensor positions, int headDim, double theta, ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        var exponent = arange(0, headDim, 2, dtype: ScalarType.Float64, device: positions.device) / headDim;
        var invFreq = pow(theta, -exponent).to(ScalarType.Float32);                                // (D/2)
        var angles = positions.to(ScalarType.Float32).unsqueeze(-1) * invFreq;                      // (B, T, D/2)
        var full = cat([angles, angles], dim: -1).unsqueeze(1);                                      // (B, 1, T, D)
        return (full.cos().to(dtype).MoveToOuterDisposeScope(), full.sin().to(dtype).MoveToOuterDisposeScope());
    }

    /// <summary>Applies the rotation to (B, H, T, D) queries or keys.</summary>
    public static Tensor Apply(Tensor x, Tensor cos, Tensor sin)
    {
        using var scope = NewDisposeScope();
        var half = x.shape[^1] / 2;
        // narrow rather than index slicing: the same views with less work per call (a decode step at batch 1 is bound
        // by the fixed cost of its many small calls; docs/benchmarks.md).
        var x1 = x.narrow(-1, 0, half);
        var x2 = x.narrow(-1, half, half);
        var rotated = cat([x2.neg(), x1], dim: -1);                                                  // rotate_half(x)
        return (x * cos + rotated * sin).MoveToOuterDisposeScope();
    }
}
