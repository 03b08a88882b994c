using Microsoft.ML;
using Microsoft.ML.Data;
using StepWiser.ML.Data;
using StepWiser.ML.Generation;
using StepWiser.ML.AnswerChecking;

namespace StepWiser.ML.Annotation;

/// <summary>
/// The fitted annotation stage. <see cref="Transform"/> is lazy: a cursor annotates <see cref="MonteCarloOptions.BatchSize"/>
/// solutions per policy call as it reads. With a store, a second pass (or a restarted run) reads finished prefixes
/// from disk instead of sampling them again. Rows outside this run's shard get NaN values and no labels.
/// </summary>
public sealed class MonteCarloAnnotatorTransformer : ITransformer, IDisposable, ICancellableStage
{
    internal const string StageName = "AnnotateMonteCarlo";
    private readonly MonteCarloOptions _options;
    private readonly MonteCarloAnnotator _annotator;

    internal MonteCarloAnnotatorTransformer(ITextGenerator policy, IAnswerVerifier verifier, MonteCarloOptions options)
    {
        _options = options;
        _annotator = new MonteCarloAnnotator(policy, verifier, options);
        Policy = policy;
        Verifier = verifier;
    }

    /// <summary>What <c>mlContext.StepWiser().Save</c> records: the policy, the verifier and the options.</summary>
    internal ITextGenerator Policy { get; }

    internal IAnswerVerifier Verifier { get; }

    internal MonteCarloOptions Options => _options;

    /// <summary>The annotator doing the work (rollout and cache counters).</summary>
    public MonteCarloAnnotator Annotator => _annotator;

    /// <summary>What stops a transform of this stage (set by the catalog that made it: its token and the context's cancellation).</summary>
    internal StageCancellation Cancellation { get; set; }

    StageCancellation ICancellableStage.Cancellation { get => Cancellation; set => Cancellation = value; }

    /// <inheritdoc />
    public bool IsRowToRowMapper => false;

    /// <inheritdoc />
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
    {
        ColumnReader.Require(inputSchema, _options.PromptColumnName, TextDataViewType.Instance, StageName);
        ColumnReader.Require(inputSchema, _options.ChunksColumnName, new VectorDataViewType(TextDataViewType.Instance), StageName);
        ColumnReader.Require(inputSchema, _options.AnswerColumnName, TextDataViewType.Instance, StageName);
        return BatchMappedDataView<AnnotationInput, AnnotationResult?>.AppendColumns(inputSchema, Outputs());
    }

    /// <inheritdoc />
    public IDataView Transform(IDataView input)
    {
        GetOutputSchema(input.Schema);
        var o = _options;
        var row = 0L;
        if (input.GetRowCount() is { } count) _annotator.ExpectedRows = (count + o.ShardCount - 1 - o.ShardIndex) / o.ShardCount;
        return new BatchMappedDataView<AnnotationInput, AnnotationResult?>(input, [o.PromptColumnName, o.ChunksColumnName, o.AnswerColumnName], cursor =>
        {
            var prompt = ColumnReader.Text(cursor, o.PromptColumnName);
            var chunks = ColumnReader.TextVector(cursor, o.ChunksColumnName);
            var answer = ColumnReader.Text(cursor, o.AnswerColumnName);
            return () => new AnnotationInput(prompt(), chunks(), answer());
        }, Outputs(), batch =>
        {
            // Shards are by global row index, so a batch keeps only its rows of this shard.
            var first = row;
            row += batch.Count;
            var mine = Enumerable.Range(0, batch.Count).Where(i => (first + i) % o.ShardCount == o.ShardIndex).ToArray();
            var results = Cancellation.Run(ct => _annotator.AnnotateBatchAsync(mine.Select(i => batch[i]).ToArray(), ct).GetAwaiter().GetResult());
            var output = new AnnotationResult?[batch.Count];
            for (var j = 0; j < mine.Length; j++) output[mine[j]] = results[j];
            return output;
        }, o.BatchSize);
    }

    /// <inheritdoc />
    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema) =>
        throw new NotSupportedException("StepWiser transformers map rows in batches; use Transform(IDataView).");

    /// <summary>Not supported: ML.NET's model zip needs APIs ML.NET keeps internal; use <c>mlContext.StepWiser().Save(model, folder)</c> (or this stage's own Save where it has one).</summary>
    void ICanSaveModel.Save(ModelSaveContext ctx) =>
        throw new NotSupportedException(PipelineFolder.UseStepWiserSave);

    /// <inheritdoc />
    public void Dispose() => _annotator.Dispose();

    private OutputColumn<AnnotationResult?>[] Outputs()
    {
        var o = _options;
        return
        [
            OutputColumn<AnnotationResult?>.SingleVector(o.ValuesColumnName, r => r?.Values ?? []),
            OutputColumn<AnnotationResult?>.Single(o.InitialValueColumnName, r => r?.InitialValue ?? float.NaN),
            OutputColumn<AnnotationResult?>.BooleanVector(o.LabelsColumnName, r => r is { } a && StepLabels.IsComplete(a.InitialValue, a.Values, o.Scheme) ? a.Labels(o.Scheme, o.Labels) : []),
            OutputColumn<AnnotationResult?>.Int32(o.FailedColumnName, r => r?.FailedPrefixes ?? 0),
        ];
    }

#pragma warning disable CS0649 // shape only: ML.NET reads the field types
    internal sealed class ShapeHolder
    {
        [VectorType] public float[] Values = [];
        public float Initial;
        [VectorType] public bool[] Labels = [];
        public int Failed;
    }
#pragma warning restore CS0649
}
