using Microsoft.ML;
using Microsoft.ML.Data;
using StepWiser.ML.Data;
using StepWiser.ML.Models;
using StepWiser.ML.Tokenization;

namespace StepWiser.ML.Judging;

/// <summary>
/// The StepWiser judge trainer as an ML.NET estimator: <see cref="Fit"/> reads labelled steps (problem, history,
/// chunk, label) or annotated solutions (problem, chunks, step labels: <see cref="StepwiseJudgeTrainerOptions.StepLabelsColumnName"/>,
/// which lets it follow the annotator in an <see cref="EstimatorChain{TLastTransformer}"/>), trains a copy of the base
/// model with GRPO (<see cref="GrpoTrainer"/>; the model itself with <see cref="StepwiseJudgeTrainerOptions.TrainInPlace"/>)
/// and returns the judge transformer, which adds verdict and score columns to solutions.
/// The GRPO metrics of the fit are in <see cref="LastMetrics"/>. Made from <c>mlContext.StepWiser().Trainers</c>, it
/// honours <see cref="MLContext.GpuDeviceId"/>: a model given on the CPU is trained on that GPU (on the CPU only when
/// the GPU is missing and <see cref="MLContext.FallbackToCpu"/> is set; otherwise <see cref="Fit"/> throws before any
/// work): the copy is made there, or, in place, the model moves there. A model already on a GPU stays where its owner put it.
/// </summary>
public sealed class StepwiseJudgeTrainer : IEstimator<StepwiseJudgeTransformer>
{
    private const string StageName = "StepwiseJudge";
    private readonly StepwiseJudgeTrainerOptions _options;
    private readonly MLContext _mlContext;

    internal StepwiseJudgeTrainer(StepwiseJudgeTrainerOptions options, MLContext mlContext)
    {
        _options = options ?? throw new ArgumentNullException(nameof(options));
        _mlContext = mlContext ?? throw new ArgumentNullException(nameof(mlContext));
    }

    /// <summary>Per-step metrics of the last <see cref="Fit"/>.</summary>
    public IReadOnlyList<GrpoStepMetrics> LastMetrics { get; private set; } = [];

    /// <summary>Reads labelled steps from an <see cref="IDataView"/>.</summary>
    public static IReadOnlyList<JudgeExample> ReadExamples(IDataView data, string problem = "Problem", string history = "History", string chunk = "Chunk", string label = "Label", string reference = "Reference")
    {
        ColumnReader.Require(data.Schema, problem, TextDataViewType.Instance, "StepwiseJudge");
        ColumnReader.Require(data.Schema, history, new VectorDataViewType(TextDataViewType.Instance), "StepwiseJudge");
        ColumnReader.Require(data.Schema, chunk, TextDataViewType.Instance, "StepwiseJudge");
        ColumnReader.Require(data.Schema, label, BooleanDataViewType.Instance, "StepwiseJudge");
        // The judge's own reference per step (two-pass judges), when the data has the column; empty means none.
        var hasReference = data.Schema.GetColumnOrNull(reference) is { } column && column.Type is TextDataViewType;
        var columns = new List<DataViewSchema.Column> { data.Schema[problem], data.Schema[history], data.Schema[chunk], data.Schema[label] };
        if (hasReference) columns.Add(data.Schema[reference]);
        var list = new List<JudgeExample>();
        using var cursor = data.GetRowCursor(columns);
        var p = ColumnReader.Text(cursor, problem);
        var h = ColumnReader.TextVector(cursor, history);
        var c = ColumnReader.Text(cursor, chunk);
        var r = hasReference ? ColumnReader.Text(cursor, reference) : null;
        var getLabel = cursor.GetGetter<bool>(data.Schema[label]);
        var l = false;
        while (cursor.MoveNext())
        {
            getLabel(ref l);
            var written = r?.Invoke();
            list.Add(new JudgeExample(new JudgeInput(p(), h(), c()) { Reference = string.IsNullOrEmpty(written) ? null : written }, l));
        }
        return list;
    }

