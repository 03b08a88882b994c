using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using TorchSharp;
using static TorchSharp.torch;

namespace StepWiser.ML.Models;

/// <summary>
/// The matrix products of small decode steps (<c>y = x Wᵀ + b</c> for at most <see cref="MaxRows"/> rows x), computed
/// by a managed AVX-512 kernel instead of libtorch's BLAS. A decode step multiplies a few rows by every weight matrix of
/// the model once; for these shapes libtorch's statically linked oneMKL runs one thread and a generic code path on AMD
/// processors (lab/benchmarks.md, "What reading the weights costs"). The kernel reads each weight row once for all
/// rows of the step, with the rows in the first-level cache: measured on this project's 2-core AMD EPYC, the built-in
/// Medium model's decode is 1.2–1.9× faster with it at batch 1–4 and 1.1–1.2× at batch 8–16; from 32 rows on, MKL's
/// two-thread products are as fast or faster, so those stay libtorch's. The kernel runs on the calling thread:
/// splitting it across a .NET worker lost to libgomp's worker, which spins on the other core after every libtorch call.
/// <para>
/// The managed decode step (<see cref="DecodeStep"/>) calls its <see cref="Columns(float*, float*, float*, float*, int, int, int)"/>
/// directly; through <see cref="Linear"/> it is used only inside an <see cref="Enter"/> scope (the generation engine's
/// decode steps that the managed step does not take, unless the engine option UseManagedDecodeKernel is off), only
/// without gradients, and only for
/// float32 CPU tensors whose input width is a multiple of 16; every other product goes to libtorch unchanged, so
/// training, scoring and prefill compute exactly what they did. Each output element is one fixed-order sum (16 lane
/// accumulators over the input, then a fixed pairwise reduction) whatever the number of rows and the row's position,
/// so within the kernel's range a row's logits do not depend on the rows decoded with it. They differ from libtorch's
/// product by float32 rounding (~1e-6 relative).
/// </para>
/// </summary>
internal static class DecodeProducts
{
    /// <summary>The most rows (tokens) a product may have to use the kernel; larger ones are libtorch's.</summary>
    public const int MaxRows = 16;

    [ThreadStatic] private static int t_depth;

    /// <summary>Whether this processor runs the kernel (AVX-512 and AVX); elsewhere every product is libtorch's.</summary>
    public static bool IsSupported { get; } = Vector512.IsHardwareAccelerated && Avx.IsSupported;

    /// <summary>Routes this thread's eligible products to the kernel until the returned scope is disposed.</summary>
    public static Scope Enter() { t_depth++; return default; }

    /// <summary>The scope of <see cref="Enter"/>.</summary>
    public readonly struct Scope : IDisposable
    {
        /// <inheritdoc />
        public void Dispose() => t_depth--;
    }

    /// <summary>
    /// <c>x Wᵀ + b</c> for <paramref name="x"/> (…, in), <paramref name="weight"/> (out, in) and optional
    /// <paramref name="bias"/> (out): the kernel's product inside a scope where it applies, else libtorch's.
    /// </summary>
    public static Tensor Linear(Tensor x, Tensor weight, Tensor? bias) =>
        TryLinear(x, weight, bias) ?? nn.functional.linear(x, weight, bias);

    /// <summary>The kernel's product, or null where it does not apply (see the class remarks).</summary>
    public static Tensor? TryLinear(Tensor x, Tensor weight, Tensor? bias)
    {
        // Cheapest checks first: a decode step makes ~25 of these calls, and each TorchSharp query is a native call.
        if (t_depth == 0 || !IsSupported || is_grad_enabled()) return null;
        if (x.dtype != ScalarType.Float32 || weight.dtype != ScalarType.Float32 || weight.dim() != 2) return null;
        if (x.device_type != DeviceType.CPU || weight.device_type != DeviceType.CPU) return null;
        long n = weight.size(0), k = weight.size(1);
        if (k == 0 || k % 16 != 0 || n == 0 || n * k > int.MaxValue / sizeof(float)) return null;
        var shape = x.shape;
        if (shape.Length == 0 || shape[^1] != k) return null;
        long m = 1;
        for (int i = 0; i < shape.Length - 1; i++) m *= shape[i];
        if (m == 0 || m > MaxRows || !weight.is_contiguous()) return null;
        if (bias is not null && (bias.dtype != ScalarType.Float32 || bias.device_type != DeviceType.CPU || !bias.is_contiguous() || bias.numel() != n)) return null;

        shape[^1] = n;
        var y = empty(shape, dtype: ScalarType.Float32);
        using (var input = x.contiguous())
        {
            Run(input, weight, bias, y, (int)m, (int)n, (int)k);
        }
        return y;
    }

    private static unsafe void Run(Tensor x, Tensor weight, Tensor? bias, Tensor y, int m, int n, int k)
    {
        float* xp = (float*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(x.bytes));
        float* wp = (float*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(weight.bytes));
        float* bp = bias is null ? null : (float*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(bias.bytes));
        float* yp = (float*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(y.bytes));
        Columns(xp, wp, bp, yp, m, n, k);
    }

    /// <summary>Every output column of every row, four columns at a time (a 4 × 4 tile of rows and columns, then the rows left over).</summary>
    internal static unsafe void Columns(float* x, float* w, float* bias, float* y, int m, int n, int k) => Columns(x, w, bias, y, m, n, k, 0, n);

