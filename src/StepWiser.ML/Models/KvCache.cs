using static TorchSharp.torch;

namespace StepWiser.ML.Models;

/// <summary>
/// Pre-allocated key/value cache for a batch of sequences: per layer, keys and values of shape
/// (B, kvHeads, capacity, headDim), plus a (B, capacity) mask of which positions hold real tokens
/// (left padding and rows that were forked share the same slots). Owned by one generation call.
/// </summary>
public sealed class KvCache : IDisposable
{
    private Tensor[] _keys;
    private Tensor[] _values;
    private Tensor _valid;

    /// <summary>Number of filled positions (the same for every row).</summary>
    public int Length { get; private set; }

    /// <summary>Number of positions allocated.</summary>
    public int Capacity { get; }

    /// <summary>Number of rows (sequences).</summary>
    public long BatchSize => _valid.shape[0];

    /// <summary>(B, capacity) boolean mask: true where a real token sits.</summary>
    public Tensor Valid => _valid;

    /// <summary>Allocates an empty cache.</summary>
    public KvCache(ModelConfig config, long batchSize, int capacity, Device device, ScalarType dtype)
    {
        Capacity = capacity;
        _keys = new Tensor[config.NumHiddenLayers];
        _values = new Tensor[config.NumHiddenLayers];
        for (int i = 0; i < config.NumHiddenLayers; i++)
        {
            _keys[i] = zeros([batchSize, config.KeyValueHeads, capacity, config.HeadDim], dtype: dtype, device: device).DetachFromDisposeScope();
            _values[i] = zeros([batchSize, config.KeyValueHeads, capacity, config.HeadDim], dtype: dtype, device: device).DetachFromDisposeScope();
        }
        _valid = zeros([batchSize, capacity], dtype: ScalarType.Bool, device: device).DetachFromDisposeScope();
    }

    /// <summary>
    /// Writes (B, kvHeads, T, D) keys and values of <paramref name="layer"/> at positions [Length, Length+T)
    /// and returns views of everything filled so far, (B, kvHeads, Length+T, D).
    /// </summary>
    public (Tensor Keys, Tensor Values) Update(int layer, Tensor keys, Tensor values)
    {
        long t = keys.shape[2];
        if (Length + t > Capacity) throw new InvalidOperationException($"KV cache overflow: {Length} + {t} > capacity {Capacity}.");
        _keys[layer].narrow(2, Length, t).copy_(keys);
        _values[layer].narrow(2, Length, t).copy_(values);
        return (_keys[layer].narrow(2, 0, Length + t), _values[layer].narrow(2, 0, Length + t));
    }

    /// <summary>Layer <paramref name="layer"/>'s whole (B, kvHeads, capacity, D) key buffer (the managed decode step writes it in place).</summary>
    internal Tensor KeysOf(int layer) => _keys[layer];

    /// <summary>Layer <paramref name="layer"/>'s whole (B, kvHeads, capacity, D) value buffer.</summary>
    internal Tensor ValuesOf(int layer) => _values[layer];

    /// <summary>Marks which of the next T positions hold real tokens ((B, T) boolean) before a forward pass.</summary>
    public void MarkValid(Tensor validNext)
    {
        _valid.narrow(1, Length, validNext.shape[1]).copy_(validNext);
    }

    /// <summary>Advances the fill pointer after every layer has written T positions.</summary>
    public void Advance(int t) => Length += t;

    /// <summary>
    /// Keeps and reorders rows: row i of the new cache is row <paramref name="rows"/>[i] of the old one.
    /// Used to fork a computed prompt into k samples and to drop finished sequences.
    /// </summary>
    public void SelectRows(Tensor rows)
    {
        for (int i = 0; i < _keys.Length; i++)
        {
            var k = _keys[i].index_select(0, rows).DetachFromDisposeScope();
            var v = _values[i].index_select(0, rows).DetachFromDisposeScope();
            _keys[i].Dispose();
            _values[i].Dispose();
            _keys[i] = k;
            _values[i] = v;
        }
        var valid = _valid.index_select(0, rows).DetachFromDisposeScope();
        _valid.Dispose();
        _valid = valid;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var t in _keys) t.Dispose();
        foreach (var t in _values) t.Dispose();
        _valid.Dispose();
    }
}
