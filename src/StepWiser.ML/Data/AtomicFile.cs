namespace StepWiser.ML.Data;

/// <summary>
/// Writes a file through a temporary sibling renamed into place, so a crash or a failing writer never leaves a
/// half-written file where a good one was; the temporary file is removed when the writer throws.
/// </summary>
public static class AtomicFile
{
    /// <summary>Writes <paramref name="path"/> with <paramref name="write"/> through a temporary file renamed into place.</summary>
    public static void Write(string path, Action<Stream> write)
    {
        var temp = path + ".tmp";
        try
        {
            using (var stream = File.Create(temp)) write(stream);
            File.Move(temp, path, overwrite: true);
        }
        catch
        {
            File.Delete(temp);
            throw;
        }
    }

    /// <summary>Writes text to <paramref name="path"/> through a temporary file renamed into place (UTF-8).</summary>
    public static void WriteText(string path, Action<TextWriter> write) =>
        Write(path, stream =>
        {
            using var writer = new StreamWriter(stream);
            write(writer);
        });
}
