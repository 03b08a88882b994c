using System.Text.Json;

namespace StepWiser.ML.Data;

/// <summary>
/// JSON Lines files (one JSON record per line), the one reader and writer behind every JSONL format of the library
/// (TRL stepwise supervision, annotation files, world problems): blank lines are skipped, a bad line is always
/// reported as <c>path:line: what was wrong</c>, and a file is written atomically (<see cref="AtomicFile"/>), so an
/// existing file stays whole until its replacement is complete.
/// </summary>
public static class JsonLines
{
    /// <summary>
    /// Parses every non-blank line with <paramref name="parse"/>. An exception <paramref name="parse"/> throws for bad
    /// data (<see cref="JsonException"/>, <see cref="InvalidDataException"/>, <see cref="FormatException"/>,
    /// <see cref="InvalidOperationException"/>, <see cref="ArgumentException"/>) becomes an
    /// <see cref="InvalidDataException"/> whose message starts with the file and line.
    /// </summary>
    public static IReadOnlyList<T> Read<T>(string path, Func<string, T> parse)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(parse);
        var records = new List<T>();
        var number = 0;
        foreach (var line in File.ReadLines(path))
        {
            number++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            try
            {
                records.Add(parse(line));
            }
            catch (Exception e) when (e is JsonException or InvalidDataException or FormatException or InvalidOperationException or ArgumentException)
            {
                throw new InvalidDataException($"{path}:{number}: {e.Message}", e);
            }
        }
        return records;
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
