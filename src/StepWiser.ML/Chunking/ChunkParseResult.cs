namespace StepWiser.ML.Chunking;

/// <summary>Chunks parsed from a text and how many repairs were needed.</summary>
/// <param name="Chunks">The chunks, trimmed of surrounding whitespace, in order.</param>
/// <param name="Repairs">Number of repairs made under <see cref="MalformedChunkPolicy.Repair"/> (0 for well-formed input).</param>
public sealed record ChunkParseResult(IReadOnlyList<string> Chunks, int Repairs);
