namespace StepWiser.ML.Data;

/// <summary>
/// Writes a folder whole: its content goes to a new hidden folder beside it (<see cref="AtomicFile.TemporaryPath"/>),
/// is flushed to the disk, and only then replaces the old folder, which is moved aside and removed once the new one is
/// in place. Nothing of the old folder survives in the new one (no stale shard, manifest or tokenizer file), and a run
/// that fails or is killed before the swap leaves the old folder as it was.
/// </summary>
public static class AtomicFolder
{
    /// <summary>Suffix of an old folder while it is being replaced.</summary>
    private const string OldSuffix = ".old";

    /// <summary>Fills a new folder with <paramref name="write"/> (given its path) and puts it in place of <paramref name="directory"/>.</summary>
    public static void Write(string directory, Action<string> write)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        ArgumentNullException.ThrowIfNull(write);
        var full = Path.GetFullPath(directory).TrimEnd(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar);
        if (File.Exists(full)) throw new IOException($"{full}: is a file; cannot write a folder there");
        var parent = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(parent);
        var work = AtomicFile.TemporaryPath(full);
        Directory.CreateDirectory(work);
        try
        {
            write(work);
            FileSync.Tree(work);
        }
        catch
        {
            TryDelete(work);
            throw;
        }
        Swap(work, full, parent);
    }

    private static void Swap(string work, string full, string parent)
    {
        string? old = null;
        if (Directory.Exists(full))
        {
            old = AtomicFile.TemporaryPath(full)[..^AtomicFile.TemporarySuffix.Length] + OldSuffix;
            Directory.Move(full, old);
        }
        try
        {
            Directory.Move(work, full);
        }
        catch
        {
            if (old is not null) Directory.Move(old, full);
            TryDelete(work);
            throw;
        }
        FileSync.Folder(parent);
        if (old is not null) TryDelete(old);
    }

    private static void TryDelete(string folder)
    {
        try { Directory.Delete(folder, recursive: true); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }
}
