using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using TorchSharp;
using static TorchSharp.torch;

namespace StepWiser.ML.Models;

/// <summary>
/// One whole decode step of a float32 model on the CPU in managed code: token embedding, and in every layer the norm,
/// the fused q/k/v product, Qwen3's per-head query/key norms, the rotary embedding (Llama 3 rope scaling included), the KV-cache write, attention over the cached positions, the output
/// product, the norm, the fused gate/up product, SiLU and the down product, then the final norm and the output head.
/// The libtorch forward of such a step makes ~25 library calls a layer, each with a fixed cost of allocation and
/// dispatch that dominates a small model's step (lab/benchmarks.md, "The managed decode step"); here a step is a few
/// passes over the weights and the cache with no allocation but the logits.
/// <para>
/// The products are <see cref="DecodeProducts"/>' kernel; every other sum (norm, attention scores, softmax, weighted
/// values) runs in one fixed order per row, so a row's logits do not depend on the other rows decoded with it (tested).
/// The values differ from libtorch's forward by float32 rounding. Used by the generation engine's decode steps
/// (<see cref="TryRun"/> returns null where it does not apply: no AVX-512, gradients on, a non-float32 or non-CPU model,
/// unfused projections, widths not multiples of 16, or more rows than <see cref="MaxRows"/> allows).
/// </para>
/// </summary>
internal static class DecodeStep
{
    /// <summary>
    /// The most rows a step may have, for a model of <paramref name="config"/>: every step of a model of hidden size ≤ 128
    /// (the built-in Tiny and Small), and of hidden size ≤ 256 (Medium) where the step runs on two or more threads; else
    /// <see cref="DecodeProducts.MaxRows"/>, beyond which libtorch's products were as fast or faster (measured on the
    /// built-in shapes, lab/benchmarks.md; larger models' many-row steps are left to libtorch's blocked products).
    /// </summary>
    public static int MaxRows(ModelConfig config) =>
        config.HiddenSize <= 128 || (config.HiddenSize <= 256 && Threads >= 2) ? int.MaxValue : DecodeProducts.MaxRows;

    /// <summary>Whether <paramref name="model"/> can run managed steps at all (the row count aside).</summary>
    public static bool Applies(CausalLM model)
    {
        var c = model.Config;
        return DecodeProducts.IsSupported && model.Device.type == DeviceType.CPU && model.DType == ScalarType.Float32
            && model.Decoder.IsFused && c.HiddenSize % 16 == 0 && c.IntermediateSize % 16 == 0 && c.HeadDim % 16 == 0
            && c.NumAttentionHeads * c.HeadDim % 16 == 0 && c.HiddenAct == "silu";
    }

    /// <summary>
    /// Runs one decode step of <paramref name="tokens"/> (one per cache row) at <paramref name="positions"/>: writes each
    /// layer's keys and values at the cache's next position (already marked valid; the caller advances the cache) and
    /// returns the logits (rows, vocab), or null where the step does not apply (nothing is written then).
    /// </summary>
    public static Tensor? TryRun(CausalLM model, long[] tokens, long[] positions, KvCache cache)
    {
        int rows = tokens.Length;
        if (positions.Length != rows) throw new ArgumentException($"{positions.Length} positions for {rows} tokens", nameof(positions));
        if (rows == 0 || rows != cache.BatchSize || rows > MaxRows(model.Config) || is_grad_enabled() || !Applies(model)) return null;
        if (cache.KeysOf(0).dtype != ScalarType.Float32 || cache.KeysOf(0).device_type != DeviceType.CPU) return null;
        if (cache.Length >= cache.Capacity) throw new InvalidOperationException($"KV cache overflow: {cache.Length} + 1 > capacity {cache.Capacity}.");
        var c = model.Config;
        foreach (var t in tokens)
            if (t < 0 || t >= c.VocabSize) throw new ArgumentOutOfRangeException(nameof(tokens), $"token id {t} is outside the vocabulary of {c.VocabSize}");
        var logits = empty(rows, c.VocabSize, dtype: ScalarType.Float32);
        Run(model, tokens, positions, cache, logits);
        return logits;
    }

    private static unsafe float* Ptr(Tensor t)
    {
        if (!t.is_contiguous()) throw new InvalidOperationException("the managed decode step needs contiguous tensors");
        return (float*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(t.bytes));
    }

    [ThreadStatic] private static float[]? t_scratch;

