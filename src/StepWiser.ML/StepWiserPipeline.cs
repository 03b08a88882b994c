using Microsoft.ML;
using Microsoft.ML.Data;

namespace StepWiser.ML;

/// <summary>
/// A fitted pipeline loaded by <c>mlContext.StepWiser().Load(folder)</c>: its stages as a
/// <see cref="TransformerChain{TLastTransformer}"/>, and the models it loaded for them (the policy of the annotator, the
/// search and the selection), which it owns. It transforms as the chain does; dispose it to free the models.
/// </summary>
public sealed class StepWiserPipeline : ITransformer, IDisposable
{
    private readonly IReadOnlyList<IDisposable> _owned;
    private bool _disposed;

    internal StepWiserPipeline(TransformerChain<ITransformer> chain, IReadOnlyList<IDisposable> owned)
    {
        Chain = chain;
        _owned = owned;
    }

    /// <summary>The stages, in order.</summary>
    public TransformerChain<ITransformer> Chain { get; }

    /// <summary>The last stage (e.g. the search).</summary>
    public ITransformer LastTransformer => Chain.LastTransformer;

    /// <inheritdoc />
    public bool IsRowToRowMapper => false;

    /// <inheritdoc />
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema) => Chain.GetOutputSchema(inputSchema);

    /// <inheritdoc />
    public IDataView Transform(IDataView input) => Chain.Transform(input);

    /// <inheritdoc />
    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema) =>
        throw new NotSupportedException("StepWiser transformers map rows in batches; use Transform(IDataView), or mlContext.StepWiser().CreatePredictionEngine for one row.");

    /// <summary>Not supported: ML.NET's model zip needs APIs ML.NET keeps internal.</summary>
    void ICanSaveModel.Save(ModelSaveContext ctx) => throw new NotSupportedException(PipelineFolder.UseStepWiserSave);

    /// <summary>Disposes the stages that hold models and the models loaded for the others.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        foreach (var stage in Chain) (stage as IDisposable)?.Dispose();
        foreach (var model in _owned) model.Dispose();
    }
}
