namespace StepWiser.ML.Generation;

/// <summary>
/// Where and how <see cref="OpenAICompatibleTextGenerator"/> talks to a server speaking the OpenAI-compatible
/// <c>/v1/completions</c> API (vLLM, SGLang, llama.cpp server, TGI, or <c>serve</c> of the samples app).
/// Unset values come from the environment: <c>STEPWISER_OPENAI_BASE_URL</c> (or <c>OPENAI_BASE_URL</c>),
/// <c>STEPWISER_OPENAI_MODEL</c>, <c>STEPWISER_OPENAI_API_KEY</c>; <c>OPENAI_API_KEY</c> only when the base URL also
/// came from the environment (a key is sent only to the endpoint it was configured with, never to a URL set in code).
/// A key is never sent over plain http to a host that is not loopback unless <see cref="AllowInsecureApiKey"/> is set.
/// </summary>
public sealed class OpenAICompatibleOptions
{
    private int _maxConcurrentRequests = 16;
    private int _maxRetries = 6;
    private TimeSpan _attemptTimeout = TimeSpan.FromMinutes(10);
    private TimeSpan _totalTimeout = TimeSpan.FromMinutes(30);
    private TimeSpan _retryBaseDelay = TimeSpan.FromMilliseconds(500);
    private long _maxResponseBytes = DefaultMaxResponseBytes;

    /// <summary>Default of <see cref="MaxResponseBytes"/>: 32 MiB, far above n = 64 samples of 4,096 tokens with log-probabilities.</summary>
    public const long DefaultMaxResponseBytes = 32L << 20;

    /// <summary>Base URL of the server, e.g. <c>http://localhost:8000/v1</c>; a URL without <c>/v1</c> gets it appended.</summary>
    public Uri? BaseUrl { get; set; }

    /// <summary>Model name sent with every request; when null, the first model listed by <c>/v1/models</c> is used.</summary>
    public string? Model { get; set; }

    /// <summary>Bearer token; never logged, never part of <see cref="ToString"/>.</summary>
    public string? ApiKey { get; set; }

    /// <summary>Allows sending <see cref="ApiKey"/> over plain http to a host that is not loopback (anyone on the path can read it).</summary>
    public bool AllowInsecureApiKey { get; set; }

    /// <summary>Largest number of HTTP requests in flight at once (default 16).</summary>
    public int MaxConcurrentRequests
    {
        get => _maxConcurrentRequests;
        set => _maxConcurrentRequests = value >= 1 ? value : throw new ArgumentOutOfRangeException(nameof(MaxConcurrentRequests), value, "must be at least 1");
    }

    /// <summary>Retries after a 408, 429, 5xx, a timed-out attempt or a lost connection (default 6).</summary>
    public int MaxRetries
    {
        get => _maxRetries;
        set => _maxRetries = value >= 0 ? value : throw new ArgumentOutOfRangeException(nameof(MaxRetries), value, "must be >= 0");
    }

    /// <summary>First back-off delay; later ones grow exponentially with jitter, and a Retry-After header wins.</summary>
    public TimeSpan RetryBaseDelay
    {
        get => _retryBaseDelay;
        set => _retryBaseDelay = value >= TimeSpan.Zero ? value : throw new ArgumentOutOfRangeException(nameof(RetryBaseDelay), value, "must be >= 0");
    }

    /// <summary>
    /// Largest response body accepted (default <see cref="DefaultMaxResponseBytes"/>); a larger one fails the attempt
    /// without being read further, so a broken or hostile server cannot fill the memory.
    /// </summary>
    public long MaxResponseBytes
    {
        get => _maxResponseBytes;
        set => _maxResponseBytes = value >= 1 ? value : throw new ArgumentOutOfRangeException(nameof(MaxResponseBytes), value, "must be at least 1");
    }

    /// <summary>
    /// Time limit of one HTTP attempt, from sending the request to the last byte of the response body (default 10
    /// minutes: a long generation is not a failure).
    /// </summary>
    public TimeSpan AttemptTimeout
    {
        get => _attemptTimeout;
        set => _attemptTimeout = value > TimeSpan.Zero ? value : throw new ArgumentOutOfRangeException(nameof(AttemptTimeout), value, "must be positive");
    }

    /// <summary>Time limit of one request including all its retries and every response body (default 30 minutes).</summary>
    public TimeSpan TotalTimeout
    {
        get => _totalTimeout;
        set => _totalTimeout = value > TimeSpan.Zero ? value : throw new ArgumentOutOfRangeException(nameof(TotalTimeout), value, "must be positive");
    }

    /// <summary>A copy of <paramref name="given"/> with every unset value filled from the environment variables named in the class summary.</summary>
    public static OpenAICompatibleOptions FromEnvironment(OpenAICompatibleOptions? given = null)
    {
        var options = given is null ? new OpenAICompatibleOptions() : (OpenAICompatibleOptions)given.MemberwiseClone();
        var url = Environment.GetEnvironmentVariable("STEPWISER_OPENAI_BASE_URL") ?? Environment.GetEnvironmentVariable("OPENAI_BASE_URL");
        var urlFromEnvironment = options.BaseUrl is null && !string.IsNullOrEmpty(url);
        if (urlFromEnvironment)
        {
            if (!Uri.TryCreate(url, UriKind.Absolute, out var parsed))
                throw new ArgumentException($"STEPWISER_OPENAI_BASE_URL/OPENAI_BASE_URL is not an absolute URL: '{url}'");
            options.BaseUrl = parsed;
        }
        options.Model ??= NullIfEmpty(Environment.GetEnvironmentVariable("STEPWISER_OPENAI_MODEL"));
        options.ApiKey ??= NullIfEmpty(Environment.GetEnvironmentVariable("STEPWISER_OPENAI_API_KEY"))
            ?? (urlFromEnvironment ? NullIfEmpty(Environment.GetEnvironmentVariable("OPENAI_API_KEY")) : null);
        return options;
    }

    /// <summary>The endpoint root ending in <c>/v1/</c>; throws when <see cref="BaseUrl"/> is missing or not HTTP(S).</summary>
    internal Uri ApiRoot()
    {
        if (BaseUrl is null)
            throw new InvalidOperationException("No server: set OpenAICompatibleOptions.BaseUrl or STEPWISER_OPENAI_BASE_URL (e.g. http://localhost:8000/v1).");
        if (BaseUrl.Scheme is not ("http" or "https"))
            throw new ArgumentException($"BaseUrl must be http or https, not '{BaseUrl.Scheme}'", nameof(BaseUrl));
        if (ApiKey is not null && BaseUrl.Scheme == "http" && !BaseUrl.IsLoopback && !AllowInsecureApiKey)
            throw new ArgumentException($"refusing to send the API key over plain http to {BaseUrl.Host}: use https, or set AllowInsecureApiKey (--allow-insecure-key) if that network is trusted", nameof(BaseUrl));
        var text = BaseUrl.GetLeftPart(UriPartial.Path).TrimEnd('/');
        if (!text.EndsWith("/v1", StringComparison.Ordinal)) text += "/v1";
        return new Uri(text + "/");
    }

    /// <summary>Describes the server and limits; the API key appears only as "set" or "not set".</summary>
    public override string ToString() =>
        $"OpenAI-compatible server {BaseUrl?.ToString() ?? "(not set)"}, model {Model ?? "(first listed)"}, API key {(ApiKey is null ? "not set" : "set")}, " +
        $"{MaxConcurrentRequests} concurrent, {MaxRetries} retries";

    private static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;
}
