using TorchSharp;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace StepWiser.ML.Models;

/// <summary>
/// Grouped-query self-attention with rotary embeddings: each key/value head serves
/// <c>heads / kvHeads</c> consecutive query heads. q/k/v biases as the config says; o_proj without bias (Qwen2); for
/// Qwen3, each query and key head RMS-normed (<c>q_norm</c>, <c>k_norm</c>) before the rotary embedding.
/// </summary>
internal sealed class Attention : nn.Module
{
    private readonly ModelConfig _config;
    private readonly int _layerIndex;

    [ComponentName(Name = "q_proj")] private readonly Projection _qProj;
    [ComponentName(Name = "k_proj")] private readonly Projection _kProj;
    [ComponentName(Name = "v_proj")] private readonly Projection _vProj;
    [ComponentName(Name = "o_proj")] private readonly Projection _oProj;
    [ComponentName(Name = "q_norm")] private readonly RmsNorm? _qNorm;
    [ComponentName(Name = "k_norm")] private readonly RmsNorm? _kNorm;
    private readonly FusedProjections _qkv;   // q_proj, k_proj and v_proj are views of its block

    /// <summary>Allocates the projections of layer <paramref name="layerIndex"/>.</summary>
    public Attention(ModelConfig config, int layerIndex, Device? device, ScalarType dtype) : base(nameof(Attention))
    {
        _config = config;
        _layerIndex = layerIndex;
        int h = config.NumAttentionHeads, kv = config.KeyValueHeads, d = config.HeadDim;
        _qkv = new FusedProjections(config.HiddenSize, [h * d, kv * d, kv * d], config.QkvBias, device, dtype);
        (_qProj, _kProj, _vProj) = (_qkv.Parts[0], _qkv.Parts[1], _qkv.Parts[2]);
        _oProj = new Projection(h * d, config.HiddenSize, config.OutputBias, device, dtype);
        if (config.QueryKeyNorm)
        {
            _qNorm = new RmsNorm(d, config.RmsNormEps, device, dtype);
            _kNorm = new RmsNorm(d, config.RmsNormEps, device, dtype);
        }
        RegisterComponents();
    }

