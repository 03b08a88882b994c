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
    private readonly FusedProjections _gateUp;   // gate_proj and up_proj are views of its block

    /// <summary>Allocates the three projections.</summary>
    public Mlp(ModelConfig config, Device? device, ScalarType dtype) : base(nameof(Mlp))
    {
        _gateUp = new FusedProjections(config.HiddenSize, [config.IntermediateSize, config.IntermediateSize], false, device, dtype);
        (_gateProj, _upProj) = (_gateUp.Parts[0], _gateUp.Parts[1]);
        _downProj = new Projection(config.IntermediateSize, config.HiddenSize, false, device, dtype);
        RegisterComponents();
    }

    /// <summary>(B, T, hidden) → (B, T, hidden).</summary>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        Tensor gated;
        if (!is_grad_enabled() && _gateUp.IsCurrent)
        {
            // Inference: one product for gate and up (the same values as two; FusedProjections). The gate is made
            // contiguous first: SiLU's vectorised exponential rounds differently on a strided view than on the contiguous
            // tensor training sees (measured: up to 2e-7 on the Tiny shapes); the product with up is exact either way.
            var gateUp = _gateUp.Forward(x);                                                          // (B, T, 2I)
            long i = _gateUp.Widths[0];
            gated = nn.functional.silu(gateUp.narrow(-1, 0, i).contiguous()) * gateUp.narrow(-1, i, i);   // (B, T, I)
        }
        else
        {
            gated = nn.functional.silu(_gateProj.forward(x)) * _upProj.forward(x);                   // (B, T, I)
        }
        return _downProj.forward(gated).MoveToOuterDisposeScope();
    }

    /// <summary>The fused gate/up projections.</summary>
    public FusedProjections GateUp => _gateUp;

    /// <summary>down_proj's (hidden, intermediate) weight.</summary>
    public Tensor Down => _downProj.weight;

    /// <summary>Points gate/up at a new fused block after a move replaced them (<see cref="FusedProjections.Rebind"/>).</summary>
    public void RebindFused() => _gateUp.Rebind();

    /// <summary>Whether inference uses the fused gate/up product.</summary>
    public bool IsFused => _gateUp.IsCurrent;

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing) _gateUp.Dispose();
        base.Dispose(disposing);
    }
}
