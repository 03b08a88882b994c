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

    /// <summary>Allocates an uninitialised projection from <paramref name="inFeatures"/> to <paramref name="outFeatures"/> of <paramref name="dtype"/>.</summary>
    public Projection(long inFeatures, long outFeatures, bool hasBias, Device? device = null, ScalarType dtype = ScalarType.Float32)
        : this(torch.empty(outFeatures, inFeatures, dtype: dtype, device: device), hasBias ? torch.zeros(outFeatures, dtype: dtype, device: device) : null)
    {
    }

    /// <summary>
    /// A projection whose parameters alias <paramref name="weight"/> (out, in) and <paramref name="bias"/> (out): views
    /// of a larger block (<see cref="FusedProjections"/>) stay views, so writes to the parameters reach the block. The
    /// handles passed in are consumed.
    /// </summary>
    public Projection(Tensor weight, Tensor? bias) : base(nameof(Projection))
    {
        using (weight) this.weight = nn.Parameter(weight);   // the parameter aliases the tensor's storage; the handle passed in is freed
        if (bias is not null) using (bias) this.bias = nn.Parameter(bias);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor x) => DecodeProducts.Linear(x, weight, bias);
}
