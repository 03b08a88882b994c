namespace StepWiser.ML.Judging;

/// <summary>
/// A two-pass ("solve, then compare") judge: pass 1, the <see cref="ReferenceWriter"/> writes its own version of each
/// step from the problem and the history without seeing the step; pass 2, the inner judge reads that reference with the
/// step — usually a <see cref="StepwiseJudge"/> with <see cref="JudgeTemplate.ReferencePairs"/>, trained on
/// <see cref="ReferenceComparison.Analysis"/> and then Monte-Carlo verdicts — and gives the verdict. Inputs that already
/// carry a <see cref="JudgeInput.Reference"/> keep it.
/// </summary>
/// <param name="writer">Pass 1 (shared between judges, so each reference is written once).</param>
/// <param name="judge">Pass 2, which reads <see cref="JudgeInput.Reference"/>.</param>
public sealed class ReferenceJudge(ReferenceWriter writer, IStepJudge judge) : IStepJudge
{
    /// <summary>Pass 1.</summary>
    public ReferenceWriter Writer { get; } = writer ?? throw new ArgumentNullException(nameof(writer));

    /// <summary>Pass 2.</summary>
    public IStepJudge Judge { get; } = judge ?? throw new ArgumentNullException(nameof(judge));

    /// <inheritdoc />
    public async Task<IReadOnlyList<StepVerdict>> JudgeStepsAsync(IReadOnlyList<JudgeInput> inputs, CancellationToken cancellationToken = default)
    {
        var withReferences = await Writer.WithReferencesAsync(inputs, cancellationToken).ConfigureAwait(false);
        return await Judge.JudgeStepsAsync(withReferences, cancellationToken).ConfigureAwait(false);
    }
}
