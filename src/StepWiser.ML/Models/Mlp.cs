using TorchSharp;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace StepWiser.ML.Models;

/// <summary>SwiGLU feed-forward block: <c>down(silu(gate(x)) * up(x))</c>, no biases.</summary>
internal sealed class Mlp : nn.Module<Tensor, Tensor>
{
    [ComponentName(Name = "gate_proj")] private readonly Projection _gateProj;
    [ComponentName(Name = "up_proj")] private readonly Projection _upProj;
    [ComponentName(Name = "down_proj")] private readonly Projection _downProj;

    /// <summary>Allocates the three projections.</summary>
    public Mlp(ModelConfig config, Device? device = null) : base(nameof(Mlp))
    {
        _gateProj = new Projection(config.HiddenSize, config.IntermediateSize, false, device);
        _upProj = new Projection(config.HiddenSize, config.IntermediateSize, false, device);
        _downProj = new Projection(config.IntermediateSize, config.HiddenSize, false, device);
        RegisterComponents();
    }

    /// <summary>(B, T, hidden) → (B, T, hidden).</summary>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var gated = nn.functional.silu(_gateProj.forward(x)) * _upProj.forward(x);                  // (B, T, I)
        return _downProj.forward(gated).MoveToOuterDisposeScope();
    }
}
