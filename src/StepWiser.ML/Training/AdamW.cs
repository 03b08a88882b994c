using StepWiser.ML.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace StepWiser.ML.Training;

/// <summary>
/// AdamW with decoupled weight decay (Loshchilov &amp; Hutter), written out so that its whole state (step, both moments
/// of every parameter and, for low-precision parameters, the float32 master copy or its 16-bit rest) can be saved to and
/// restored from safetensors for exact resume. Norm weights and biases are not decayed. Parameters in bfloat16 or
/// float16 are updated as <see cref="Precision"/> says (float32 master weights by default); float32 parameters are
/// updated in float32 in every mode.
/// </summary>
public sealed class AdamW : IDisposable
{
    /// <summary>
    /// Elements updated at a time: a larger parameter (an embedding of 150,000 × 3,584) is updated in slices of whole
    /// rows of at most this many elements, so the float32 temporaries of an update stay a few times 64 MB.
    /// </summary>
    public const long SliceElements = 1L << 24;

    private readonly (string Name, Parameter Param, bool Decay)[] _params;
    private readonly Dictionary<string, State> _state = new(StringComparer.Ordinal);

    /// <summary>First-moment decay.</summary>
    public double Beta1 { get; init; } = 0.9;

    /// <summary>Second-moment decay.</summary>
    public double Beta2 { get; init; } = 0.95;

    /// <summary>Denominator epsilon.</summary>
    public double Eps { get; init; } = 1e-8;

    /// <summary>Decoupled weight decay of matrices.</summary>
    public double WeightDecay { get; init; } = 0.01;

