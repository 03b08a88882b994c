using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace StepWiser.ML.Models;

/// <summary>
/// A linear layer <c>y = x Wᵀ + b</c> with Hugging Face parameter names (<c>weight</c>, <c>bias</c>).
/// Unlike <c>nn.Linear</c> it allocates without initialising, so a large checkpoint is not
/// randomly initialised before its weights are loaded, and it can be built on the meta device.
/// </summary>
internal sealed class Projection : nn.Module<Tensor, Tensor>
{
    /// <summary>(out, in) weight matrix.</summary>
    public readonly Parameter weight;

    /// <summary>Optional (out) bias.</summary>
    public readonly Parameter? bias;

    /// <summary>Allocates an uninitialised projection from <paramref name="inFeatures"/> to <paramref name="outFeatures"/>.</summary>
    public Projection(long inFeatures, long outFeatures, bool hasBias, Device? device = null) : base(nameof(Projection))
    {
        using (var w = torch.empty(outFeatures, inFeatures, device: device)) weight = nn.Parameter(w);   // the parameter aliases w's storage; w's own handle is freed
        if (hasBias) { using var b = torch.zeros(outFeatures, device: device); bias = nn.Parameter(b); }
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor x) => nn.functional.linear(x, weight, bias);
}
