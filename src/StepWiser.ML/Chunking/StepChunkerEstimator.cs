using Microsoft.ML;
using Microsoft.ML.Data;
using StepWiser.ML.Data;

namespace StepWiser.ML.Chunking;

/// <summary>
/// Cuts a solution column into chunks (reached from <c>mlContext.StepWiser().Transforms.ChunkSteps</c>).
/// Reads <see cref="StepChunkerOptions.InputColumnName"/> (text; text vector in pre-segmented mode) and adds
/// <see cref="StepChunkerOptions.OutputColumnName"/> (text vector), <see cref="StepChunkerOptions.ChunkCountColumnName"/>
/// (int), <see cref="StepChunkerOptions.RepairsColumnName"/> (int) and <see cref="StepChunkerOptions.FallbackColumnName"/> (bool).
/// Nothing is learned: <see cref="Fit"/> checks the schema and returns the transformer.
/// </summary>
public sealed class StepChunkerEstimator : IEstimator<StepChunkerTransformer>
{
    private readonly MLContext _mlContext;
    private readonly StepChunkerOptions _options;

    /// <summary>Creates the estimator; the options are validated here.</summary>
    internal StepChunkerEstimator(MLContext mlContext, StepChunkerOptions options)
    {
        _mlContext = mlContext ?? throw new ArgumentNullException(nameof(mlContext));
        _options = options ?? throw new ArgumentNullException(nameof(options));
        options.Validate();
    }

    /// <summary>The token of the catalog that made this stage (stops its fit and its transformer's transforms).</summary>
    internal CancellationToken CatalogToken { get; init; }

    /// <inheritdoc />
    public StepChunkerTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var transformer = new StepChunkerTransformer(_options) { Cancellation = new(_mlContext, CatalogToken) };
        transformer.GetOutputSchema(input.Schema);
        return transformer;
    }

    /// <inheritdoc />
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        ColumnReader.Require(inputSchema, _options.InputColumnName, TextDataViewType.Instance, vector: _options.Mode == ChunkingMode.PreSegmented, StepChunkerTransformer.StageName);
        return SchemaShapes.Append<StepChunkerTransformer.ShapeHolder>(_mlContext, inputSchema, new Dictionary<string, string>
        {
            [nameof(StepChunkerTransformer.ShapeHolder.Chunks)] = _options.OutputColumnName,
            [nameof(StepChunkerTransformer.ShapeHolder.ChunkCount)] = _options.ChunkCountColumnName,
            [nameof(StepChunkerTransformer.ShapeHolder.Repairs)] = _options.RepairsColumnName,
            [nameof(StepChunkerTransformer.ShapeHolder.Fallback)] = _options.FallbackColumnName,
        });
    }
}
