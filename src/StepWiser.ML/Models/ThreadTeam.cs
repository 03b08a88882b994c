using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;

namespace StepWiser.ML.Models;

/// <summary>
/// Runs managed work on libtorch's own OpenMP threads (GNU libgomp's <c>GOMP_parallel</c>, the call libtorch's parallel
/// loops compile to), for the managed decode step. After each of its parallel loops libtorch's worker spins on the other
/// core waiting for the next; a .NET worker thread would share that core with it, and the step on two .NET threads was
/// slower than on one (measured: lab/benchmarks.md, "The managed decode step"). Handed to the spinning worker, the same
/// work runs 1.6× faster on two cores. Available where libtorch's libgomp is loaded in the process (Linux builds of
/// libtorch); elsewhere <see cref="Available"/> is false and callers run their work on one thread.
/// </summary>
internal static unsafe class ThreadTeam
{
    private static readonly delegate* unmanaged[Cdecl]<delegate* unmanaged[Cdecl]<void*, void>, void*, uint, uint, void> s_parallel;
    private static readonly delegate* unmanaged[Cdecl]<int> s_threadNumber;
    private static readonly delegate* unmanaged[Cdecl]<int> s_teamSize;

    /// <summary>Whether libgomp was found in the process (only then does <see cref="Run"/> use more than one thread).</summary>
    public static bool Available { get; }

    static ThreadTeam()
    {
        if (!OperatingSystem.IsLinux()) return;
        try
        {
            // libtorch ships libgomp under a hashed name (libgomp-<hash>.so.1); the copy the process already mapped is the
            // one whose threads libtorch uses.
            string? path = null;
            foreach (var line in File.ReadLines("/proc/self/maps"))
            {
                int slash = line.IndexOf('/');
                if (slash < 0) continue;
                var file = line[slash..];
                if (Path.GetFileName(file).StartsWith("libgomp", StringComparison.Ordinal)) { path = file; break; }
            }
            if (path is null || !NativeLibrary.TryLoad(path, out var library)) return;
            if (!NativeLibrary.TryGetExport(library, "GOMP_parallel", out var parallel)
                || !NativeLibrary.TryGetExport(library, "omp_get_thread_num", out var threadNumber)
                || !NativeLibrary.TryGetExport(library, "omp_get_num_threads", out var teamSize)) return;
            s_parallel = (delegate* unmanaged[Cdecl]<delegate* unmanaged[Cdecl]<void*, void>, void*, uint, uint, void>)parallel;
            s_threadNumber = (delegate* unmanaged[Cdecl]<int>)threadNumber;
            s_teamSize = (delegate* unmanaged[Cdecl]<int>)teamSize;
            Available = true;
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private sealed class Work(int parts, Action<int> action)
    {
        public int Parts { get; } = parts;
        public Action<int> Action { get; } = action;
        public Exception? Error;
    }

    /// <summary>
    /// Calls <paramref name="action"/>(p) for every part p in [0, <paramref name="parts"/>), on up to that many of libtorch's
    /// threads (the caller's among them) where <see cref="Available"/>, else one after another on the caller's thread.
    /// Returns when all are done; the first exception of any part is rethrown here.
    /// </summary>
    public static void Run(int parts, Action<int> action)
    {
        if (parts <= 1 || !Available)
        {
            for (int p = 0; p < parts; p++) action(p);
            return;
        }
        var work = new Work(parts, action);
        var handle = GCHandle.Alloc(work);
        try
        {
            s_parallel(&Entry, (void*)GCHandle.ToIntPtr(handle), (uint)parts, 0);
        }
        finally
        {
            handle.Free();
        }
        if (work.Error is { } error) ExceptionDispatchInfo.Throw(error);
    }

    /// <summary>Each thread of the team: its share of the parts (libgomp may start fewer threads than asked).</summary>
    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void Entry(void* data)
    {
        var work = (Work)GCHandle.FromIntPtr((nint)data).Target!;
        int id = s_threadNumber(), team = Math.Max(1, s_teamSize());
        for (int p = id; p < work.Parts; p += team)
        {
            try
            {
                work.Action(p);
            }
            catch (Exception e)
            {
                Interlocked.CompareExchange(ref work.Error, e, null);
            }
        }
    }
}
