using Microsoft.ML;

namespace StepWiser.ML;

/// <summary>
/// One row at a time through a fitted StepWiser pipeline or stage (<c>mlContext.StepWiser().CreatePredictionEngine</c>):
/// each call loads the rows as an <see cref="IDataView"/>, transforms them and reads the result back. Several rows in one
/// <see cref="PredictBatch"/> share the stages' batched model calls.
/// </summary>
/// <typeparam name="TSource">The input row class (its properties are the input columns).</typeparam>
/// <typeparam name="TDestination">The output row class (its properties name the columns read back).</typeparam>
public sealed class StepWiserPredictionEngine<TSource, TDestination>
    where TSource : class where TDestination : class, new()
{
    private readonly MLContext _mlContext;
    private readonly ITransformer _model;

    internal StepWiserPredictionEngine(MLContext mlContext, ITransformer model)
    {
        _mlContext = mlContext ?? throw new ArgumentNullException(nameof(mlContext));
        _model = model ?? throw new ArgumentNullException(nameof(model));
        // The columns are checked now, not at the first row.
        _model.GetOutputSchema(SchemaDefinition(mlContext));
    }

    /// <summary>The output for one input row.</summary>
    public TDestination Predict(TSource example)
    {
        ArgumentNullException.ThrowIfNull(example);
        return PredictBatch([example])[0];
    }

    /// <summary>The outputs for several rows, in their order.</summary>
    public IReadOnlyList<TDestination> PredictBatch(IReadOnlyList<TSource> examples)
    {
        ArgumentNullException.ThrowIfNull(examples);
        if (examples.Count == 0) return [];
        var output = _model.Transform(_mlContext.Data.LoadFromEnumerable(examples));
        return _mlContext.Data.CreateEnumerable<TDestination>(output, reuseRowObject: false).ToArray();
    }

    private static DataViewSchema SchemaDefinition(MLContext mlContext) => mlContext.Data.LoadFromEnumerable(Array.Empty<TSource>()).Schema;
}
