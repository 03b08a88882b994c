using static TorchSharp.torch;

namespace StepWiser.ML.Models;

/// <summary>
/// Rotary position embedding in the rotate-half form used by Qwen2, Qwen3 and Llama: <c>inv_freq = theta^(-2i/d)</c>
/// (rescaled as Llama 3.1/3.2 publish where the config has their <c>rope_scaling</c>), angles = position × inv_freq,
/// applied to queries and keys.
/// </summary>
internal static class RotaryEmbedding
{
    /// <summary>
    /// The D/2 inverse frequencies of <paramref name="config"/>: computed in float64 and rounded to float32 once, so the
    /// libtorch forward and the managed decode step rotate by the same angles.
    /// </summary>
    public static float[] InverseFrequencies(ModelConfig config)
    {
        int d = config.HeadDim;
        var scaling = config.Llama3Scaling;
        var result = new float[d / 2];
        for (int i = 0; i < result.Length; i++)
        {
            double invFreq = Math.Pow(config.RopeTheta, -(2.0 * i) / d);
            result[i] = (float)(scaling is null ? invFreq : scaling.Scale(invFreq));
        }
        return result;
    }

    /// <summary>
    /// Cosine and sine tables for the given positions: (B, T) → two (B, 1, T, D) tensors, broadcastable over heads.
    /// </summary>
    public static (Tensor Cos, Tensor Sin) Tables(Tensor positions, float[] inverseFrequencies, ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        var invFreq = tensor(inverseFrequencies, device: positions.device);                            // (D/2)
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
        // by the fixed cost of its many small calls; lab/benchmarks.md).
        var x1 = x.narrow(-1, 0, half);
        var x2 = x.narrow(-1, half, half);
        var rotated = cat([x2.neg(), x1], dim: -1);                                                  // rotate_half(x)
        return (x * cos).Plus(rotated * sin).MoveToOuterDisposeScope();   // kept alpha: KeptScalars
    }
}
