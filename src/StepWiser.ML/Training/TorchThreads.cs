using static TorchSharp.torch;

namespace StepWiser.ML.Training;

/// <summary>
/// The number of threads torch uses inside one operation (intra-op parallelism). Training and generation are
/// deterministic for a given thread count; a different count may split reductions differently, and then float rounding
/// and from there a whole training run differ (the built-in world's policy recipe learns suddenly, so a small numeric
/// difference can move the update where it learns by hundreds). Pin the count to reproduce a run exactly. Measured on a
/// 2-core x64 CPU, the default policy recipe gave bit-identical runs at 1 and 2 threads (docs/world-and-annotation.md),
/// so the count is a guarantee of reproducibility there, not a known cause of difference.
/// </summary>
/// <remarks>
/// The setting is per thread once a thread has run torch work (libtorch's OpenMP backend): <see cref="Pin"/> applies to
/// the calling thread and to threads that first use torch afterwards, while a thread-pool thread that already ran torch
/// work keeps its count (measured: after <c>set_num_threads(1)</c> on one thread, a <c>Task.Run</c> thread that had
/// multiplied matrices before still reported 2). Run pinned work synchronously on the pinning thread, or set
/// <c>OMP_NUM_THREADS</c> before the process starts to fix the count for every thread. On a machine shared with other
/// work, more threads than idle cores can be several times slower (OpenMP threads spin while they wait; measured: over
/// 7× for 2 threads on 2 busy cores), which <c>OMP_WAIT_POLICY=PASSIVE</c> avoids without changing results.
/// </remarks>
public static class TorchThreads
{
    /// <summary>Torch's intra-op thread count on the calling thread.</summary>
    public static int Current => get_num_threads();

    /// <summary>
    /// Sets torch's intra-op thread count (for the calling thread and threads that first use torch afterwards) and returns
    /// a scope that restores the previous count when disposed. Results are deterministic for a given thread count and
    /// differ across thread counts.
    /// </summary>
    /// <param name="threads">Threads to use, at least 1.</param>
    /// <returns>A scope; disposing it restores the count that was in effect before.</returns>
    public static IDisposable Pin(int threads)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        int previous = get_num_threads();
        if (previous != threads) set_num_threads(threads);
        return new Restore(previous);
    }

    private sealed class Restore(int previous) : IDisposable
    {
        private bool _disposed;

        public void Dispose()
        {
            if (_disposed) return;
            _disposed = true;
            if (get_num_threads() != previous) set_num_threads(previous);
        }
    }
}