    /// <summary>
    /// Output columns [<paramref name="from"/>, <paramref name="to"/>) of every row (<paramref name="from"/> a multiple of
    /// four, <paramref name="to"/> a multiple of four or <paramref name="n"/>): each column's values are those of the whole product.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static unsafe void Columns(float* x, float* w, float* bias, float* y, int m, int n, int k, int from, int to)
    {
        for (int c = from; c < to; c += 4)
        {
            // Four weight rows (the last group repeats its final row where n is not a multiple of 4; those results are not stored).
            float* w0 = w + (long)c * k;
            float* w1 = w + (long)Math.Min(c + 1, n - 1) * k;
            float* w2 = w + (long)Math.Min(c + 2, n - 1) * k;
            float* w3 = w + (long)Math.Min(c + 3, n - 1) * k;
            int width = Math.Min(4, n - c);
            var b = bias is null ? Vector128<float>.Zero
                : Vector128.Create(bias[c], bias[Math.Min(c + 1, n - 1)], bias[Math.Min(c + 2, n - 1)], bias[Math.Min(c + 3, n - 1)]);
            int r = 0;
            for (; r + 4 <= m; r += 4)
            {
                float* x0 = x + (long)r * k, x1 = x0 + k, x2 = x1 + k, x3 = x2 + k;
                Vector512<float> a00 = default, a01 = default, a02 = default, a03 = default;
                Vector512<float> a10 = default, a11 = default, a12 = default, a13 = default;
                Vector512<float> a20 = default, a21 = default, a22 = default, a23 = default;
                Vector512<float> a30 = default, a31 = default, a32 = default, a33 = default;
                for (int i = 0; i < k; i += 16)
                {
                    var b0 = Vector512.Load(w0 + i);
                    var b1 = Vector512.Load(w1 + i);
                    var b2 = Vector512.Load(w2 + i);
                    var b3 = Vector512.Load(w3 + i);
                    var v = Vector512.Load(x0 + i);
                    a00 = Vector512.FusedMultiplyAdd(v, b0, a00); a01 = Vector512.FusedMultiplyAdd(v, b1, a01);
                    a02 = Vector512.FusedMultiplyAdd(v, b2, a02); a03 = Vector512.FusedMultiplyAdd(v, b3, a03);
                    v = Vector512.Load(x1 + i);
                    a10 = Vector512.FusedMultiplyAdd(v, b0, a10); a11 = Vector512.FusedMultiplyAdd(v, b1, a11);
                    a12 = Vector512.FusedMultiplyAdd(v, b2, a12); a13 = Vector512.FusedMultiplyAdd(v, b3, a13);
                    v = Vector512.Load(x2 + i);
                    a20 = Vector512.FusedMultiplyAdd(v, b0, a20); a21 = Vector512.FusedMultiplyAdd(v, b1, a21);
                    a22 = Vector512.FusedMultiplyAdd(v, b2, a22); a23 = Vector512.FusedMultiplyAdd(v, b3, a23);
                    v = Vector512.Load(x3 + i);
                    a30 = Vector512.FusedMultiplyAdd(v, b0, a30); a31 = Vector512.FusedMultiplyAdd(v, b1, a31);
                    a32 = Vector512.FusedMultiplyAdd(v, b2, a32); a33 = Vector512.FusedMultiplyAdd(v, b3, a33);
                }
                Store(y + (long)r * n + c, Reduce(a00, a01, a02, a03) + b, width);
                Store(y + (long)(r + 1) * n + c, Reduce(a10, a11, a12, a13) + b, width);
                Store(y + (long)(r + 2) * n + c, Reduce(a20, a21, a22, a23) + b, width);
                Store(y + (long)(r + 3) * n + c, Reduce(a30, a31, a32, a33) + b, width);
            }
            for (; r < m; r++)
            {
                float* x0 = x + (long)r * k;
                Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
                for (int i = 0; i < k; i += 16)
                {
                    var v = Vector512.Load(x0 + i);
                    a0 = Vector512.FusedMultiplyAdd(v, Vector512.Load(w0 + i), a0);
                    a1 = Vector512.FusedMultiplyAdd(v, Vector512.Load(w1 + i), a1);
                    a2 = Vector512.FusedMultiplyAdd(v, Vector512.Load(w2 + i), a2);
                    a3 = Vector512.FusedMultiplyAdd(v, Vector512.Load(w3 + i), a3);
                }
                Store(y + (long)r * n + c, Reduce(a0, a1, a2, a3) + b, width);
            }
        }
    }

    /// <summary>The lane sums of four accumulators, in one fixed order: halves, then pairwise within each 128-bit lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector128<float> Reduce(Vector512<float> a, Vector512<float> b, Vector512<float> c, Vector512<float> d)
    {
        var s0 = a.GetLower() + a.GetUpper();
        var s1 = b.GetLower() + b.GetUpper();
        var s2 = c.GetLower() + c.GetUpper();
        var s3 = d.GetLower() + d.GetUpper();
        var h = Avx.HorizontalAdd(Avx.HorizontalAdd(s0, s1), Avx.HorizontalAdd(s2, s3));
        return h.GetLower() + h.GetUpper();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Store(float* destination, Vector128<float> values, int width)
    {
        if (width == 4) { values.Store(destination); return; }
        for (int j = 0; j < width; j++) destination[j] = values.GetElement(j);
    }
}
