using Microsoft.ML;

namespace StepWiser.ML;

/// <summary>
/// The StepWiser stages of an <see cref="MLContext"/>: <c>mlContext.StepWiser().Transforms</c> (chunking, Monte-Carlo
/// annotation, judging), <c>.Trainers</c>, <c>.Evaluation</c>, <c>.Search</c> and <c>.Selection</c>.
/// </summary>
public sealed class StepWiserCatalog
{
    internal StepWiserCatalog(MLContext mlContext)
    {
        Context = mlContext;
        Transforms = new StepWiserTransforms(mlContext);
        Trainers = new StepWiserTrainers();
        Evaluation = new Evaluation.StepWiserEvaluation();
    }

    /// <summary>ProcessBench-style evaluation of judges.</summary>
    public Evaluation.StepWiserEvaluation Evaluation { get; }

    /// <summary>Trainers: the GRPO stepwise judge.</summary>
    public StepWiserTrainers Trainers { get; }

    /// <summary>The ML.NET context.</summary>
    public MLContext Context { get; }

    /// <summary>Row-mapping stages.</summary>
    public StepWiserTransforms Transforms { get; }
}