    private static unsafe void Run(CausalLM model, long[] tokens, long[] positions, KvCache cache, Tensor logits)
    {
        var c = model.Config;
        int rows = tokens.Length, hidden = c.HiddenSize, inter = c.IntermediateSize, heads = c.NumAttentionHeads, kvHeads = c.KeyValueHeads;
        int d = c.HeadDim, half = d / 2, groups = heads / kvHeads, qkvWidth = (heads + 2 * kvHeads) * d, length = cache.Length, cap = cache.Capacity;
        float eps = (float)c.RmsNormEps;
        float scale = (float)(1.0 / Math.Sqrt(d));

        // Scratch: the residual stream, the normed input, q/k/v, the attended heads, a product's output, gate/up, the
        // gated product, rotary tables and one head's scores. One pinned array per thread, grown as needed.
        int parts = Parts(c, rows);
        long need = (long)rows * (3L * hidden + qkvWidth + heads * d + 3L * inter + d) + parts * (cap + 64L);
        if (t_scratch is null || t_scratch.Length < need) t_scratch = GC.AllocateUninitializedArray<float>((int)Math.Max(need, 4096), pinned: true);
        fixed (float* scratch = t_scratch)
        {
            float* x = scratch, xn = x + rows * hidden, o = xn + rows * hidden, qkv = o + rows * hidden, att = qkv + rows * qkvWidth;
            float* gu = att + rows * heads * d, g = gu + 2L * rows * inter, cs = g + (long)rows * inter, scores = cs + (long)rows * d;

            // Embedding rows.
            var embedding = model.Decoder.EmbedTokens.weight;
            float* e = Ptr(embedding);
            for (int r = 0; r < rows; r++) new Span<float>(e + tokens[r] * hidden, hidden).CopyTo(new Span<float>(x + (long)r * hidden, hidden));

            // Rotary tables, as RotaryEmbedding.Tables computes them: the model's float32 inverse frequencies, angles in
            // float32; cs holds each row's cos (first half) and sin (second half) of its D/2 angles.
            var inverseFrequencies = model.Decoder.InverseFrequencies;
            for (int i = 0; i < half; i++)
            {
                float invFreq = inverseFrequencies[i];
                for (int r = 0; r < rows; r++)
                {
                    float angle = (float)positions[r] * invFreq;
                    cs[r * d + i] = MathF.Cos(angle);
                    cs[r * d + half + i] = MathF.Sin(angle);
                }
            }

            byte* valid = (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(cache.Valid.bytes));
            var layers = model.Decoder.Layers;
            for (int l = 0; l < layers.Count; l++)
            {
                var layer = layers[l];
                RmsNorm(x, Ptr(layer.InputNorm.weight), xn, rows, hidden, eps);
                var (wq, bq) = layer.SelfAttention.Qkv.Block;
                Product(xn, Ptr(wq), bq is null ? null : Ptr(bq), qkv, rows, qkvWidth, hidden, parts);
                var (qNormTensor, kNormTensor) = layer.SelfAttention.HeadNorms;
                float* qNorm = qNormTensor is null ? null : Ptr(qNormTensor), kNorm = kNormTensor is null ? null : Ptr(kNormTensor);

                float* keys = Ptr(cache.KeysOf(l)), values = Ptr(cache.ValuesOf(l));
                Split(parts, rows, (part, from, to) =>
                {
                    float* partScores = scores + part * (cap + 64L);
                    for (int r = from; r < to; r++)
                    {
                        float* row = qkv + (long)r * qkvWidth, cosSin = cs + r * d;
                        if (qNorm is not null)
                            for (int h = 0; h < heads + kvHeads; h++) RmsNorm(row + h * d, h < heads ? qNorm : kNorm, row + h * d, 1, d, eps);   // in place
                        for (int h = 0; h < heads + kvHeads; h++) Rotate(row + h * d, cosSin, half);
                        for (int kv = 0; kv < kvHeads; kv++)
                        {
                            long slot = (((long)r * kvHeads + kv) * cap + length) * d;
                            new Span<float>(row + (heads + kv) * d, d).CopyTo(new Span<float>(keys + slot, d));
                            new Span<float>(row + (heads + kvHeads + kv) * d, d).CopyTo(new Span<float>(values + slot, d));
                        }
                        for (int h = 0; h < heads; h++)
                        {
                            long head = ((long)r * kvHeads + h / groups) * cap * d;
                            Attend(row + h * d, keys + head, values + head, valid + (long)r * cap, length + 1, d, scale, partScores, att + ((long)r * heads + h) * d);
                        }
                    }
                });

                var (wo, bo) = layer.SelfAttention.Output;
                Product(att, Ptr(wo), bo is null ? null : Ptr(bo), o, rows, hidden, heads * d, parts);
                Add(x, o, rows * hidden);

                RmsNorm(x, Ptr(layer.PostAttentionNorm.weight), xn, rows, hidden, eps);
                var (wgu, _) = layer.FeedForward.GateUp.Block;
                Product(xn, Ptr(wgu), null, gu, rows, 2 * inter, hidden, parts);
                for (int r = 0; r < rows; r++) SiluTimes(gu + 2L * r * inter, gu + 2L * r * inter + inter, g + (long)r * inter, inter);
                Product(g, Ptr(layer.FeedForward.Down), null, o, rows, hidden, inter, parts);
                Add(x, o, rows * hidden);
            }
            RmsNorm(x, Ptr(model.Decoder.Norm.weight), xn, rows, hidden, eps);
            Product(xn, Ptr(model.HeadWeight), null, Ptr(logits), rows, c.VocabSize, hidden, parts);
        }
    }

