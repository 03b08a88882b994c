using System.Text.Json;
using Microsoft.ML;
using StepWiser.ML.Data;

namespace StepWiser.ML.Evaluation;

/// <summary>
/// Reads ProcessBench files (JSON arrays of records with <c>id</c>, <c>generator</c>, <c>problem</c>, <c>steps</c>,
/// <c>final_answer_correct</c>, <c>label</c>) — the real benchmark, or the built-in world's held-out benchmark written
/// in the same format. Records are streamed; a malformed record is an error naming the file, the record index and
/// the field.
/// </summary>
public static class ProcessBench
{
    /// <summary>The four subsets of the real benchmark, in the paper's order.</summary>
    public static IReadOnlyList<string> Subsets { get; } = ["gsm8k", "math", "olympiadbench", "omnimath"];

    /// <summary>Streams the records of one file; the subset is the file name without extension.</summary>
    public static IEnumerable<ProcessBenchRecord> Read(string path)
    {
        var subset = Path.GetFileNameWithoutExtension(path);
        using var stream = File.OpenRead(path);
        if (stream.Length == 0) throw new InvalidDataException($"{path}: the file is empty; expected a JSON array of ProcessBench records");
        var index = 0;
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
            yield return Parse(element, path, index, subset);
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
        var steps = Get("steps", JsonValueKind.Array).EnumerateArray().Select((s, i) => s.ValueKind == JsonValueKind.String ? s.GetString()! : throw new InvalidDataException($"{Where("steps")}[{i}]: expected a string")).ToArray();
        var labelElement = Get("label", JsonValueKind.Number);
        if (!labelElement.TryGetInt32(out var label)) throw new InvalidDataException($"{Where("label")}: {labelElement.GetRawText()} is not an integer step index");
        if (label < -1 || label >= steps.Length) throw new InvalidDataException($"{Where("label")}: {label} is not -1 or a step index below {steps.Length}");
        return new ProcessBenchRecord
        {
            Id = Get("id", JsonValueKind.String).GetString()!,
            Generator = e.TryGetProperty("generator", out var g) && g.ValueKind == JsonValueKind.String ? g.GetString()! : "",
            Problem = Get("problem", JsonValueKind.String).GetString()!,
            Steps = steps,
            FinalAnswerCorrect = Get("final_answer_correct", JsonValueKind.True).GetBoolean(),
            Label = label,
            Subset = subset,
        };
    }
}
