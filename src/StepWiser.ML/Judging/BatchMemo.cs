namespace StepWiser.ML.Judging;

/// <summary>
/// The cache behind <see cref="ReferenceWriter"/> and <see cref="MemoizedJudge"/>: values by string key, computed for a
/// whole batch at once (each missing key once, in the order of its first occurrence), the last <c>capacity</c> kept
/// (the cache is emptied when it is full). Thread-safe; the computation runs outside the lock.
/// </summary>
internal sealed class BatchMemo<T>(int capacity)
{
    private readonly Dictionary<string, T> _values = new(StringComparer.Ordinal);
    private readonly object _gate = new();

    /// <summary>Values computed so far (keys that were not in the cache).</summary>
    public int Computed { get; private set; }

    /// <summary>
    /// The value of every key, in order; <paramref name="compute"/> gets the positions (into <paramref name="keys"/>) of
    /// the first occurrence of each key not cached, and returns their values in that order.
    /// </summary>
    public async Task<T[]> GetAsync(IReadOnlyList<string> keys, Func<IReadOnlyList<int>, Task<IReadOnlyList<T>>> compute)
    {
        var known = new Dictionary<string, T>(StringComparer.Ordinal);
        var missing = new List<int>();
        var pending = new HashSet<string>(StringComparer.Ordinal);
        lock (_gate)
            for (var i = 0; i < keys.Count; i++)
                if (_values.TryGetValue(keys[i], out var v)) known[keys[i]] = v;
                else if (pending.Add(keys[i])) missing.Add(i);
        if (missing.Count > 0)
        {
            var computed = await compute(missing).ConfigureAwait(false);
            for (var k = 0; k < missing.Count; k++) known[keys[missing[k]]] = computed[k];
            lock (_gate)
            {
                Computed += missing.Count;
                if (_values.Count + missing.Count > capacity) _values.Clear();
                foreach (var i in missing) _values[keys[i]] = known[keys[i]];
            }
        }
        return keys.Select(k => known[k]).ToArray();
    }
}
