using Microsoft.ML;

namespace StepWiser.ML;

/// <summary>
/// The StepWiser stages of an <see cref="MLContext"/>: <c>mlContext.StepWiser().Transforms</c> (chunking, Monte-Carlo
/// annotation, chunk-reset search), <c>.Trainers</c> (the GRPO stepwise judge) and <c>.Evaluation</c>. Data selection
/// (<c>Selection.JudgeDataSelection</c>) and the discriminative baseline (<c>Judging.DiscriminativeJudge</c>) are not in
/// the catalog yet (issue 16).
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
