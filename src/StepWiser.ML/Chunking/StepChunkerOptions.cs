using StepWiser.ML.Data;
using StepWiser.ML.Generation;

namespace StepWiser.ML.Chunking;

/// <summary>Options of the chunking stage (<c>mlContext.StepWiser().Transforms.ChunkSteps</c>).</summary>
public sealed class StepChunkerOptions
{
    private int _batchSize = 32;
    private ChunkingMode _fallback = ChunkingMode.BlankLines;

    /// <summary>Input column: the solution text (a text vector in <see cref="ChunkingMode.PreSegmented"/> mode). Default "Solution".</summary>
    public string InputColumnName { get; set; } = "Solution";

    /// <summary>Output column of the chunks (text vector). Default "Chunks".</summary>
    public string OutputColumnName { get; set; } = "Chunks";

    /// <summary>Output column of the number of chunks (int). Default "ChunkCount".</summary>
    public string ChunkCountColumnName { get; set; } = "ChunkCount";

    /// <summary>Output column: repairs made under <see cref="MalformedChunkPolicy.Repair"/> (int). Default "ChunkRepairs".</summary>
    public string RepairsColumnName { get; set; } = "ChunkRepairs";

    /// <summary>Output column: true when self-segmentation was rejected and the fallback rule was used (bool). Default "SegmentationFallback".</summary>
    public string FallbackColumnName { get; set; } = "SegmentationFallback";

    /// <summary>How to cut (default <see cref="ChunkingMode.Tags"/>).</summary>
    public ChunkingMode Mode { get; set; } = ChunkingMode.Tags;

    /// <summary>Malformed tags: an error naming the row (default) or repair with a count.</summary>
    public MalformedChunkPolicy MalformedPolicy { get; set; } = MalformedChunkPolicy.Error;

    /// <summary>Self-segmentation: the model that rewrites the text with tags.</summary>
    public ITextGenerator? Segmenter { get; set; }

    /// <summary>Self-segmentation: the prompt for a text (default: <see cref="DefaultSegmenterPrompt"/>).</summary>
    public Func<string, string> SegmenterPrompt { get; set; } = DefaultSegmenterPrompt;

    /// <summary>Self-segmentation: most tokens the segmenter may write per text (default 1024).</summary>
    public int SegmenterMaxNewTokens { get; set; } = 1024;

    /// <summary>Self-segmentation: the rule used when the model's answer does not reproduce the text (default blank lines).</summary>
    public ChunkingMode Fallback
    {
        get => _fallback;
        set => _fallback = value is ChunkingMode.Tags or ChunkingMode.BlankLines or ChunkingMode.StepMarkers
            ? value : throw new ArgumentOutOfRangeException(nameof(Fallback), value, "must be a rule: Tags, BlankLines or StepMarkers");
    }

    /// <summary>Rows per batch (one segmenter call per batch).</summary>
    public int BatchSize
    {
        get => _batchSize;
        set => _batchSize = value >= 1 ? value : throw new ArgumentOutOfRangeException(nameof(BatchSize), value, "must be at least 1");
    }

    /// <summary>The default self-segmentation prompt: the instruction, the text, and the opening of the answer.</summary>
    public static string DefaultSegmenterPrompt(string text) =>
        "Rewrite the solution with every logical step wrapped in <chunk> and </chunk>. Do not change any other character.\n" +
        $"Solution:\n{text}\nSegmented:\n";

    /// <summary>A copy, so that a fitted stage does not change when the caller's options object does.</summary>
    internal StepChunkerOptions Snapshot() => (StepChunkerOptions)MemberwiseClone();

    /// <summary>Throws naming the first invalid option.</summary>
    public void Validate()
    {
        ColumnReader.RequireNames((nameof(InputColumnName), InputColumnName), (nameof(OutputColumnName), OutputColumnName), (nameof(ChunkCountColumnName), ChunkCountColumnName),
            (nameof(RepairsColumnName), RepairsColumnName), (nameof(FallbackColumnName), FallbackColumnName));
        if (Mode == ChunkingMode.SelfSegmentation && Segmenter is null)
            throw new ArgumentException("SelfSegmentation needs a Segmenter (any ITextGenerator)", nameof(Segmenter));
        if (SegmenterMaxNewTokens < 1) throw new ArgumentOutOfRangeException(nameof(SegmenterMaxNewTokens), SegmenterMaxNewTokens, "must be at least 1");
        ArgumentNullException.ThrowIfNull(SegmenterPrompt, nameof(SegmenterPrompt));
    }
}
