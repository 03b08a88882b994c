using StepWiser.ML.Generation;
using StepWiser.ML.AnswerChecking;

namespace StepWiser.ML.Annotation;

/// <summary>
/// The paper's prompt filter: sample k full solutions per prompt and keep the prompts where some but not all are
/// correct (the others carry no contrast for step values). Also returns the samples, which are the solutions to
/// annotate.
/// </summary>
public static class PromptFilter
{
    /// <summary>Samples <see cref="SamplingOptions.NumSamples"/> solutions per prompt and scores them.</summary>
    public static async Task<IReadOnlyList<SampledPrompt>> SampleAsync(ITextGenerator policy, IAnswerVerifier verifier,
        IReadOnlyList<(string Prompt, string Answer)> prompts, SamplingOptions sampling, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        var results = await policy.GenerateAsync(prompts.Select(p => GenerationRequest.FromText(p.Prompt, sampling)).ToArray(), cancellationToken).ConfigureAwait(false);
        return prompts.Select((p, i) => new SampledPrompt(p.Prompt, p.Answer,
            results[i].Samples.Select(s => s.Text).ToArray(),
            results[i].Samples.Select(s => verifier.Verify(s.Text, p.Answer).IsCorrect).ToArray())).ToArray();
    }

    /// <summary>True when some but not all samples are correct.</summary>
    public static bool IsMixed(IReadOnlyList<bool> correct) => correct.Any(c => c) && !correct.All(c => c);
}

