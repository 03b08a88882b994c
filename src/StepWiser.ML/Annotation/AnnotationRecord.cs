using System.Text.Json.Nodes;

namespace StepWiser.ML.Annotation;

/// <summary>One line of an annotation file (<see cref="AnnotationJsonl"/>): the line as read, and the solution to annotate.</summary>
/// <param name="Source">Every field of the line, kept so the output repeats what the input carried (ids, metadata).</param>
/// <param name="Input">Prompt, chunks and reference answer.</param>
public sealed record AnnotationRecord(JsonObject Source, AnnotationInput Input)
{
    /// <summary>The record's line in the file it was read from (1-based; 0 for a record made in code), for error messages.</summary>
    public int Line { get; init; }
}
