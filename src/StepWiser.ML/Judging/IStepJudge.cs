namespace StepWiser.ML.Judging;

/// <summary>Anything that judges single steps: the generative <see cref="StepwiseJudge"/>, a discriminative judge, an oracle in tests.</summary>
public interface IStepJudge
{
    /// <summary>Judges each step (problem, history, chunk); results in input order.</summary>
    Task<IReadOnlyList<StepVerdict>> JudgeStepsAsync(IReadOnlyList<JudgeInput> inputs, CancellationToken cancellationToken = default);
}
