namespace StepWiser.ML.Samples.Serving;

/// <summary>How <see cref="OpenAICompatibleServer"/> listens and names its model.</summary>
public sealed class OpenAIServerOptions
{
    /// <summary>Listening URL; loopback by default so a model is not exposed by accident. Port 0 picks a free port.</summary>
    public string Url { get; set; } = "http://127.0.0.1:8000";

    /// <summary>Model id that clients must send and that <c>/v1/models</c> lists.</summary>
    public string ModelName { get; set; } = "stepwiser-local";

    /// <summary>Largest <c>n</c> or <c>max_tokens</c> a request may ask for.</summary>
    public int MaxSamplesPerRequest { get; set; } = 64;

    /// <summary>Largest <c>max_tokens</c> a request may ask for.</summary>
    public int MaxNewTokens { get; set; } = 4096;
}
