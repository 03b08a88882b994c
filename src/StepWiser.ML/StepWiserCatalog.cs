using Microsoft.ML;
using StepWiser.ML.Judging;
using StepWiser.ML.Models;
using static TorchSharp.torch;

namespace StepWiser.ML;

/// <summary>
/// The StepWiser stages of an <see cref="MLContext"/>, in the order of the method: <c>mlContext.StepWiser().Transforms</c>
/// (chunking, Monte-Carlo annotation), <c>.Trainers</c> (the GRPO stepwise judge and the discriminative baseline),
/// <c>.Evaluation</c> (ProcessBench metrics), <c>.Search</c> (chunk-reset search) and <c>.Selection</c> (judge-based
/// training-data selection). Every stage is an estimator; see docs/pipeline.md for columns. A model runs on the device
/// given explicitly, else on the GPU <see cref="MLContext.GpuDeviceId"/> names (the CPU when that GPU is missing and
/// <see cref="MLContext.FallbackToCpu"/> is set), else on the CPU: <see cref="LoadModel"/> and <see cref="LoadJudge"/>
/// load there, and the judge trainer moves a model it was given on the CPU there before training.
/// </summary>
public sealed class StepWiserCatalog
{
    internal StepWiserCatalog(MLContext mlContext, CancellationToken cancellationToken)
    {
        Context = mlContext;
        CancellationToken = cancellationToken;
        Transforms = new StepWiserTransforms(mlContext, cancellationToken);
        Trainers = new StepWiserTrainers(mlContext, cancellationToken);
        Evaluation = new Evaluation.StepWiserEvaluation();
        Search = new StepWiserSearch(mlContext, cancellationToken);
        Selection = new StepWiserSelection(mlContext, cancellationToken);
    }

    /// <summary>The token that stops every fit and transform of the stages this catalog makes (none by default; see <c>mlContext.StepWiser(cancellationToken)</c>).</summary>
    public CancellationToken CancellationToken { get; }

    /// <summary>Inference-time search with a judge: chunk-reset.</summary>
    public StepWiserSearch Search { get; }

    /// <summary>Training-data selection with a judge.</summary>
    public StepWiserSelection Selection { get; }

    /// <summary>ProcessBench-style evaluation of judges.</summary>
    public Evaluation.StepWiserEvaluation Evaluation { get; }

    /// <summary>Trainers: the GRPO stepwise judge and the discriminative baseline.</summary>
    public StepWiserTrainers Trainers { get; }

    /// <summary>The ML.NET context.</summary>
    public MLContext Context { get; }

    /// <summary>Row-mapping stages.</summary>
    public StepWiserTransforms Transforms { get; }

    /// <summary>
    /// Loads a checkpoint in Hugging Face layout (<see cref="ModelBundle.Load"/>) in <paramref name="dtype"/> onto
    /// <paramref name="device"/> when given, else onto the device the context chooses (<see cref="MLContext.GpuDeviceId"/>,
    /// falling back to the CPU only when <see cref="MLContext.FallbackToCpu"/> is set), else onto the CPU.
    /// </summary>
    public ModelBundle LoadModel(string directory, ScalarType dtype = ScalarType.Float32, Device? device = null) =>
        ModelBundle.Load(directory, ContextDevice.Choose(device, Context), dtype);

    /// <summary>
    /// Saves a fitted pipeline (a <c>TransformerChain</c> from an <c>EstimatorChain</c>'s <c>Fit</c>, one stage, or a
    /// loaded <see cref="StepWiserPipeline"/>) as one folder: <c>pipeline.json</c>, each local policy once as a
    /// <see cref="ModelBundle"/> in Hugging Face layout (a served policy by its address and client limits, never its
    /// key), each judge in its own folder, ML.NET's own stages as model zips. Everything is checked before anything is
    /// written (a stage that cannot be saved, such as a custom verifier or a judge that is not a stage of the pipeline,
    /// names itself in the error), and the folder is written whole: a saved pipeline there is
    /// replaced, a non-empty folder of anything else is refused. <c>mlContext.Model.Save</c> cannot hold StepWiser
    /// stages (ML.NET keeps the APIs it needs internal) and says to use this.
    /// </summary>
    public void Save(ITransformer model, string folder) => PipelineFolder.Save(Context, model, folder);

    /// <summary>
    /// Loads a pipeline written by <see cref="Save"/>, its models onto <paramref name="device"/> when given, else the
    /// device the context chooses (as <see cref="LoadModel"/>); the pipeline owns them: dispose it.
    /// </summary>
    public StepWiserPipeline Load(string folder, Device? device = null) => PipelineFolder.Load(Context, folder, ContextDevice.Choose(device, Context), CancellationToken);

    /// <summary>
    /// A prediction engine for one row at a time over a fitted pipeline or stage: <c>Predict(row)</c> runs the row
    /// through it (StepWiser stages work in batches, so ML.NET's <c>CreatePredictionEngine</c> cannot take them).
    /// <typeparamref name="TSource"/> and <typeparamref name="TDestination"/> are classes as for
    /// <c>mlContext.Data.LoadFromEnumerable</c> and <c>CreateEnumerable</c>.
    /// </summary>
    public StepWiserPredictionEngine<TSource, TDestination> CreatePredictionEngine<TSource, TDestination>(ITransformer model)
        where TSource : class where TDestination : class, new() => new(Context, model);

    /// <summary>
    /// Loads a saved judge (<see cref="StepwiseJudgeTransformer.Load(string, Device?, JudgeTemplate?, Func{StepwiseJudgeOptions, StepwiseJudgeOptions}?, ScalarType)"/>)
    /// in <paramref name="dtype"/> onto the device chosen as for <see cref="LoadModel"/>.
    /// </summary>
    public StepwiseJudgeTransformer LoadJudge(string directory, ScalarType dtype = ScalarType.Float32, Device? device = null, Func<StepwiseJudgeOptions, StepwiseJudgeOptions>? configure = null) =>
        StepwiseJudgeTransformer.Load(directory, ContextDevice.Choose(device, Context), configure: configure, dtype: dtype);
}
