using TorchSharp;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace StepWiser.ML.Models;

/// <summary>One pre-norm transformer block: attention and SwiGLU MLP, each with a residual connection.</summary>
internal sealed class DecoderLayer : nn.Module
{
    [ComponentName(Name = "self_attn")] private readonly Attention _selfAttn;
    [ComponentName(Name = "mlp")] private readonly Mlp _mlp;
    [ComponentName(Name = "input_layernorm")] private readonly RmsNorm _inputLayerNorm;
    [ComponentName(Name = "post_attention_layernorm")] private readonly RmsNorm _postAttentionLayerNorm;

    /// <summary>Allocates layer <paramref name="layerIndex"/>.</summary>
    public DecoderLayer(ModelConfig config, int layerIndex, Device? device, ScalarType dtype) : base(nameof(DecoderLayer))
    {
        _selfAttn = new Attention(config, layerIndex, device, dtype);
        _mlp = new Mlp(config, device, dtype);
        _inputLayerNorm = new RmsNorm(config.HiddenSize, config.RmsNormEps, device, dtype);
        _postAttentionLayerNorm = new RmsNorm(config.HiddenSize, config.RmsNormEps, device, dtype);
        RegisterComponents();
    }

    /// <summary>(B, T, hidden) → (B, T, hidden); see <see cref="Attention.Forward"/> for the mask and cache.</summary>
    public Tensor Forward(Tensor x, Tensor cos, Tensor sin, Tensor? mask, KvCache? cache)
    {
        using var scope = NewDisposeScope();
        var h = x.Plus(_selfAttn.Forward(_inputLayerNorm.forward(x), cos, sin, mask, cache));   // kept scalars: KeptScalars
        var output = h.Plus(_mlp.forward(_postAttentionLayerNorm.forward(h)));
        return output.MoveToOuterDisposeScope();
    }

    /// <summary>The attention block.</summary>
    public Attention SelfAttention => _selfAttn;

    /// <summary>The MLP block.</summary>
    public Mlp FeedForward => _mlp;

    /// <summary>The norm before attention.</summary>
    public RmsNorm InputNorm => _inputLayerNorm;

    /// <summary>The norm before the MLP.</summary>
    public RmsNorm PostAttentionNorm => _postAttentionLayerNorm;

    /// <summary>Re-fuses q/k/v and gate/up after a move (<see cref="FusedProjections.Rebind"/>).</summary>
    public void RebindFused()
    {
        _selfAttn.RebindFused();
        _mlp.RebindFused();
    }

    /// <summary>Whether inference uses the fused q/k/v and gate/up products.</summary>
    public bool IsFused => _selfAttn.IsFused && _mlp.IsFused;
}
