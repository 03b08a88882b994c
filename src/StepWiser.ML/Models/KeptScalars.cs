using TorchSharp;
using static TorchSharp.torch;

namespace StepWiser.ML.Models;

/// <summary>
/// Scalar arguments that stay alive through the native call. TorchSharp's tensor operators (<c>a + b</c>, <c>a + 0.5</c>,
/// <c>a * 0.5</c>) and its implicit conversions to <see cref="Scalar"/> make a temporary Scalar per call, read its handle
/// and drop the object, whose finalizer frees the native value: a garbage collection during the native call can free it
/// while libtorch reads it, and the call fails with "Expected false to be true" from <c>c10::Scalar::toFloat</c> (a long
/// main job failed so in its verdict stage; under a thread that collects in a loop, <c>a + b</c> failed after 10,000 to
/// a million additions while <c>a.add(b, kept)</c> ran millions, lab/benchmarks.md). The forward pass of every layer,
/// the sampler, the losses and the optimizer step pass these, or a <c>using</c> Scalar, instead.
/// </summary>
internal static class KeptScalars
{
    /// <summary>The integer 1: the alpha TorchSharp's own <c>add(Tensor)</c> passes.</summary>
    public static Scalar One { get; } = 1.ToScalar();

    /// <summary>The integer 2 (a square).</summary>
    public static Scalar Two { get; } = 2.ToScalar();

    /// <summary>Negative infinity (a double), an additive mask's value.</summary>
    public static Scalar NegativeInfinity { get; } = double.NegativeInfinity.ToScalar();

    /// <summary>The integer 0.</summary>
    public static Scalar Zero { get; } = 0.ToScalar();

    /// <summary><c>a + b</c> with a kept alpha.</summary>
    public static Tensor Plus(this Tensor a, Tensor b) => a.add(b, One);

    /// <summary><c>a += b</c> (in place) with a kept alpha.</summary>
    public static Tensor PlusInPlace(this Tensor a, Tensor b) => a.add_(b, One);

    /// <summary><c>a + value</c> with the value and alpha kept.</summary>
    public static Tensor Plus(this Tensor a, Scalar value) => a.add(value, One);

    /// <summary><c>a += value</c> (in place) with the value and alpha kept.</summary>
    public static Tensor PlusInPlace(this Tensor a, Scalar value) => a.add_(value, One);
}
