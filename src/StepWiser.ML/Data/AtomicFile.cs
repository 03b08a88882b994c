namespace StepWiser.ML.Data;

/// <summary>
/// Writes a file so that a crash, a kill or a failing writer never leaves a half-written file where a good one was:
/// the bytes go to a temporary file in the same folder with a unique hidden name (<c>.name.random.partial</c>, so it
/// can never be an input or a user's file), are flushed to the disk, and the temporary file is renamed over the target
/// and the folder flushed. A writer that throws, or a disk that fills up, leaves the target as it was and no temporary
/// file; a failure of the file system is an <see cref="IOException"/> naming the target.
/// </summary>
public static class AtomicFile
{
    /// <summary>Suffix of the temporary files and folders (<see cref="TemporaryPath"/>).</summary>
    public const string TemporarySuffix = ".partial";

    private const int RandomDigits = 12;

    /// <summary>Writes <paramref name="path"/> with <paramref name="write"/> through a temporary file renamed into place.</summary>
    public static void Write(string path, Action<Stream> write)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(write);
        var full = Path.GetFullPath(path);
        if (Directory.Exists(full)) throw new IOException($"{full}: is a folder; cannot write a file there");
        string temp;
        FileStream stream;
        while (true)
        {
            temp = TemporaryPath(full);
            try
            {
                stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None);
                break;
            }
            catch (IOException) when (File.Exists(temp))
            {
                // Another name was drawn by chance: draw again.
            }
        }
        try
        {
            using (stream) write(stream);
            Commit(temp, full);
        }
        catch (Exception e) when (IsWriteFailure(e))
        {
            TryDelete(temp);
            throw new IOException($"{full}: could not be written ({e.Message}); the file that was there is unchanged", e);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    /// <summary>
    /// A failure of the file system, not of the writer's own logic: an <see cref="IOException"/> (a full disk), or what
    /// .NET throws when a write passes the largest file size the file system or the process allows (EFBIG).
    /// </summary>
    private static bool IsWriteFailure(Exception e) =>
        e is IOException or UnauthorizedAccessException
        || (e is ArgumentOutOfRangeException && e.TargetSite?.DeclaringType?.Namespace is { } space && space.StartsWith("System.IO", StringComparison.Ordinal));

    /// <summary>Writes text to <paramref name="path"/> through a temporary file renamed into place (UTF-8).</summary>
    public static void WriteText(string path, Action<TextWriter> write) =>
        Write(path, stream =>
        {
            using var writer = new StreamWriter(stream);
            write(writer);
        });

    /// <summary>
    /// A unique hidden path beside <paramref name="path"/> (same folder, so a rename is atomic) for a file or folder that
    /// becomes <paramref name="path"/> once complete; nothing is created.
    /// </summary>
    public static string TemporaryPath(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var full = Path.GetFullPath(path).TrimEnd(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar);
        var name = Path.GetFileName(full);
        return Path.Combine(Path.GetDirectoryName(full)!, $".{name}.{Guid.NewGuid().ToString("N")[..RandomDigits]}{TemporarySuffix}");
    }

    /// <summary>
    /// Makes a finished temporary file (from <see cref="TemporaryPath"/>) the file at <paramref name="path"/>: flushes
    /// it to the disk, renames it over <paramref name="path"/> and flushes the folder.
    /// </summary>
    public static void Commit(string temporary, string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(temporary);
        ArgumentException.ThrowIfNullOrEmpty(path);
        FileSync.File(temporary);
        File.Move(temporary, path, overwrite: true);
        FileSync.Folder(Path.GetDirectoryName(Path.GetFullPath(path))!);
    }

    private static void TryDelete(string path)
    {
        try { File.Delete(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }
}
