namespace StepWiser.ML.Chunking;

/// <summary>The chunks of one row.</summary>
/// <param name="Chunks">The chunks, trimmed, in order.</param>
/// <param name="Repairs">Repairs of malformed tags made for this row.</param>
/// <param name="Fallback">True when self-segmentation was rejected and the fallback rule cut the text.</param>
public sealed record ChunkedRow(IReadOnlyList<string> Chunks, int Repairs, bool Fallback);
