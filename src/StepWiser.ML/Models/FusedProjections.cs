using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace StepWiser.ML.Models;

/// <summary>
/// Projections of one input (an attention layer's q/k/v, an MLP's gate/up) stored as row blocks of one weight matrix,
/// so that inference computes them with one matrix product instead of one each. Every projection keeps its own
/// parameters under its Hugging Face name, as views of the block: loading, initialisation and optimiser updates write
/// through to it, and checkpoints save the separate tensors. Training (gradients enabled) runs the projections
/// separately, so its gradients are exactly those of separate layers; without gradients the fused product gives the
/// same values (bit for bit on the CPU: a matrix product's columns do not depend on the other columns, tested in
/// FusedProjectionTests). A move to another device or type replaces the parameters; <see cref="Rebind"/> then makes a
/// new block of them, and until it has, <see cref="IsCurrent"/> is false and callers use the separate projections.
/// </summary>
internal sealed class FusedProjections : IDisposable
{
    private readonly Projection[] _parts;
    private readonly long[] _widths;
    private Tensor _weight;
    private Tensor? _bias;
    private Parameter[] _boundWeights;
    private Parameter?[] _boundBiases;

    /// <summary>Allocates uninitialised projections from <paramref name="inFeatures"/> to each of <paramref name="outFeatures"/>, as one block of <paramref name="dtype"/>.</summary>
    public FusedProjections(long inFeatures, long[] outFeatures, bool hasBias, Device? device, ScalarType dtype)
    {
        _widths = outFeatures;
        _weight = empty(outFeatures.Sum(), inFeatures, dtype: dtype, device: device);
        _bias = hasBias ? zeros(outFeatures.Sum(), dtype: dtype, device: device) : null;
        _parts = new Projection[outFeatures.Length];
        for (long i = 0, offset = 0; i < outFeatures.Length; offset += outFeatures[i], i++)
            _parts[i] = new Projection(_weight.narrow(0, offset, outFeatures[i]), _bias?.narrow(0, offset, outFeatures[i]));
        (_boundWeights, _boundBiases) = Bound();
    }

    /// <summary>The projections, in the order of the block's rows.</summary>
    public IReadOnlyList<Projection> Parts => _parts;

    /// <summary>The width of each projection's output, in order.</summary>
    public IReadOnlyList<long> Widths => _widths;

    /// <summary>Whether every projection's parameters are still the views of the block (not replaced by a move).</summary>
    public bool IsCurrent
    {
        get
        {
            for (var i = 0; i < _parts.Length; i++)
                if (!ReferenceEquals(_parts[i].weight, _boundWeights[i]) || !ReferenceEquals(_parts[i].bias, _boundBiases[i])) return false;
            return true;
        }
    }

    /// <summary>The block's weight (sum of the widths, in) and bias, the parts' rows side by side.</summary>
    public (Tensor Weight, Tensor? Bias) Block => (_weight, _bias);

    /// <summary>All projections of <paramref name="x"/> (…, in) at once: (…, sum of the widths), the parts side by side.</summary>
    public Tensor Forward(Tensor x) => DecodeProducts.Linear(x, _weight, _bias);

    /// <summary>
    /// Makes a new block of the projections' current parameters and points the parameters at it (same values, same
    /// parameter objects). Called after a move to another device or type, which replaces the parameters.
    /// </summary>
    public void Rebind()
    {
        using var noGrad = no_grad();
        var weight = cat(_parts.Select(p => (Tensor)p.weight).ToArray(), 0);
        var bias = _bias is null ? null : cat(_parts.Select(p => (Tensor)p.bias!).ToArray(), 0);
        for (long i = 0, offset = 0; i < _parts.Length; offset += _widths[i], i++)
        {
            using (var view = weight.narrow(0, offset, _widths[i])) _parts[i].weight.set_(view);
            if (bias is not null) using (var view = bias.narrow(0, offset, _widths[i])) _parts[i].bias!.set_(view);
        }
        _weight.Dispose();
        _bias?.Dispose();
        (_weight, _bias) = (weight, bias);
        (_boundWeights, _boundBiases) = Bound();
    }

    private (Parameter[], Parameter?[]) Bound() => (_parts.Select(p => p.weight).ToArray(), _parts.Select(p => p.bias).ToArray());

    /// <inheritdoc />
    public void Dispose()
    {
        _weight.Dispose();
        _bias?.Dispose();
    }
}
