using static TorchSharp.torch;

namespace StepWiser.ML.Training;

/// <summary>
/// The number of threads torch uses inside one operation (intra-op parallelism). Training and generation are
/// deterministic for a given thread count, but a different count splits reductions differently, so float rounding and
/// from there a whole training run differ: the built-in world's policy recipe, trained with 1 or 2 threads from the same
/// seed, ends at different accuracies. Pin the count to reproduce a run exactly.
/// </summary>
/// <remarks>
/// The setting is per thread once a thread has run torch work (libtorch's OpenMP backend): <see cref="Pin"/> applies to
/// the calling thread and to threads that first use torch afterwards, while a thread-pool thread that already ran torch
/// work keeps its count (measured: after <c>set_num_threads(1)</c> on one thread, a <c>Task.Run</c> thread that had
/// multiplied matrices before still reported 2). Run pinned work synchronously on the pinning thread, or set
/// <c>OMP_NUM_THREADS</c> before the process starts to fix the count for every thread.
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
