using System.Text.Json.Nodes;
using StepWiser.ML.Chunking;
using StepWiser.ML.Data;

namespace StepWiser.ML.Annotation;

/// <summary>
/// The annotation file format (the samples app's <c>annotate</c> command; docs/world-and-annotation.md). Input: one
/// JSON object per line with <c>"prompt"</c> (string), <c>"answer"</c> (the reference) and either <c>"chunks"</c> (a
/// list of strings) or <c>"solution"</c> (text with <c>&lt;chunk&gt;</c> tags); other fields are kept. Output: the
/// input's fields plus <c>"chunks"</c>, <c>"q0"</c>, <c>"values"</c> (null where a value is missing),
/// <c>"failed_prefixes"</c> and <c>"labels_&lt;Scheme&gt;"</c> for each <see cref="LabelScheme"/> — null for a
/// solution with a missing value, so no label is ever made from a missing value — and, when given, <c>"annotation"</c>:
/// what produced the values (<see cref="MonteCarloAnnotator.Metadata"/>: policy, prompt format, sampling settings).
/// </summary>
public static class AnnotationJsonl
{
    /// <summary>Reads an input file; a bad line is an <see cref="InvalidDataException"/> naming the file, the line and what was wrong.</summary>
    public static IReadOnlyList<AnnotationRecord> Read(string path) => JsonLines.Read(path, (line, number) =>
    {
        var node = JsonNode.Parse(line) as JsonObject ?? throw new InvalidDataException("not a JSON object");
        var prompt = node["prompt"] is JsonValue p && p.TryGetValue<string>(out var pt) ? pt : throw new InvalidDataException("needs \"prompt\" (a string)");
        var answer = node["answer"] is JsonValue a ? a.ToString() : throw new InvalidDataException("needs \"answer\"");
        var chunks = node["chunks"] is JsonArray list
            ? list.Select((c, k) => c is JsonValue v && v.TryGetValue<string>(out var text) ? text : throw new InvalidDataException($"chunk {k} is not a string")).ToArray()
            : node["solution"] is JsonValue s && s.TryGetValue<string>(out var solution) ? ChunkParser.ParseTags(solution).Chunks.ToArray()
            : throw new InvalidDataException("needs \"chunks\" (a list of strings) or \"solution\" (tagged text)");
        if (chunks.Length == 0) throw new InvalidDataException("the solution has no chunks");
        return new AnnotationRecord(node, new AnnotationInput(prompt, chunks, answer)) { Line = number };
    });

    /// <summary>
    /// Writes the annotated records, atomically: record i with <paramref name="results"/>[i]; a record whose result is
    /// null (not annotated) is left out. <paramref name="metadata"/> (null: none) goes into every record as its
    /// <c>"annotation"</c> object, replacing one the input carried.
    /// </summary>
    public static void Write(string path, IReadOnlyList<AnnotationRecord> records, IReadOnlyList<AnnotationResult?> results, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(records);
        ArgumentNullException.ThrowIfNull(results);
        if (records.Count != results.Count) throw new ArgumentException($"{records.Count} records but {results.Count} results", nameof(results));
        JsonLines.Write(path, records.Zip(results).Where(x => x.Second is not null), x =>
        {
            var (record, r) = (x.First, x.Second!);
            var o = record.Source.DeepClone().AsObject();
            o["chunks"] = new JsonArray(record.Input.Chunks.Select(c => (JsonNode)c).ToArray());
            o["q0"] = float.IsNaN(r.InitialValue) ? null : r.InitialValue;
            o["values"] = new JsonArray(r.Values.Select(v => float.IsNaN(v) ? null : (JsonNode)v).ToArray());
            o["failed_prefixes"] = r.FailedPrefixes;
            if (metadata is not null) o["annotation"] = new JsonObject(metadata.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value)));
            foreach (var scheme in Enum.GetValues<LabelScheme>())
                o[$"labels_{scheme}"] = r.IsComplete ? new JsonArray(r.Labels(scheme).Select(b => (JsonNode)b).ToArray()) : null;
            return o.ToJsonString();
        });
    }
}
