namespace StepWiser.ML.Annotation;

/// <summary>A prompt with k sampled solutions and their correctness.</summary>
/// <param name="Prompt">The prompt.</param>
/// <param name="Answer">Its reference answer.</param>
/// <param name="Solutions">The sampled solutions.</param>
/// <param name="Correct">Whether each solution's final answer is right.</param>
public sealed record SampledPrompt(string Prompt, string Answer, IReadOnlyList<string> Solutions, IReadOnlyList<bool> Correct)
{
    /// <summary>Share of correct samples.</summary>
    public double PassRate => Correct.Count == 0 ? 0 : Correct.Count(c => c) / (double)Correct.Count;

    /// <summary>True when some but not all samples are correct (the prompts the paper keeps).</summary>
    public bool IsMixed => PromptFilter.IsMixed(Correct);
}
