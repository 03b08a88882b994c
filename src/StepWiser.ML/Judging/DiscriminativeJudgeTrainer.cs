using Microsoft.ML;

namespace StepWiser.ML.Judging;

/// <summary>
/// The discriminative baseline as an ML.NET estimator (<c>mlContext.StepWiser().Trainers.Discriminative</c>):
/// <see cref="Fit"/> reads labelled steps (problem, history, chunk, label), trains the base model to emit "+" or "-"
/// after each step (<see cref="JudgeRecipe.TrainDiscriminative"/>: balanced, the verdict stage's updates) and returns
/// the judge as a <see cref="DiscriminativeJudgeTransformer"/>.
/// </summary>
public sealed class DiscriminativeJudgeTrainer : IEstimator<DiscriminativeJudgeTransformer>
{
    private readonly DiscriminativeJudgeTrainerOptions _options;

    internal DiscriminativeJudgeTrainer(DiscriminativeJudgeTrainerOptions options) => _options = options ?? throw new ArgumentNullException(nameof(options));

    /// <inheritdoc />
    public DiscriminativeJudgeTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var o = _options;
        o.Validate();
        var examples = StepwiseJudgeTrainer.ReadExamples(input, o.ProblemColumnName, o.HistoryColumnName, o.ChunkColumnName, o.LabelColumnName);
        var judge = JudgeRecipe.TrainDiscriminative(o.Model!.Model, o.Model.Tokenizer, o.Template, examples, o.Recipe, o.Progress);
        var metadata = new Dictionary<string, string>
        {
            ["trainer"] = "discriminative",
            ["updates"] = o.Recipe.WarmupSteps.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["training_examples"] = examples.Count.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        return new DiscriminativeJudgeTransformer(judge, o.Model, o.Template, o.Judge, metadata);
    }

    /// <inheritdoc />
    public SchemaShape GetOutputSchema(SchemaShape inputSchema) =>
        throw new NotSupportedException("The judge maps solutions (problem, chunks), not the labelled steps it is trained on; call GetOutputSchema on the fitted DiscriminativeJudgeTransformer with the solutions' schema.");
}
