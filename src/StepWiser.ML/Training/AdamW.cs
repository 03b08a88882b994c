using TorchSharp.Modules;
using static TorchSharp.torch;

namespace StepWiser.ML.Training;

/// <summary>
/// AdamW with decoupled weight decay (Loshchilov &amp; Hutter), written out so that its whole state (step and both
/// moments of every parameter) can be saved to and restored from safetensors for exact resume.
/// Norm weights and biases are not decayed.
/// </summary>
public sealed class AdamW : IDisposable
{
    private readonly (string Name, Parameter Param, bool Decay)[] _params;
    private readonly Dictionary<string, (Tensor M, Tensor V)> _moments = new(StringComparer.Ordinal);

    /// <summary>First-moment decay.</summary>
    public double Beta1 { get; init; } = 0.9;

    /// <summary>Second-moment decay.</summary>
    public double Beta2 { get; init; } = 0.95;

    /// <summary>Denominator epsilon.</summary>
    public double Eps { get; init; } = 1e-8;

    /// <summary>Decoupled weight decay of matrices.</summary>
    public double WeightDecay { get; init; } = 0.01;

    /// <summary>Number of updates taken.</summary>
    public long Step { get; private set; }

    /// <summary>Optimises the given named parameters.</summary>
    public AdamW(IEnumerable<(string Name, Parameter Param)> parameters)
    {
        _params = parameters.Where(p => p.Param.requires_grad)
            .Select(p => (p.Name, p.Param, Decay: p.Param.dim() >= 2 && !p.Name.EndsWith("norm.weight", StringComparison.Ordinal)))
            .ToArray();
    }

    /// <summary>Parameters that receive updates.</summary>
    public IEnumerable<Parameter> Parameters => _params.Select(p => p.Param);

    /// <summary>Clears the gradients.</summary>
    public void ZeroGrad()
    {
        foreach (var (_, p, _) in _params) p.grad?.zero_();
    }

    /// <summary>Applies one update with learning rate <paramref name="lr"/>.</summary>
    public void Update(double lr)
    {
        Step++;
        double bc1 = 1 - Math.Pow(Beta1, Step), bc2 = 1 - Math.Pow(Beta2, Step);
        using var noGrad = no_grad();
        foreach (var (name, p, decay) in _params)
        {
            var g = p.grad;
            if (g is null) continue;
            if (!_moments.TryGetValue(name, out var state))
            {
                state = (zeros_like(p).DetachFromDisposeScope(), zeros_like(p).DetachFromDisposeScope());
                _moments[name] = state;
            }
            if (decay && WeightDecay > 0) p.mul_(1 - lr * WeightDecay);
            state.M.mul_(Beta1).add_(g, alpha: 1 - Beta1);
            state.V.mul_(Beta2).addcmul_(g, g, value: 1 - Beta2);
            using var denom = state.V.sqrt().div_(Math.Sqrt(bc2)).add_(Eps);
            p.addcdiv_(state.M, denom, value: -lr / bc1);
        }
    }

    /// <summary>The state as named tensors (<c>exp_avg.NAME</c>, <c>exp_avg_sq.NAME</c>) for saving.</summary>
    public IReadOnlyList<(string Name, Tensor Tensor)> StateTensors() =>
        _moments.OrderBy(kv => kv.Key, StringComparer.Ordinal)
            .SelectMany(kv => new[] { ($"exp_avg.{kv.Key}", kv.Value.M), ($"exp_avg_sq.{kv.Key}", kv.Value.V) }).ToArray();

    /// <summary>Restores the state saved by <see cref="StateTensors"/> at update count <paramref name="step"/>.</summary>
    public void LoadState(Models.SafeTensorsFile file, long step)
    {
        Step = step;
        foreach (var (name, p, _) in _params)
        {
            if (!file.Entries.ContainsKey($"exp_avg.{name}")) continue;
            var m = file.Read($"exp_avg.{name}", p.dtype).to(p.device).DetachFromDisposeScope();
            var v = file.Read($"exp_avg_sq.{name}", p.dtype).to(p.device).DetachFromDisposeScope();
            if (_moments.Remove(name, out var old)) { old.M.Dispose(); old.V.Dispose(); }
            _moments[name] = (m, v);
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var (m, v) in _moments.Values) { m.Dispose(); v.Dispose(); }
        _moments.Clear();
    }
}
