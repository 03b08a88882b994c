using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Data;
using StepWiser.ML.Data;
using StepWiser.ML.Generation;

namespace StepWiser.ML.Chunking;

/// <summary>
/// The fitted chunking stage. <see cref="Transform"/> is lazy: rows are chunked in batches as a cursor reads them
/// (one segmenter call per batch in self-segmentation mode). Counts of repairs and fall-backs accumulate in
/// <see cref="Statistics"/>.
/// </summary>
public sealed class StepChunkerTransformer : ITransformer, ICancellableStage
{
    internal const string StageName = "ChunkSteps";
    private readonly StepChunkerOptions _options;
    private long _rows, _repairs, _fallbacks, _rowsWithRepairs;

    internal StepChunkerTransformer(StepChunkerOptions options) => _options = options.Snapshot();

    /// <summary>A copy of the options this stage runs with; changing the copy changes nothing.</summary>
    public StepChunkerOptions Options => _options.Snapshot();

    /// <summary>Rows chunked, tag repairs made, rows needing a repair, self-segmentations rejected (fall-backs) so far.</summary>
    public (long Rows, long Repairs, long RowsWithRepairs, long Fallbacks) Statistics =>
        (Interlocked.Read(ref _rows), Interlocked.Read(ref _repairs), Interlocked.Read(ref _rowsWithRepairs), Interlocked.Read(ref _fallbacks));

    /// <summary>What stops a transform of this stage (set by the catalog that made it: its token and the context's cancellation).</summary>
    internal StageCancellation Cancellation { get; set; }

    StageCancellation ICancellableStage.Cancellation { get => Cancellation; set => Cancellation = value; }

    /// <inheritdoc />
    public bool IsRowToRowMapper => false;

