using TorchSharp;
using static TorchSharp.torch;

namespace StepWiser.ML.Models;

/// <summary>Root-mean-square layer norm, computed in float32 whatever the weight dtype.</summary>
internal sealed class RmsNorm : nn.Module<Tensor, Tensor>
{
    private readonly Scalar _eps;   // a Scalar kept alive through the native call (KeptScalars)

    /// <summary>Scale vector, named <c>weight</c> as in Hugging Face checkpoints.</summary>
    public readonly TorchSharp.Modules.Parameter weight;

    /// <summary>Creates the norm for vectors of width <paramref name="size"/>, its weight (ones) of <paramref name="dtype"/>.</summary>
    public RmsNorm(long size, double eps, Device? device = null, ScalarType dtype = ScalarType.Float32) : base(nameof(RmsNorm))
    {
        _eps = eps.ToScalar();
        using (var w = torch.ones(size, dtype: dtype, device: device)) weight = nn.Parameter(w);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var wide = x.dtype == ScalarType.Float32;                                                    // no conversion calls for fp32
        var x32 = wide ? x : x.to(ScalarType.Float32);
        var variance = x32.pow(KeptScalars.Two).mean([-1L], keepdim: true);
        var normed = x32 * torch.rsqrt(variance.Plus(_eps));
        if (!wide) normed = normed.to(x.dtype);
        return (weight * normed).MoveToOuterDisposeScope();
    }
}