    /// <summary>How low-precision parameters are updated (default <see cref="OptimizerPrecision.MasterWeights"/>).</summary>
    public OptimizerPrecision Precision { get; init; } = OptimizerPrecision.MasterWeights;

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
        using var k = new StepScalars(this, lr, bc1, bc2);
        foreach (var (name, p, decay) in _params)
        {
            using var grad = p.grad;
            if (grad is null) continue;
            var state = StateOf(name, p);
            long rows = p.dim() == 0 ? 1 : p.shape[0], perRow = Math.Max(1, p.NumberOfElements / Math.Max(1, rows));
            long sliceRows = Math.Max(1, SliceElements / perRow);
            for (long start = 0; start < rows; start += sliceRows)
            {
                using var scope = NewDisposeScope();
                bool whole = sliceRows >= rows;
                Tensor Slice(Tensor t) => whole ? t : t.narrow(0, start, Math.Min(sliceRows, rows - start));
                var slice = new Slices(Slice(p), Slice(grad), Slice(state.M), Slice(state.V),
                    state.Master is null ? null : Slice(state.Master), state.Rest is null ? null : Slice(state.Rest));
                if (slice.Rest is not null) SplitStep(slice, decay, k);
                else AdamStep(slice, decay, k);
            }
        }
    }

    /// <summary>The plain step on the float32 master copy (or on the parameter itself), cast back when there is a master copy.</summary>
    private void AdamStep(Slices s, bool decay, StepScalars k)
    {
        var target = s.Master ?? s.Param;
        var g = s.Master is null ? s.Grad : s.Grad.to(ScalarType.Float32);
        if (decay && WeightDecay > 0) target.mul_(k.Decay);
        s.M.mul_(k.Beta1).add_(g, alpha: k.OneMinusBeta1);
        s.V.mul_(k.Beta2).addcmul_(g, g, value: k.OneMinusBeta2);
        var denom = s.V.sqrt().div_(k.SqrtBc2).PlusInPlace(k.Eps);
        target.addcdiv_(s.M, denom, value: k.Step);
        if (s.Master is not null) s.Param.copy_(s.Master);
    }

    /// <summary>
    /// The step on a float32 master rebuilt from the bfloat16 parameter (its upper half) and the 16-bit rest, with
    /// bfloat16 moments; the new master is split again: the parameter is it truncated to bfloat16, the rest
    /// (|master − parameter| in units of the master's last float32 bit, less 2¹⁵) fits 16 bits exactly.
    /// </summary>
    private void SplitStep(Slices s, bool decay, StepScalars k)
    {
        var upper = s.Param.to(ScalarType.Float32);
        var master = upper.Plus(upper.sign() * s.Rest!.to(ScalarType.Float32).PlusInPlace(k.RestOffset) * LastBit(upper));
        var g = s.Grad.to(ScalarType.Float32);
        var m = s.M.to(ScalarType.Float32).mul_(k.Beta1).add_(g, alpha: k.OneMinusBeta1);
        var v = s.V.to(ScalarType.Float32).mul_(k.Beta2).addcmul_(g, g, value: k.OneMinusBeta2);
        s.M.copy_(m);
        s.V.copy_(v);
        if (decay && WeightDecay > 0) master.mul_(k.Decay);
        master.addcdiv_(m, v.sqrt_().div_(k.SqrtBc2).PlusInPlace(k.Eps), value: k.Step);
        // Truncation toward zero keeps the master's binade, so the rest is a whole number of its last bits below 2¹⁶.
        var nearest = master.to(s.Param.dtype);
        var truncated = where(nearest.to(ScalarType.Float32).abs() > master.abs(), nearest.nextafter(zeros_like(nearest)), nearest);
        s.Param.copy_(truncated);
        upper = truncated.to(ScalarType.Float32);
        s.Rest!.copy_(master.sub_(upper).abs_().div_(LastBit(upper)).sub_(k.RestOffset));
    }

    /// <summary>The rest of a split master is stored less this offset, so 0 … 2¹⁶ − 1 fits a signed 16-bit integer.</summary>
    private const double RestOffset = 32768;

    /// <summary>One update's scalar arguments, made once and alive until its last native call (see <see cref="Models.KeptScalars"/>).</summary>
    private sealed class StepScalars(AdamW o, double lr, double bc1, double bc2) : IDisposable
    {
        public Scalar Decay { get; } = (1 - lr * o.WeightDecay).ToScalar();
        public Scalar Beta1 { get; } = o.Beta1.ToScalar();
        public Scalar OneMinusBeta1 { get; } = (1 - o.Beta1).ToScalar();
        public Scalar Beta2 { get; } = o.Beta2.ToScalar();
        public Scalar OneMinusBeta2 { get; } = (1 - o.Beta2).ToScalar();
        public Scalar SqrtBc2 { get; } = Math.Sqrt(bc2).ToScalar();
        public Scalar Eps { get; } = o.Eps.ToScalar();
        public Scalar Step { get; } = (-lr / bc1).ToScalar();
        public Scalar RestOffset { get; } = AdamW.RestOffset.ToScalar();

        public void Dispose()
        {
            foreach (var s in new[] { Decay, Beta1, OneMinusBeta1, Beta2, OneMinusBeta2, SqrtBc2, Eps, Step, RestOffset }) s.Dispose();
        }
    }

    /// <summary>The value of the last bit of a float32 significand in the binade of each element: 2^(exponent − 24).</summary>
    private static Tensor LastBit(Tensor wide)
    {
        var (_, exponent) = wide.frexp();
        using var bits = FloatSignificandBits.ToScalar();   // kept through the call (KeptScalars)
        return ldexp(ones_like(wide), exponent.sub(bits));
    }

    private const int FloatSignificandBits = 24;

    private State StateOf(string name, Parameter p)
    {
        if (_state.TryGetValue(name, out var state)) return state;
        var (momentType, master, split) = Layout(p);
        state = new State(zeros_like(p, dtype: momentType).DetachFromDisposeScope(), zeros_like(p, dtype: momentType).DetachFromDisposeScope(),
            master ? MasterOf(p) : null, split ? EmptyRest(p) : null);
        _state[name] = state;
        return state;
    }

    /// <summary>A float32 copy of <paramref name="p"/>.</summary>
    private static Tensor MasterOf(Parameter p)
    {
        using var detached = p.detach();
        return detached.to(ScalarType.Float32).DetachFromDisposeScope();
    }

    /// <summary>The rest of a master equal to its bfloat16 parameter: zero, stored less the offset.</summary>
    private static Tensor EmptyRest(Parameter p) => full_like(p, -RestOffset, dtype: ScalarType.Int16).DetachFromDisposeScope();

    /// <summary>The moments' type and whether <paramref name="p"/> gets a float32 master copy or a split master's 16-bit rest.</summary>
    private (ScalarType Moments, bool Master, bool Split) Layout(Parameter p)
    {
        if (p.dtype is ScalarType.Float32 or ScalarType.Float64 || Precision == OptimizerPrecision.ParameterType) return (p.dtype, false, false);
        if (Precision == OptimizerPrecision.MasterWeights) return (ScalarType.Float32, true, false);
        // Split: bfloat16 moments (even for float16 parameters: float16's range would flush small squared gradients to zero).
        return (ScalarType.BFloat16, p.dtype != ScalarType.BFloat16, p.dtype == ScalarType.BFloat16);
    }

    /// <summary>
    /// The state as named tensors for saving: <c>exp_avg.NAME</c> and <c>exp_avg_sq.NAME</c>, and <c>master.NAME</c> or
    /// <c>master_rest.NAME</c> (a split master's 16-bit rest) for low-precision parameters.
    /// </summary>
    public IReadOnlyList<(string Name, Tensor Tensor)> StateTensors() =>
        _state.OrderBy(kv => kv.Key, StringComparer.Ordinal).SelectMany(kv =>
        {
            var list = new List<(string, Tensor)> { ($"exp_avg.{kv.Key}", kv.Value.M), ($"exp_avg_sq.{kv.Key}", kv.Value.V) };
            if (kv.Value.Master is { } master) list.Add(($"master.{kv.Key}", master));
            if (kv.Value.Rest is { } rest) list.Add(($"master_rest.{kv.Key}", rest));
            return list;
        }).ToArray();

    /// <summary>
    /// Restores the state saved by <see cref="StateTensors"/> at update count <paramref name="step"/>. A master copy
    /// missing from the file is taken from the parameter, a missing rest is zero (the master equals the parameter).
    /// </summary>
    public void LoadState(Models.SafeTensorsFile file, long step)
    {
        Step = step;
        foreach (var (name, p, _) in _params)
        {
            if (!file.Entries.ContainsKey($"exp_avg.{name}")) continue;
            var (momentType, master, split) = Layout(p);
            Tensor Read(string key, ScalarType type) => file.Read(key, type).to(p.device).DetachFromDisposeScope();
            var loaded = new State(Read($"exp_avg.{name}", momentType), Read($"exp_avg_sq.{name}", momentType),
                !master ? null : file.Entries.ContainsKey($"master.{name}") ? Read($"master.{name}", ScalarType.Float32) : MasterOf(p),
                !split ? null : file.Entries.ContainsKey($"master_rest.{name}") ? Read($"master_rest.{name}", ScalarType.Int16) : EmptyRest(p));
            if (_state.Remove(name, out var old)) old.Dispose();
            _state[name] = loaded;
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var state in _state.Values) state.Dispose();
        _state.Clear();
    }

    private sealed record State(Tensor M, Tensor V, Tensor? Master, Tensor? Rest) : IDisposable
    {
        public void Dispose()
        {
            M.Dispose();
            V.Dispose();
            Master?.Dispose();
            Rest?.Dispose();
        }
    }

    private sealed record Slices(Tensor Param, Tensor Grad, Tensor M, Tensor V, Tensor? Master, Tensor? Rest);
}
