using System.Text;
using System.Text.Json;

namespace StepWiser.ML.Data;

/// <summary>
/// JSON Lines files (one JSON record per line), the one reader and writer behind every JSONL format of the library
/// (TRL stepwise supervision, annotation files, world problems): blank lines are skipped, a bad line (bytes that
/// are not UTF-8 included) is always reported as <c>path:line: what was wrong</c>, and a file is written atomically (<see cref="AtomicFile"/>), so an
/// existing file stays whole until its replacement is complete.
/// </summary>
public static class JsonLines
{
    /// <summary>UTF-8 that throws on a byte sequence it cannot decode, instead of replacing it with U+FFFD.</summary>
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private static ReadOnlySpan<byte> Utf8Bom => [0xEF, 0xBB, 0xBF];

    private const int BufferSize = 1 << 16;

    /// <summary>
    /// Parses every non-blank line with <paramref name="parse"/>. An exception <paramref name="parse"/> throws for bad
    /// data (<see cref="JsonException"/>, <see cref="InvalidDataException"/>, <see cref="FormatException"/>,
    /// <see cref="InvalidOperationException"/>, <see cref="ArgumentException"/>) becomes an
    /// <see cref="InvalidDataException"/> whose message starts with the file and line.
    /// </summary>
    public static IReadOnlyList<T> Read<T>(string path, Func<string, T> parse)
    {
        ArgumentNullException.ThrowIfNull(parse);
        return Read(path, (line, _) => parse(line));
    }

    /// <summary>Like <see cref="Read{T}(string, Func{string, T})"/>; <paramref name="parse"/> also gets the line's number (1-based).</summary>
    public static IReadOnlyList<T> Read<T>(string path, Func<string, int, T> parse)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(parse);
        var records = new List<T>();
        foreach (var (number, line) in Lines(path))
        {
            if (string.IsNullOrWhiteSpace(line)) continue;
            try
            {
                records.Add(parse(line, number));
            }
            catch (Exception e) when (e is JsonException or InvalidDataException or FormatException or InvalidOperationException or ArgumentException)
            {
                throw new InvalidDataException($"{path}:{number}: {e.Message}", e);
            }
        }
        return records;
    }

    /// <summary>The lines of a file with their numbers, each decoded as strict UTF-8 on its own (so a bad byte is named by its line).</summary>
    private static IEnumerable<(int Number, string Line)> Lines(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, BufferSize);
        var buffer = new byte[BufferSize];
        var line = new MemoryStream();
        var number = 0;
        int read;
        while ((read = stream.Read(buffer, 0, buffer.Length)) > 0)
        {
            var start = 0;
            int end;
            while ((end = Array.IndexOf(buffer, (byte)'\n', start, read - start)) >= 0)
            {
                line.Write(buffer, start, end - start);
                yield return (++number, Decode(path, number, line));
                start = end + 1;
            }
            line.Write(buffer, start, read - start);
        }
        if (line.Length > 0) yield return (++number, Decode(path, number, line));
    }

    private static string Decode(string path, int number, MemoryStream line)
    {
        var bytes = line.GetBuffer().AsSpan(0, (int)line.Length);
        if (number == 1 && bytes.StartsWith(Utf8Bom)) bytes = bytes[Utf8Bom.Length..];
        if (bytes.EndsWith("\r"u8)) bytes = bytes[..^1];
        try { return StrictUtf8.GetString(bytes); }
        catch (DecoderFallbackException e)
        {
            throw new InvalidDataException($"{path}:{number}: not UTF-8 text (bytes {BitConverter.ToString(e.BytesUnknown ?? [])} at byte {e.Index} of the line)", e);
        }
        finally { line.SetLength(0); }
    }

    /// <summary>Writes one line per record, <paramref name="serialize"/> giving each line's JSON, atomically.</summary>
    public static void Write<T>(string path, IEnumerable<T> records, Func<T, string> serialize)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(records);
        ArgumentNullException.ThrowIfNull(serialize);
        AtomicFile.WriteText(path, writer =>
        {
            foreach (var record in records) writer.WriteLine(serialize(record));
        });
    }
}