    /// <summary>
    /// (B, T, hidden) → (B, T, hidden). <paramref name="mask"/> is a boolean "may attend" mask over all L = cached + T
    /// key positions, already tiled for the folded query heads: (B, 1, G·T, L) with G = heads / kv heads (the
    /// (B, 1, T, L) mask repeated G times along its third axis), or null for plain causal attention without cache (training);
    /// a floating-point mask is additive (0 or −∞) and selects the decode-step path.
    /// </summary>
    public Tensor Forward(Tensor x, Tensor cos, Tensor sin, Tensor? mask, KvCache? cache)
    {
        using var scope = NewDisposeScope();
        long b = x.shape[0], t = x.shape[1];
        int h = _config.NumAttentionHeads, kv = _config.KeyValueHeads, d = _config.HeadDim, groups = h / kv;

        Tensor q, k, v;
        if (!is_grad_enabled() && _qkv.IsCurrent)
        {
            // Inference: one product for q, k and v (the same values as three; FusedProjections), and one rotary
            // embedding for the adjacent q and k heads (elementwise, so the same values as two; a batch-1 decode step
            // pays a few microseconds for each of its ~300 small calls). What follows works on views of the product.
            var qkv = _qkv.Forward(x);                                                                // (B, T, (H + 2 KV)*D)
            var qkHeads = qkv.narrow(2, 0, (h + kv) * d).view(b, t, h + kv, d);                        // (B, T, H + KV, D)
            if (_qNorm is not null && _kNorm is not null)
                qkHeads = cat([_qNorm.forward(qkHeads.narrow(2, 0, h)), _kNorm.forward(qkHeads.narrow(2, h, kv))], 2);   // (B, T, H + KV, D)
            var qk = RotaryEmbedding.Apply(qkHeads.transpose(1, 2), cos, sin);                         // (B, H + KV, T, D)
            q = qk.narrow(1, 0, h);                                                                   // (B, H, T, D)
            k = qk.narrow(1, h, kv);                                                                  // (B, KV, T, D)
            v = qkv.narrow(2, (h + kv) * d, kv * d).view(b, t, kv, d).transpose(1, 2);               // (B, KV, T, D)
        }
        else
        {
            q = _qProj.forward(x).view(b, t, h, d);                                                   // (B, T, H*D) -> (B, T, H, D)
            k = _kProj.forward(x).view(b, t, kv, d);                                                  // (B, T, KV*D) -> (B, T, KV, D)
            if (_qNorm is not null && _kNorm is not null) (q, k) = (_qNorm.forward(q), _kNorm.forward(k));
            q = q.transpose(1, 2);                                                                    // (B, H, T, D)
            k = k.transpose(1, 2);                                                                    // (B, KV, T, D)
            v = _vProj.forward(x).view(b, t, kv, d).transpose(1, 2);                                 // (B, T, KV*D) -> (B, KV, T, D)
            q = RotaryEmbedding.Apply(q, cos, sin);
            k = RotaryEmbedding.Apply(k, cos, sin);
        }
        if (cache is not null) (k, v) = cache.Update(_layerIndex, k, v);                            // (B, KV, L, D)

        Tensor attended;
        if (mask is null)
        {
            if (groups > 1)
            {
                k = k.repeat_interleave(groups, dim: 1);                                              // (B, KV, T, D) -> (B, H, T, D)
                v = v.repeat_interleave(groups, dim: 1);
            }
            attended = nn.functional.scaled_dot_product_attention(q, k, v, is_casual: true);      // (B, H, T, D)
        }
        else if (mask.dtype != ScalarType.Bool)
        {
            // A decode step: the additive (B, 1, G, L) mask of DecoderModel, products and softmax written out. The same
            // math to rounding. On CPU, once torch's thread count has been set explicitly (set_num_threads, TorchThreads.Pin),
            // libtorch's scaled_dot_product_attention takes 2-3x as long at 16-64 rows of a few queries; these products do
            // not (in the default thread state the two are within noise; lab/benchmarks.md).
            var qFolded = q.reshape(b, kv, groups * t, d);                                             // (B, KV, G*T, D)
            using var scale = (1.0 / Math.Sqrt(d)).ToScalar();                                        // kept through the call (KeptScalars)
            var scores = qFolded.matmul(k.transpose(2, 3)).mul_(scale).PlusInPlace(mask);             // (B, KV, G*T, L)
            // Half-precision weights: the softmax in float32, as fused attention kernels accumulate it.
            var weights = scores.dtype == ScalarType.Float32 ? scores.softmax(-1) : scores.softmax(-1, ScalarType.Float32).to(v.dtype);
            attended = weights.matmul(v).view(b, h, t, d);                                            // (B, KV, G*T, D) -> (B, H, T, D)
        }
        else
        {
            // Fold the query heads of one kv head into the query axis so keys and values are never copied:
            // (B, H, T, D) -> (B, KV, G*T, D); the mask comes tiled to (B, 1, G*T, L) (DecoderModel does it once).
            var qFolded = q.reshape(b, kv, groups * t, d);
            attended = nn.functional.scaled_dot_product_attention(qFolded, k, v, mask)
                .view(b, h, t, d);                                                                    // (B, KV, G*T, D) -> (B, H, T, D)
        }
        var merged = attended.transpose(1, 2).reshape(b, t, h * d);                                   // (B, H, T, D) -> (B, T, H*D)
        return _oProj.forward(merged).MoveToOuterDisposeScope();
    }

    /// <summary>The fused q/k/v projections.</summary>
    public FusedProjections Qkv => _qkv;

    /// <summary>The Qwen3 query and key norms' (D) weights, or nulls for models without them.</summary>
    public (Tensor? Query, Tensor? Key) HeadNorms => (_qNorm?.weight, _kNorm?.weight);

    /// <summary>o_proj's weight (hidden, heads·D) and bias.</summary>
    public (Tensor Weight, Tensor? Bias) Output => (_oProj.weight, _oProj.bias);

    /// <summary>Points q/k/v at a new fused block after a move replaced them (<see cref="FusedProjections.Rebind"/>).</summary>
    public void RebindFused() => _qkv.Rebind();

    /// <summary>Whether inference uses the fused q/k/v product.</summary>
    public bool IsFused => _qkv.IsCurrent;

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing) _qkv.Dispose();
        base.Dispose(disposing);
    }
}
