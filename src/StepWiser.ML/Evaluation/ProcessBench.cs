using System.Text.Json;
using Microsoft.ML;
using StepWiser.ML.Data;

namespace StepWiser.ML.Evaluation;

/// <summary>
/// Reads ProcessBench files (JSON arrays of records with <c>id</c>, <c>generator</c>, <c>problem</c>, <c>steps</c>,
/// <c>final_answer_correct</c>, <c>label</c>) — the real benchmark, or the built-in world's held-out benchmark written
/// in the same format. Records are streamed; a malformed record is an error naming the file, the record index and
/// the field, and so are a record without steps and an id that an earlier record of the file already has.
/// </summary>
public static class ProcessBench
{
    /// <summary>The four subsets of the real benchmark, in the paper's order.</summary>
    public static IReadOnlyList<string> Subsets { get; } = ["gsm8k", "math", "olympiadbench", "omnimath"];

    /// <summary>Streams the records of one file; a record's subset is its "subset" field, else the file name without extension.</summary>
    public static IEnumerable<ProcessBenchRecord> Read(string path)
    {
        var subset = Path.GetFileNameWithoutExtension(path);
        using var stream = File.OpenRead(path);
        if (stream.Length == 0) throw new InvalidDataException($"{path}: the file is empty; expected a JSON array of ProcessBench records");
        var index = 0;
        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        using var records = JsonSerializer.DeserializeAsyncEnumerable<JsonElement>(stream).ToBlockingEnumerable().GetEnumerator();
        while (true)
        {
            JsonElement element;
            try
            {
                if (!records.MoveNext()) break;
                element = records.Current;
            }
            catch (JsonException e)
            {
                throw new InvalidDataException($"{path}: not a JSON array of ProcessBench records (after record {index}: {e.Message})", e);
            }
            var record = Parse(element, path, index, subset);
            if (!ids.TryAdd(record.Id, index))
                throw new InvalidDataException($"{path}: record {index}, field \"id\": \"{TextPreview.Shorten(record.Id)}\" is also the id of record {ids[record.Id]}; ids must be unique (a record counted twice would skew every metric)");
            yield return record;
            index++;
        }
    }

    /// <summary>Streams the records of several files (e.g. the four subsets) as one <see cref="IDataView"/> of <see cref="ProcessBenchRecord"/>.</summary>
    public static IDataView Load(MLContext mlContext, params string[] paths)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        foreach (var p in paths) if (!File.Exists(p)) throw new FileNotFoundException($"ProcessBench file not found: {p}", p);
        return mlContext.Data.LoadFromEnumerable(paths.SelectMany(Read));
    }

    /// <summary>Writes records in ProcessBench's format (a JSON array).</summary>
    public static void Write(string path, IEnumerable<ProcessBenchRecord> records)
    {
        var all = records.ToArray();
        AtomicFile.Write(path, stream => JsonSerializer.Serialize(stream, all, new JsonSerializerOptions { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }));
    }

    private static ProcessBenchRecord Parse(JsonElement e, string path, int index, string subset)
    {
        string Where(string field) => $"{path}: record {index}, field \"{field}\"";
        if (e.ValueKind != JsonValueKind.Object) throw new InvalidDataException($"{path}: record {index} is not a JSON object");
        JsonElement Get(string field, JsonValueKind kind)
        {
            if (!e.TryGetProperty(field, out var v)) throw new InvalidDataException($"{Where(field)}: missing");
            if (v.ValueKind != kind && !(kind == JsonValueKind.True && v.ValueKind == JsonValueKind.False))
                throw new InvalidDataException($"{Where(field)}: expected {kind}, found {v.ValueKind}");
            return v;
        }
        static string Text(JsonElement v, string where)
        {
            try { return v.GetString()!; }
            catch (InvalidOperationException) { throw new InvalidDataException($"{where}: not valid text (a lone surrogate, an unpaired \\ud800-\\udfff escape)"); }
        }
        var steps = Get("steps", JsonValueKind.Array).EnumerateArray().Select((s, i) => s.ValueKind == JsonValueKind.String ? Text(s, $"{Where("steps")}[{i}]") : throw new InvalidDataException($"{Where("steps")}[{i}]: expected a string")).ToArray();
        if (steps.Length == 0) throw new InvalidDataException($"{Where("steps")}: the solution has no steps (an empty solution cannot be judged; it would count as correct)");
        var labelElement = Get("label", JsonValueKind.Number);
        if (!labelElement.TryGetInt32(out var label)) throw new InvalidDataException($"{Where("label")}: {labelElement.GetRawText()} is not an integer step index");
        if (label < -1 || label >= steps.Length) throw new InvalidDataException($"{Where("label")}: {label} is not -1 or a step index below {steps.Length}");
        return new ProcessBenchRecord
        {
            Id = Text(Get("id", JsonValueKind.String), Where("id")),
            Generator = e.TryGetProperty("generator", out var g) && g.ValueKind == JsonValueKind.String ? Text(g, Where("generator")) : "",
            Problem = Text(Get("problem", JsonValueKind.String), Where("problem")),
            Steps = steps,
            FinalAnswerCorrect = Get("final_answer_correct", JsonValueKind.True).GetBoolean(),
            Label = label,
            Subset = e.TryGetProperty("subset", out var own) && own.ValueKind != JsonValueKind.Null && Text(Get("subset", JsonValueKind.String), Where("subset")) is { Length: > 0 } named ? named : subset,
        };
    }
}
