using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.ML;
using Microsoft.ML.Data;
using StepWiser.ML.Data;

namespace StepWiser.ML.Annotation;

/// <summary>
/// Reads and writes TRL's stepwise-supervision JSONL (<c>{"prompt", "completions", "labels"}</c>, the format of
/// <c>trl.PRMTrainer</c> and datasets such as <c>trl-lib/math_shepherd</c>), so labelled steps move to and from Python.
/// </summary>
public static class TrlStepwiseFormat
{
    private static readonly JsonSerializerOptions Json = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Writes the examples (atomically: a temporary file renamed into place).</summary>
    public static void Write(string path, IEnumerable<StepwiseExample> examples)
    {
        JsonLines.Write(path, examples, e => e.Completions.Count == e.Labels.Count
            ? JsonSerializer.Serialize(e, Json)
            : throw new ArgumentException($"example with prompt \"{TextPreview.Shorten(e.Prompt)}\" has {e.Completions.Count} completions but {e.Labels.Count} labels"));
    }

    /// <summary>Reads a file; a malformed line is an error naming the file and line.</summary>
    public static IReadOnlyList<StepwiseExample> Read(string path) => JsonLines.Read(path, line =>
    {
        StepwiseExample? e;
        try { e = JsonSerializer.Deserialize<StepwiseExample>(line, Json); }
        catch (JsonException ex) { throw new InvalidDataException($"not a stepwise-supervision record ({ex.Message})", ex); }
        if (e?.Prompt is null || e.Completions is null || e.Labels is null)
            throw new InvalidDataException("a record needs \"prompt\", \"completions\" and \"labels\"");
        if (e.Completions.Count == 0)
            throw new InvalidDataException("the record has no completions");
        for (var k = 0; k < e.Completions.Count; k++)
            if (e.Completions[k] is null) throw new InvalidDataException($"completion {k} is null (completions are strings)");
        if (e.Completions.Count != e.Labels.Count)
            throw new InvalidDataException($"{e.Completions.Count} completions but {e.Labels.Count} labels");
        return e;
    });

    /// <summary>
    /// A file as an <see cref="IDataView"/> of annotated solutions, one row per record: <c>Prompt</c> (text),
    /// <c>Completions</c> (text vector: the chunks) and <c>Labels</c> (bool vector), what the judge trainers read with
    /// <c>ProblemColumnName = "Prompt"</c>, <c>ChunksColumnName = "Completions"</c> and <c>StepLabelsColumnName = "Labels"</c>.
    /// </summary>
    public static IDataView Load(MLContext mlContext, string path)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        return mlContext.Data.LoadFromEnumerable(Read(path).Select(e => new Row { Prompt = e.Prompt, Completions = e.Completions.ToArray(), Labels = e.Labels.ToArray() }).ToArray());
    }

    private sealed class Row
    {
        public string Prompt { get; set; } = "";
        [VectorType] public string[] Completions { get; set; } = [];
        [VectorType] public bool[] Labels { get; set; } = [];
    }
}