    /// <summary>
    /// Labelled steps as the <see cref="IDataView"/> <see cref="Fit"/> reads: columns Problem (text), History (text
    /// vector), Chunk (text), Label (bool) and Reference (text, empty when a step has none), the inverse of <see cref="ReadExamples"/>.
    /// </summary>
    public static IDataView ToDataView(MLContext mlContext, IEnumerable<JudgeExample> examples)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        ArgumentNullException.ThrowIfNull(examples);
        return mlContext.Data.LoadFromEnumerable(examples.Select(e => new StepRow { Problem = e.Input.Problem, History = e.Input.History.ToArray(), Chunk = e.Input.Chunk, Label = e.Label, Reference = e.Input.Reference ?? "" }));
    }

    /// <summary>The token of the catalog that made this stage (stops its fit and its transformer's transforms).</summary>
    internal CancellationToken CatalogToken { get; init; }

    /// <inheritdoc />
    public StepwiseJudgeTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var o = _options;
        o.Validate();
        var examples = o.Input(StageName).Read(input);
        var model = JudgeTrainingInput.StartingModel(o.Model!, o.TrainInPlace, JudgeTrainingInput.ContextDevice(_mlContext, o.Model!));
        try
        {
            Log($"fitting on {examples.Count} labelled steps ({examples.Count(e => e.Label)} positive)");
            LastMetrics = ContextServices.Run(_mlContext, o.CancellationToken, CatalogToken, ct =>
                o.Recipe is { } recipe ? RunRecipe(model, examples, recipe, ct)
                    : JudgeRecipe.Reinforce(model.Model, model.Tokenizer, o.Template, examples, new JudgeRecipeOptions { Grpo = o.Grpo, Balance = o.Grpo.BalancePrompts }, o.Progress, ct));
        }
        catch
        {
            if (!o.TrainInPlace) model.Dispose();
            throw;
        }
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        var grpo = o.Recipe?.Grpo ?? o.Grpo;
        var rlSteps = o.Recipe is { } r && !r.Stages.HasFlag(JudgeRecipeStages.Grpo) ? 0 : grpo.Steps;
        var metadata = new Dictionary<string, string>(o.Metadata)
        {
            ["trainer"] = o.Recipe is null ? "grpo" : "recipe",
            ["rl_steps"] = rlSteps.ToString(inv),
            ["balanced_prompts"] = (o.Recipe?.Balance ?? grpo.BalancePrompts).ToString(),
            ["training_examples"] = examples.Count.ToString(inv),
            ["positive_examples"] = examples.Count(e => e.Label).ToString(inv),
        };
        if (o.Recipe is { } done)
        {
            metadata["recipe_stages"] = done.Stages.ToString();
            if (done.Stages.HasFlag(JudgeRecipeStages.Analysis)) metadata["analysis_steps"] = done.PretrainSteps.ToString(inv);
            if (done.Stages.HasFlag(JudgeRecipeStages.Verdicts)) metadata["verdict_steps"] = done.WarmupSteps.ToString(inv);
        }
        return LastFitted = new StepwiseJudgeTransformer(model, o.Template, o.Judge, metadata) { Cancellation = new(_mlContext, CatalogToken) };
    }

    /// <summary>The judge of the last <see cref="Fit"/> (what a search or selection made over this trainer uses).</summary>
    internal StepwiseJudgeTransformer? LastFitted { get; private set; }

    /// <summary>The recipe's stages in order on <paramref name="model"/>: analysis, verdicts, GRPO (those <see cref="JudgeRecipeOptions.Stages"/> names).</summary>
    private IReadOnlyList<GrpoStepMetrics> RunRecipe(ModelBundle model, IReadOnlyList<JudgeExample> examples, JudgeRecipeOptions recipe, CancellationToken ct)
    {
        var o = _options;
        var write = o.Analysis?.Write;
        if (recipe.Stages.HasFlag(JudgeRecipeStages.Analysis) && recipe.PretrainSteps > 0)
        {
            Log($"analysis stage: {recipe.PretrainSteps} updates on {o.Analysis!.UnlabelledSteps.Count} unlabelled steps");
            JudgeRecipe.Pretrain(model.Model, model.Tokenizer, o.Template, o.Analysis.UnlabelledSteps, o.Analysis.Write, recipe, o.SupervisedProgress, ct);
        }
        if (recipe.Stages.HasFlag(JudgeRecipeStages.Verdicts))
        {
            Log($"verdict stage: {recipe.WarmupSteps} updates on {examples.Count} labelled steps");
            JudgeRecipe.WarmUp(model.Model, model.Tokenizer, o.Template, examples, write, recipe, o.SupervisedProgress, ct, o.Analysis?.UnlabelledSteps);
        }
        if (!recipe.Stages.HasFlag(JudgeRecipeStages.Grpo)) return [];
        Log($"GRPO: {recipe.Grpo.Steps} steps");
        return JudgeRecipe.Reinforce(model.Model, model.Tokenizer, o.Template, examples, recipe, o.Progress, ct);
    }

    private void Log(string message) => ContextServices.Info(_mlContext, StageName, message);

    /// <summary>
    /// The input shape with the fitted judge's columns appended (verdicts, scores, rationales, first rejected step, named
    /// by <see cref="StepwiseJudgeTrainerOptions.Judge"/>), after checking the columns the trainer reads and those the
    /// judge reads (problem and chunks); an error names the missing or mistyped column. Inside an
    /// <see cref="EstimatorChain{TLastTransformer}"/> the trainer needs annotated solutions
    /// (<see cref="StepwiseJudgeTrainerOptions.StepLabelsColumnName"/>): labelled steps have no chunks column for the judge to read.
    /// </summary>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        _options.Validate();
        return _options.Input(StageName).OutputShape(_mlContext, inputSchema, _options.Judge, rationales: true);
    }

    private sealed class StepRow
    {
        public string Problem { get; set; } = "";
        [VectorType] public string[] History { get; set; } = [];
        public string Chunk { get; set; } = "";
        public bool Label { get; set; }
        public string Reference { get; set; } = "";
    }
}
