namespace StepWiser.ML.Generation;

/// <summary>
/// What a policy or a judge is to the rest of the library: something that continues prompts. Implemented by the
/// local engine over a <see cref="Models.CausalLM"/> and by the OpenAI-compatible HTTP client.
/// </summary>
public interface ITextGenerator
{
    /// <summary>
    /// Generates <see cref="SamplingOptions.NumSamples"/> continuations for each request. Results are in request order;
    /// implementations batch the requests as they see fit.
    /// </summary>
    Task<IReadOnlyList<GenerationResult>> GenerateAsync(IReadOnlyList<GenerationRequest> requests, CancellationToken cancellationToken = default);
}
