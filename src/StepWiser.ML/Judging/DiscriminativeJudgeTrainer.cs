using Microsoft.ML;
using Microsoft.ML.Data;

namespace StepWiser.ML.Judging;

/// <summary>
/// The discriminative baseline as an ML.NET estimator (<c>mlContext.StepWiser().Trainers.Discriminative</c>):
/// <see cref="Fit"/> reads labelled steps (problem, history, chunk, label) or annotated solutions (problem, chunks, step
/// labels: <see cref="DiscriminativeJudgeTrainerOptions.StepLabelsColumnName"/>, which lets it follow the annotator in an
/// <see cref="EstimatorChain{TLastTransformer}"/>), trains a copy of the base model (the model itself with
/// <see cref="DiscriminativeJudgeTrainerOptions.TrainInPlace"/>) to emit "+" or "-" after each step
/// (<see cref="JudgeRecipe.TrainDiscriminative"/>: balanced, the verdict stage's updates) and returns the judge as a
/// <see cref="DiscriminativeJudgeTransformer"/>.
/// </summary>
public sealed class DiscriminativeJudgeTrainer : IEstimator<DiscriminativeJudgeTransformer>
{
    private const string StageName = "DiscriminativeJudge";
    private readonly DiscriminativeJudgeTrainerOptions _options;
    private readonly MLContext _mlContext;

    internal DiscriminativeJudgeTrainer(DiscriminativeJudgeTrainerOptions options, MLContext mlContext)
    {
        _options = options ?? throw new ArgumentNullException(nameof(options));
        _mlContext = mlContext ?? throw new ArgumentNullException(nameof(mlContext));
    }

    /// <summary>The token of the catalog that made this stage (stops its fit and its transformer's transforms).</summary>
    internal CancellationToken CatalogToken { get; init; }

    /// <inheritdoc />
    public DiscriminativeJudgeTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var o = _options;
        o.Validate();
        var examples = o.Input(StageName).Read(input);
        var model = JudgeTrainingInput.StartingModel(o.Model!, o.TrainInPlace, JudgeTrainingInput.ContextDevice(_mlContext, o.Model!));
        DiscriminativeJudge judge;
        try
        {
            ContextServices.Info(_mlContext, StageName, $"fitting on {examples.Count} labelled steps ({examples.Count(e => e.Label)} positive)");
            judge = ContextServices.Run(_mlContext, o.CancellationToken, CatalogToken, ct => JudgeRecipe.TrainDiscriminative(model.Model, model.Tokenizer, o.Template, examples, o.Recipe, o.Progress, ct));
        }
        catch
        {
            if (!o.TrainInPlace) model.Dispose();
            throw;
        }
        var metadata = new Dictionary<string, string>
        {
            ["trainer"] = "discriminative",
            ["updates"] = o.Recipe.WarmupSteps.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["training_examples"] = examples.Count.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["positive_examples"] = examples.Count(e => e.Label).ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        return new DiscriminativeJudgeTransformer(judge, model, o.Template, o.Judge, metadata) { Cancellation = new(_mlContext, CatalogToken) };
    }

    /// <summary>
    /// The input shape with the fitted judge's columns appended (verdicts, scores, first rejected step, named by
    /// <see cref="DiscriminativeJudgeTrainerOptions.Judge"/>), after checking the columns the trainer reads and those the
    /// judge reads (problem and chunks); an error names the missing or mistyped column. Inside an
    /// <see cref="EstimatorChain{TLastTransformer}"/> the trainer needs annotated solutions
    /// (<see cref="DiscriminativeJudgeTrainerOptions.StepLabelsColumnName"/>): labelled steps have no chunks column for the judge to read.
    /// </summary>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        _options.Validate();
        return _options.Input(StageName).OutputShape(_mlContext, inputSchema, _options.Judge, rationales: false);
    }
}