    /// <summary>
    /// How many threads share a step of <paramref name="rows"/> rows of a model of <paramref name="config"/>: libtorch's
    /// thread count (the one thread setting the library pins), capped at <see cref="MaxParts"/>, once the step has at
    /// least <see cref="ParallelWork"/> multiply-adds in its products; one below, and where libtorch's threads cannot be
    /// borrowed (<see cref="ThreadTeam"/>). A step's values do not depend on it: products split at four-column
    /// boundaries and attention by rows, so every value is computed by the same code in the same order whichever thread
    /// computes it (tested).
    /// </summary>
    internal static int Parts(ModelConfig config, int rows) => (long)rows * Weights(config) < ParallelWork ? 1 : Threads;

    /// <summary>Threads available to a step: libtorch's count where its OpenMP team can be borrowed, else one.</summary>
    private static int Threads => !ThreadTeam.Available ? 1 : Math.Clamp(ThreadsOverride ?? get_num_threads(), 1, MaxParts);

    /// <summary>
    /// The fewest multiply-adds a step's products need to be split across threads (measured: the built-in Medium at one
    /// row, 4.4 M, runs twice as fast on two threads; Small at one row, 0.9 M, and Tiny at 16 rows, 1.7 M, no faster).
    /// </summary>
    internal const long ParallelWork = 4_000_000;

    /// <summary>The weights a step's products read for each row (every layer's matrices and the output head).</summary>
    internal static long Weights(ModelConfig c)
    {
        long h = c.HiddenSize, d = c.HeadDim, qkv = (c.NumAttentionHeads + 2L * c.KeyValueHeads) * d;
        return c.NumHiddenLayers * (h * qkv + c.NumAttentionHeads * d * h + 3L * h * c.IntermediateSize) + (long)c.VocabSize * h;
    }

    /// <summary>The most threads one step uses.</summary>
    internal const int MaxParts = 8;

    /// <summary>Threads for a step in place of libtorch's thread count (tests and benchmarks; null: libtorch's).</summary>
    internal static int? ThreadsOverride { get; set; }

    private unsafe delegate void PartAction(int part, int from, int to);

    /// <summary>
    /// Runs <paramref name="action"/> over [0, items) cut into <paramref name="parts"/> contiguous ranges, on libtorch's
    /// threads (<see cref="ThreadTeam"/>).
    /// </summary>
    private static void Split(int parts, int items, PartAction action)
    {
        if (parts <= 1 || items < 2) { action(0, 0, items); return; }
        parts = Math.Min(parts, items);
        ThreadTeam.Run(parts, p => action(p, (int)((long)items * p / parts), (int)((long)items * (p + 1) / parts)));
    }

    /// <summary><c>y = x Wᵀ + b</c>, its columns in groups of four cut among <paramref name="parts"/> threads.</summary>
    private static unsafe void Product(float* x, float* w, float* bias, float* y, int m, int n, int k, int parts)
    {
        int groups = (n + 3) / 4;
        Split(parts, groups, (_, from, to) => DecodeProducts.Columns(x, w, bias, y, m, n, k, 4 * from, Math.Min(n, 4 * to)));
    }

    /// <summary>Root-mean-square norm of each row: x / sqrt(mean(x²) + eps) · w (16 lane sums, then their fixed-order total).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void RmsNorm(float* x, float* w, float* y, int rows, int width, float eps)
    {
        for (int r = 0; r < rows; r++)
        {
            float* xr = x + (long)r * width, yr = y + (long)r * width;
            var acc = Vector512<float>.Zero;
            for (int i = 0; i < width; i += 16)
            {
                var v = Vector512.Load(xr + i);
                acc = Vector512.FusedMultiplyAdd(v, v, acc);
            }
            float inv = 1f / MathF.Sqrt(Vector512.Sum(acc) / width + eps);
            var s = Vector512.Create(inv);
            for (int i = 0; i < width; i += 16) (Vector512.Load(w + i) * (Vector512.Load(xr + i) * s)).Store(yr + i);
        }
    }

