using System.Runtime.InteropServices;

namespace StepWiser.ML.Data;

/// <summary>
/// Forces what was written to the disk (fsync): a file's bytes before it is renamed into place, and a folder's
/// entries after a rename, so a file that replaced another is the new one, whole, even after a power loss.
/// </summary>
internal static partial class FileSync
{
    private const int ReadOnly = 0;
    private const int NotSupportedHere = 22;

    /// <summary>Flushes a closed file's bytes to the disk (the flush reaches every descriptor's data: it is per file).</summary>
    public static void File(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite);
        stream.Flush(flushToDisk: true);
    }

    /// <summary>Flushes a folder's entries (names created, renamed or removed) to the disk; nothing to do on Windows, whose file system journals them.</summary>
    public static void Folder(string directory)
    {
        if (OperatingSystem.IsWindows()) return;
        var descriptor = Open(directory, ReadOnly);
        if (descriptor < 0) throw new IOException($"{directory}: cannot open the folder to flush it to disk (errno {Marshal.GetLastPInvokeError()})");
        try
        {
            // EINVAL: this file system does not support flushing a folder; there is nothing more to do.
            if (Fsync(descriptor) != 0 && Marshal.GetLastPInvokeError() is var errno && errno != NotSupportedHere)
                throw new IOException($"{directory}: flushing the folder to disk failed (errno {errno})");
        }
        finally
        {
            _ = Close(descriptor);
        }
    }

    /// <summary>Flushes every file under <paramref name="directory"/>, then every folder, deepest first.</summary>
    public static void Tree(string directory)
    {
        foreach (var file in Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories)) File(file);
        foreach (var folder in Directory.EnumerateDirectories(directory, "*", SearchOption.AllDirectories).OrderByDescending(f => f.Length)) Folder(folder);
        Folder(directory);
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int descriptor);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int descriptor);
}