    /// <inheritdoc />
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        var expected = _options.Mode == ChunkingMode.PreSegmented ? new VectorDataViewType(TextDataViewType.Instance) : (DataViewType)TextDataViewType.Instance;
        ColumnReader.Require(inputSchema, _options.InputColumnName, expected, StageName);
        return BatchMappedDataView<string[], ChunkedRow>.AppendColumns(inputSchema, Outputs());
    }

    /// <inheritdoc />
    public IDataView Transform(IDataView input)
    {
        GetOutputSchema(input.Schema);
        var name = _options.InputColumnName;
        Func<DataViewRow, Func<string[]>> reader = _options.Mode == ChunkingMode.PreSegmented
            ? row => ColumnReader.TextVector(row, name)
            : row => { var text = ColumnReader.Text(row, name); return () => [text()]; };
        var position = 0L;
        return new BatchMappedDataView<string[], ChunkedRow>(input, [name], reader, Outputs(), batch =>
        {
            var first = position;
            position += batch.Count;
            return Chunk(batch, first);
        }, _options.BatchSize);
    }

    /// <summary>Chunks texts directly, outside a pipeline (one batched segmenter call in self-segmentation mode).</summary>
    public IReadOnlyList<ChunkedRow> Chunk(IReadOnlyList<string> texts) => Chunk(texts.Select(t => new[] { t }).ToArray(), 0);

    /// <inheritdoc />
    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema) =>
        throw new NotSupportedException("StepWiser transformers map rows in batches; use Transform(IDataView).");

    /// <summary>Not supported: ML.NET's model zip needs APIs ML.NET keeps internal; use <c>mlContext.StepWiser().Save(model, folder)</c> (or this stage's own Save where it has one).</summary>
    void ICanSaveModel.Save(ModelSaveContext ctx) =>
        throw new NotSupportedException(PipelineFolder.UseStepWiserSave);

    /// <summary>Writes the stage's options as JSON (a segmenter model is not part of it: pass it again to <see cref="Load"/>).</summary>
    public void Save(string path)
    {
        var manifest = new Manifest(StageName, 1, _options.InputColumnName, _options.OutputColumnName, _options.ChunkCountColumnName,
            _options.RepairsColumnName, _options.FallbackColumnName, _options.Mode, _options.MalformedPolicy, _options.Fallback, _options.BatchSize, _options.SegmenterMaxNewTokens);
        File.WriteAllText(path, JsonSerializer.Serialize(manifest, new JsonSerializerOptions { WriteIndented = true }));
    }

    /// <summary>Reads a stage written by <see cref="Save"/>; self-segmentation needs the <paramref name="segmenter"/> again.</summary>
    public static StepChunkerTransformer Load(string path, ITextGenerator? segmenter = null)
    {
        Manifest m;
        try { m = JsonSerializer.Deserialize<Manifest>(File.ReadAllText(path)) ?? throw new InvalidDataException($"{path}: empty manifest"); }
        catch (JsonException e) { throw new InvalidDataException($"{path}: not a ChunkSteps manifest ({e.Message})", e); }
        if (m.Stage != StageName) throw new InvalidDataException($"{path}: manifest of stage '{m.Stage}', expected '{StageName}'");
        var options = new StepChunkerOptions
        {
            InputColumnName = m.InputColumnName, OutputColumnName = m.OutputColumnName, ChunkCountColumnName = m.ChunkCountColumnName,
            RepairsColumnName = m.RepairsColumnName, FallbackColumnName = m.FallbackColumnName, Mode = m.Mode, MalformedPolicy = m.MalformedPolicy,
            Fallback = m.Fallback, BatchSize = m.BatchSize, SegmenterMaxNewTokens = m.SegmenterMaxNewTokens, Segmenter = segmenter,
        };
        options.Validate();
        return new StepChunkerTransformer(options);
    }

    private IReadOnlyList<ChunkedRow> Chunk(IReadOnlyList<string[]> batch, long firstRow)
    {
        var rows = _options.Mode switch
        {
            ChunkingMode.PreSegmented => batch.Select(steps => new ChunkedRow(steps.Select(s => s.Trim()).Where(s => s.Length > 0).ToArray(), 0, false)).ToArray(),
            ChunkingMode.SelfSegmentation => SelfSegment(batch.Select(b => b[0]).ToArray(), firstRow),
            _ => batch.Select((b, i) => ByRule(_options.Mode, b[0], firstRow + i)).ToArray(),
        };
        Interlocked.Add(ref _rows, rows.Length);
        Interlocked.Add(ref _repairs, rows.Sum(r => r.Repairs));
        Interlocked.Add(ref _rowsWithRepairs, rows.Count(r => r.Repairs > 0));
        Interlocked.Add(ref _fallbacks, rows.Count(r => r.Fallback));
        return rows;
    }

    private ChunkedRow ByRule(ChunkingMode mode, string text, long row)
    {
        switch (mode)
        {
            case ChunkingMode.BlankLines: return new ChunkedRow(ChunkParser.SplitBlankLines(text), 0, false);
            case ChunkingMode.StepMarkers: return new ChunkedRow(ChunkParser.SplitStepMarkers(text), 0, false);
            default:
                try
                {
                    var parsed = ChunkParser.ParseTags(text, _options.MalformedPolicy);
                    return new ChunkedRow(parsed.Chunks, parsed.Repairs, false);
                }
                catch (FormatException e)
                {
                    throw new FormatException($"{StageName}: row {row}, column '{_options.InputColumnName}': {e.Message} (set MalformedPolicy = Repair to repair and count instead)", e);
                }
        }
    }

    private ChunkedRow[] SelfSegment(string[] texts, long firstRow)
    {
        var sampling = SamplingOptions.Greedy(_options.SegmenterMaxNewTokens);
        var requests = texts.Select(t => GenerationRequest.FromText(_options.SegmenterPrompt(t), sampling)).ToArray();
        var results = Cancellation.Run(ct => _options.Segmenter!.GenerateAsync(requests, ct).GetAwaiter().GetResult());
        var rows = new ChunkedRow[texts.Length];
        for (var i = 0; i < texts.Length; i++)
        {
            var answer = results[i].Samples[0].Text;
            if (Reconstructs(answer, texts[i]) && TryParse(answer) is { } chunks) rows[i] = new ChunkedRow(chunks, 0, false);
            else rows[i] = ByRule(_options.Fallback, texts[i], firstRow + i) with { Fallback = true };
        }
        return rows;
    }

    private static bool Reconstructs(string tagged, string original) =>
        string.Equals(ChunkParser.StripTags(tagged).Trim(), original.Trim(), StringComparison.Ordinal);

    private static IReadOnlyList<string>? TryParse(string tagged)
    {
        try { return ChunkParser.ParseTags(tagged).Chunks; }
        catch (FormatException) { return null; }
    }

    private OutputColumn<ChunkedRow>[] Outputs() =>
    [
        OutputColumn<ChunkedRow>.TextVector(_options.OutputColumnName, r => r.Chunks),
        OutputColumn<ChunkedRow>.Int32(_options.ChunkCountColumnName, r => r.Chunks.Count),
        OutputColumn<ChunkedRow>.Int32(_options.RepairsColumnName, r => r.Repairs),
        OutputColumn<ChunkedRow>.Boolean(_options.FallbackColumnName, r => r.Fallback),
    ];

    /// <summary>Shape of the output columns, for <see cref="StepChunkerEstimator.GetOutputSchema"/>.</summary>
#pragma warning disable CS0649 // read by ML.NET through reflection of the shape, never assigned
    internal sealed class ShapeHolder
    {
        [VectorType] public ReadOnlyMemory<char>[] Chunks = [];
        public int ChunkCount;
        public int Repairs;
        public bool Fallback;
    }
#pragma warning restore CS0649

    private sealed record Manifest(string Stage, int Version, string InputColumnName, string OutputColumnName, string ChunkCountColumnName,
        string RepairsColumnName, string FallbackColumnName, ChunkingMode Mode, MalformedChunkPolicy MalformedPolicy, ChunkingMode Fallback, int BatchSize, int SegmenterMaxNewTokens);
}