    /// <summary>Rotate-half rotary embedding of one head in place: (x1, x2) → (x1·cos − x2·sin, x2·cos + x1·sin).</summary>
    private static unsafe void Rotate(float* x, float* cosSin, int half)
    {
        for (int i = 0; i < half; i++)
        {
            float cos = cosSin[i], sin = cosSin[half + i], a = x[i], b = x[half + i];
            x[i] = a * cos + -b * sin;
            x[half + i] = b * cos + a * sin;
        }
    }

    /// <summary>
    /// One query head against the first <paramref name="count"/> cached positions of its key/value head (those marked
    /// valid): scaled scores, a softmax, the weighted sum of values.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Attend(float* q, float* keys, float* values, byte* valid, int count, int d, float scale, float* scores, float* output)
    {
        // The scores are the products kernel's: the query as one row against the keys as weight rows (each score one
        // fixed-order sum, whichever keys are computed beside it).
        DecodeProducts.Columns(q, keys, null, scores, 1, count, d);

        // Softmax over the valid positions, sixteen at a time (positions past count, up to the next multiple of 16, are
        // padding the scratch holds room for): masked scores are −∞, so their weights are exactly 0.
        int padded = (count + 15) & ~15;
        int j;
        for (j = 0; j < count; j++) scores[j] = valid[j] != 0 ? scores[j] * scale : float.NegativeInfinity;
        for (; j < padded; j++) scores[j] = float.NegativeInfinity;
        var top = Vector512.Create(float.NegativeInfinity);
        for (j = 0; j < padded; j += 16) top = Vector512.Max(top, Vector512.Load(scores + j));
        var max = Vector512.Create(Horizontal(top));
        var total = Vector512<float>.Zero;
        for (j = 0; j < padded; j += 16)
        {
            var w = Vector512.Exp(Vector512.Load(scores + j) - max);
            w.Store(scores + j);
            total += w;
        }
        float sum = Vector512.Sum(total);
        // The weighted values: four accumulators (position j into accumulator j mod 4, so four chains of fused
        // multiply-adds run at once), summed in one fixed order; masked positions have weight 0 and add nothing.
        float inv = 1f / sum;
        for (int i = 0; i < d; i += 16)
        {
            Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
            float* v = values + i;
            for (j = 0; j + 4 <= count; j += 4, v += 4L * d)
            {
                a0 = Vector512.FusedMultiplyAdd(Vector512.Create(scores[j]), Vector512.Load(v), a0);
                a1 = Vector512.FusedMultiplyAdd(Vector512.Create(scores[j + 1]), Vector512.Load(v + d), a1);
                a2 = Vector512.FusedMultiplyAdd(Vector512.Create(scores[j + 2]), Vector512.Load(v + 2 * d), a2);
                a3 = Vector512.FusedMultiplyAdd(Vector512.Create(scores[j + 3]), Vector512.Load(v + 3 * d), a3);
            }
            for (; j < count; j++, v += d) a0 = Vector512.FusedMultiplyAdd(Vector512.Create(scores[j]), Vector512.Load(v), a0);
            ((a0 + a1 + (a2 + a3)) * inv).Store(output + i);
        }
    }

    /// <summary>The largest lane.</summary>
    private static float Horizontal(Vector512<float> v)
    {
        var m = Vector256.Max(v.GetLower(), v.GetUpper());
        var n = Vector128.Max(m.GetLower(), m.GetUpper());
        return Math.Max(Math.Max(n.GetElement(0), n.GetElement(1)), Math.Max(n.GetElement(2), n.GetElement(3)));
    }

    /// <summary>silu(gate) · up, elementwise: gate / (1 + e^(−gate)) · up.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void SiluTimes(float* gate, float* up, float* y, int width)
    {
        for (int i = 0; i < width; i += 16)
        {
            var v = Vector512.Load(gate + i);
            var silu = v / (Vector512<float>.One + Vector512.Exp(-v));
            (silu * Vector512.Load(up + i)).Store(y + i);
        }
    }

    private static unsafe void Add(float* x, float* y, int count)
    {
        for (int i = 0; i < count; i += 16) (Vector512.Load(x + i) + Vector512.Load(y + i)).Store(x + i);
    }
}
