using Microsoft.ML;

namespace StepWiser.ML;

/// <summary>
/// The StepWiser stages of an <see cref="MLContext"/>, in the order of the method: <c>mlContext.StepWiser().Transforms</c>
/// (chunking, Monte-Carlo annotation), <c>.Trainers</c> (the GRPO stepwise judge and the discriminative baseline),
/// <c>.Evaluation</c> (ProcessBench metrics), <c>.Search</c> (chunk-reset search) and <c>.Selection</c> (judge-based
/// training-data selection). Every stage is an estimator; see docs/pipeline.md for columns.
/// </summary>
public sealed class StepWiserCatalog
{
    internal StepWiserCatalog(MLContext mlContext)
    {
        Context = mlContext;
        Transforms = new StepWiserTransforms(mlContext);
        Trainers = new StepWiserTrainers();
        Evaluation = new Evaluation.StepWiserEvaluation();
        Search = new StepWiserSearch(mlContext);
        Selection = new StepWiserSelection(mlContext);
    }

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
}
