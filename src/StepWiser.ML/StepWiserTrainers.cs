using Microsoft.ML;
using StepWiser.ML.Judging;

namespace StepWiser.ML;

/// <summary>The trainers of StepWiser, reached from <c>mlContext.StepWiser().Trainers</c>.</summary>
public sealed class StepWiserTrainers
{
    private readonly MLContext _mlContext;

    private readonly CancellationToken _token;

    internal StepWiserTrainers(MLContext mlContext, CancellationToken token)
    {
        _mlContext = mlContext;
        _token = token;
    }

    /// <summary>
    /// The generative stepwise judge trained with GRPO on labelled steps or annotated solutions (then it composes after
    /// the annotator in an <c>EstimatorChain</c>), from a copy of the given model; when the context names a GPU
    /// (<see cref="MLContext.GpuDeviceId"/>), a model given on the CPU is trained there.
    /// </summary>
    public StepwiseJudgeTrainer StepwiseJudge(StepwiseJudgeTrainerOptions options) => new(options, _mlContext) { CatalogToken = _token };

    /// <summary>
    /// The discriminative baseline: the same backbone trained on the same labelled steps to emit "+" or "-" after the
    /// step, no analysis (the paper's comparison is CoT or no CoT, nothing else).
    /// </summary>
    public DiscriminativeJudgeTrainer Discriminative(DiscriminativeJudgeTrainerOptions options) => new(options, _mlContext) { CatalogToken = _token };
}
