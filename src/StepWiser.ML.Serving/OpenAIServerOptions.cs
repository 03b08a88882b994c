using System.Globalization;
using System.Net;

namespace StepWiser.ML.Serving;

/// <summary>
/// How <see cref="OpenAICompatibleServer"/> listens, names its model, authenticates and bounds what a client can ask
/// for (docs/serving.md). Every size a client controls has a limit; a request over one gets 400/413/429 with OpenAI's
/// error JSON before any work or allocation.
/// </summary>
public sealed class OpenAIServerOptions
{
    /// <summary>Listening URL; loopback by default so a model is not exposed by accident. Port 0 picks a free port.</summary>
    public string Url { get; set; } = "http://127.0.0.1:8000";

    /// <summary>Model id that clients must send and that <c>/v1/models</c> lists.</summary>
    public string ModelName { get; set; } = "stepwiser-local";

    /// <summary>When set, every request must send <c>Authorization: Bearer</c> this key (compared in constant time); otherwise 401.</summary>
    public string? ApiKey { get; set; }

    /// <summary>Largest <c>n</c> a request may ask for.</summary>
    public int MaxSamplesPerRequest { get; set; } = 64;

    /// <summary>Largest <c>max_tokens</c> a request may ask for.</summary>
    public int MaxNewTokens { get; set; } = 4096;

    /// <summary>Most prompts in one completions request.</summary>
    public int MaxPromptsPerRequest { get; set; } = 256;

    /// <summary>Most sequences (prompts × n) one request may make the engine decode.</summary>
    public int MaxSequencesPerRequest { get; set; } = 1024;

    /// <summary>Largest request body in bytes (413 beyond).</summary>
    public long MaxRequestBodyBytes { get; set; } = 4L << 20;

    /// <summary>Requests being served or waiting at once, counted from when a request's body has arrived; one more gets 429.</summary>
    public int MaxConcurrentRequests { get; set; } = 64;

    /// <summary>Longest a request's body may take to arrive (default 30 s); a slower one gets 408.</summary>
    public TimeSpan RequestBodyTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Slowest a body may arrive, in bytes per second, after a grace period of <see cref="MinDataRateGracePeriod"/>
    /// (default 1,024); Kestrel closes a connection that sends slower.
    /// </summary>
    public double MinRequestBodyBytesPerSecond { get; set; } = 1024;

    /// <summary>How long a body may arrive slower than <see cref="MinRequestBodyBytesPerSecond"/> before its connection is closed.</summary>
    public static TimeSpan MinDataRateGracePeriod { get; } = TimeSpan.FromSeconds(5);

    /// <summary>The model's context: prompt tokens + max_tokens must fit (0 = not checked). The serve command sets it from max_position_embeddings.</summary>
    public int MaxContextTokens { get; set; }

    /// <summary>Token ids a prompt may hold are in [0, VocabularySize) (0 = not checked).</summary>
    public int VocabularySize { get; set; }

    /// <summary>Counts a text prompt's tokens for the context check (null = text prompts are not length-checked).</summary>
    public Func<string, int>? CountTokens { get; set; }

    /// <summary>Throws naming the first invalid option.</summary>
    public void Validate()
    {
        if (!Uri.TryCreate(Url, UriKind.Absolute, out var uri) || uri.Scheme != "http") throw new ArgumentException($"Url '{Url}' must be an absolute http:// URL", nameof(Url));
        if (string.IsNullOrWhiteSpace(ModelName)) throw new ArgumentException("ModelName must not be empty", nameof(ModelName));
        if (ApiKey is { Length: 0 }) throw new ArgumentException("ApiKey must not be empty (null turns authentication off)", nameof(ApiKey));
        Positive(MaxSamplesPerRequest, nameof(MaxSamplesPerRequest));
        Positive(MaxNewTokens, nameof(MaxNewTokens));
        Positive(MaxPromptsPerRequest, nameof(MaxPromptsPerRequest));
        Positive(MaxSequencesPerRequest, nameof(MaxSequencesPerRequest));
        Positive(MaxRequestBodyBytes, nameof(MaxRequestBodyBytes));
        Positive(MaxConcurrentRequests, nameof(MaxConcurrentRequests));
        if (RequestBodyTimeout <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(RequestBodyTimeout), RequestBodyTimeout, "must be positive");
        if (!double.IsFinite(MinRequestBodyBytesPerSecond) || MinRequestBodyBytesPerSecond <= 0)
            throw new ArgumentOutOfRangeException(nameof(MinRequestBodyBytesPerSecond), MinRequestBodyBytesPerSecond, "must be a positive number");
        if (MaxContextTokens < 0) throw new ArgumentOutOfRangeException(nameof(MaxContextTokens), MaxContextTokens, "must be >= 0");
        if (VocabularySize < 0) throw new ArgumentOutOfRangeException(nameof(VocabularySize), VocabularySize, "must be >= 0");
    }

    /// <summary>
    /// Checks a host the user gave: an IP literal or <c>localhost</c> (a name is refused: it could resolve to anything,
    /// and an unresolvable one made ASP.NET bind every interface). Returns whether it is a loopback address.
    /// </summary>
    public static bool CheckHost(string host)
    {
        ArgumentException.ThrowIfNullOrEmpty(host);
        if (host == "localhost") return true;
        var literal = host.StartsWith('[') && host.EndsWith(']') ? host[1..^1] : host;
        if (!IPAddress.TryParse(literal, out var address) || (address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork && literal.Count(c => c == '.') != 3))
            throw new ArgumentException($"host '{host}' is not an IP address or localhost (e.g. 127.0.0.1, ::1, 0.0.0.0)");
        return IPAddress.IsLoopback(address);
    }

    /// <summary>The listening URL for a checked host and a port in [0, 65535].</summary>
    public static string UrlFor(string host, int port)
    {
        CheckHost(host);
        if (port is < 0 or > 65535) throw new ArgumentOutOfRangeException(nameof(port), port, "must be in [0, 65535]");
        var literal = host.StartsWith('[') ? host : IPAddress.TryParse(host, out var a) && a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{host}]" : host;
        return string.Create(CultureInfo.InvariantCulture, $"http://{literal}:{port}");
    }

    private static void Positive(long value, string name)
    {
        if (value < 1) throw new ArgumentOutOfRangeException(name, value, "must be at least 1");
    }
}
