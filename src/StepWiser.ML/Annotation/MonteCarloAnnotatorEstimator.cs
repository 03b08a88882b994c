using Microsoft.ML;
using Microsoft.ML.Data;
using StepWiser.ML.Data;
using StepWiser.ML.Generation;
using StepWiser.ML.AnswerChecking;

namespace StepWiser.ML.Annotation;

/// <summary>
/// Monte-Carlo annotation as an ML.NET estimator (<c>mlContext.StepWiser().Transforms.AnnotateMonteCarlo</c>). Reads
/// the prompt (text), chunks (text vector) and reference answer (text) columns and adds Q_1..Q_H (float vector), Q_0
/// (float), labels under the chosen scheme (bool vector) and the count of failed prefixes (int). Nothing is learned;
/// <see cref="Fit"/> checks the schema.
/// </summary>
public sealed class MonteCarloAnnotatorEstimator : IEstimator<MonteCarloAnnotatorTransformer>
{
    private readonly MLContext _mlContext;
    private readonly ITextGenerator _policy;
    private readonly IAnswerVerifier _verifier;
    private readonly MonteCarloOptions _options;

    /// <summary>Creates the estimator; the options are validated here.</summary>
    internal MonteCarloAnnotatorEstimator(MLContext mlContext, ITextGenerator policy, IAnswerVerifier verifier, MonteCarloOptions options)
    {
        _mlContext = mlContext ?? throw new ArgumentNullException(nameof(mlContext));
        _policy = policy ?? throw new ArgumentNullException(nameof(policy));
        _verifier = verifier ?? throw new ArgumentNullException(nameof(verifier));
        _options = options ?? throw new ArgumentNullException(nameof(options));
        options.Validate();
    }

    /// <summary>The token of the catalog that made this stage (stops its fit and its transformer's transforms).</summary>
    internal CancellationToken CatalogToken { get; init; }

    /// <inheritdoc />
    public MonteCarloAnnotatorTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var transformer = new MonteCarloAnnotatorTransformer(_policy, _verifier, _options) { Cancellation = new(_mlContext, CatalogToken) };
        transformer.GetOutputSchema(input.Schema);
        return transformer;
    }

    /// <inheritdoc />
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        const string stage = MonteCarloAnnotatorTransformer.StageName;
        ColumnReader.Require(inputSchema, _options.PromptColumnName, TextDataViewType.Instance, vector: false, stage);
        ColumnReader.Require(inputSchema, _options.ChunksColumnName, TextDataViewType.Instance, vector: true, stage);
        ColumnReader.Require(inputSchema, _options.AnswerColumnName, TextDataViewType.Instance, vector: false, stage);
        return SchemaShapes.Append<MonteCarloAnnotatorTransformer.ShapeHolder>(_mlContext, inputSchema, new Dictionary<string, string>
        {
            [nameof(MonteCarloAnnotatorTransformer.ShapeHolder.Values)] = _options.ValuesColumnName,
            [nameof(MonteCarloAnnotatorTransformer.ShapeHolder.Initial)] = _options.InitialValueColumnName,
            [nameof(MonteCarloAnnotatorTransformer.ShapeHolder.Labels)] = _options.LabelsColumnName,
            [nameof(MonteCarloAnnotatorTransformer.ShapeHolder.Failed)] = _options.FailedColumnName,
        });
    }
}
