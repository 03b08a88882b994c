namespace StepWiser.ML.Chunking;

/// <summary>What <see cref="ChunkParser.ParseTags"/> does with malformed <c>&lt;chunk&gt;</c> markup.</summary>
public enum MalformedChunkPolicy
{
    /// <summary>Throw a <see cref="FormatException"/> naming the problem and its character offset (the default).</summary>
    Error,

    /// <summary>
    /// Repair and count: an unclosed chunk is closed at the next opening tag or the end, a stray closing tag is dropped,
    /// non-blank text outside tags becomes a chunk of its own, empty chunks are dropped.
    /// </summary>
    Repair,
}
