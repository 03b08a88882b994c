using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Polly;
using Polly.Timeout;

namespace StepWiser.ML.Generation;

/// <summary>
/// An <see cref="ITextGenerator"/> served by any OpenAI-compatible <c>/v1/completions</c> endpoint (vLLM, SGLang,
/// llama.cpp server, TGI). Each request is one HTTP call with <c>n</c> = <see cref="SamplingOptions.NumSamples"/>, so
/// the server computes the prompt once; calls run concurrently up to <see cref="OpenAICompatibleOptions.MaxConcurrentRequests"/>,
/// each with a per-attempt timeout that covers the whole response body and retries with exponential back-off
/// (Microsoft.Extensions.Http.Resilience) on 408/429/5xx, timeouts, lost connections and bodies cut short. A response
/// is at most <see cref="OpenAICompatibleOptions.MaxResponseBytes"/> long and must be UTF-8 and of the expected shape,
/// else the request fails with an <see cref="HttpRequestException"/> naming the endpoint: a bad response is never
/// read as an answer. The API key is sent as a bearer token and never logged.
/// </summary>
public sealed class OpenAICompatibleTextGenerator : ITextGenerator, IDisposable
{
    private const int MaxErrorDetail = 500;

    /// <summary>UTF-8 that throws on a byte sequence it cannot decode, instead of replacing it with U+FFFD.</summary>
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private readonly HttpClient _http;
    private readonly bool _ownsHttp;
    private readonly OpenAICompatibleOptions _options;
    private readonly SemaphoreSlim _slots;
    private readonly ILogger _logger;
    private readonly Uri _root;
    private string? _model;

    /// <summary>Creates a client with its own resilient <see cref="HttpClient"/>.</summary>
    /// <param name="options">Server and limits; unset values are read from the environment.</param>
    /// <param name="innerHandler">Transport below the resilience handler (default: a pooled <see cref="SocketsHttpHandler"/>).</param>
    /// <param name="logger">Receives retries and failures (never the API key).</param>
    public OpenAICompatibleTextGenerator(OpenAICompatibleOptions? options = null, HttpMessageHandler? innerHandler = null, ILogger? logger = null)
    {
        _options = OpenAICompatibleOptions.FromEnvironment(options);
        _root = _options.ApiRoot();
        _logger = logger ?? NullLogger.Instance;
        var resilience = new ResilienceHandler(BuildPipeline(_options, _logger))
        {
            // The body is read inside each attempt, so the attempt timeout covers it and a failed read is retried.
            InnerHandler = new BoundedResponseHandler(_options.MaxResponseBytes)
            {
                InnerHandler = innerHandler ?? new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) },
            },
        };
        _http = new HttpClient(resilience) { Timeout = Timeout.InfiniteTimeSpan };
        _ownsHttp = true;
        _slots = new SemaphoreSlim(_options.MaxConcurrentRequests);
        _model = _options.Model;
    }

    /// <summary>
    /// Uses a caller-configured <see cref="HttpClient"/> (for example from <c>IHttpClientFactory</c> with
    /// <c>AddStandardResilienceHandler()</c>); this instance adds no retries of its own.
    /// </summary>
    public OpenAICompatibleTextGenerator(HttpClient httpClient, OpenAICompatibleOptions? options = null, ILogger? logger = null)
    {
        _http = httpClient ?? throw new ArgumentNullException(nameof(httpClient));
        _options = OpenAICompatibleOptions.FromEnvironment(options);
        _root = _options.ApiRoot();
        _logger = logger ?? NullLogger.Instance;
        _slots = new SemaphoreSlim(_options.MaxConcurrentRequests);
        _model = _options.Model;
    }

    /// <summary>The options in use (API key redacted in <see cref="OpenAICompatibleOptions.ToString"/>).</summary>
    public OpenAICompatibleOptions Options => _options;

    /// <summary>The model name in use: the configured one, or the first listed by the server once a call has resolved it.</summary>
    public string? Model => _model;

    /// <inheritdoc />
    public async Task<IReadOnlyList<GenerationResult>> GenerateAsync(IReadOnlyList<GenerationRequest> requests, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(requests);
        for (var i = 0; i < requests.Count; i++)
        {
            try { requests[i].Options.Validate(); }
            catch (ArgumentException e) { throw new ArgumentException($"request {i}: {e.Message}", nameof(requests), e); }
            if (requests[i].Prompt is null && requests[i].PromptTokenIds is null)
                throw new ArgumentException($"request {i}: neither Prompt nor PromptTokenIds is set", nameof(requests));
        }
        var model = await ResolveModelAsync(cancellationToken).ConfigureAwait(false);
        var tasks = requests.Select((r, i) => CompleteAsync(model, r, i, cancellationToken)).ToArray();
        return await Task.WhenAll(tasks).ConfigureAwait(false);
    }

    /// <summary>Lists the models the server serves (<c>GET /v1/models</c>).</summary>
    /// <exception cref="HttpRequestException">The server failed, timed out, or answered something that is not a model list.</exception>
    public async Task<IReadOnlyList<string>> ListModelsAsync(CancellationToken cancellationToken = default)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(_root, "models"));
        var endpoint = Endpoint(request);
        var body = await SendForJsonAsync(request, endpoint, cancellationToken).ConfigureAwait(false);
        var data = body["data"] as JsonArray ?? throw Invalid(endpoint, "the response has no \"data\" list");
        return data.Select((m, i) => m?["id"] is JsonValue id && id.TryGetValue<string>(out var name) ? name
            : throw Invalid(endpoint, $"model {i} has no string \"id\" (got {m?["id"]?.ToJsonString() ?? "none"})")).ToArray();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_ownsHttp) _http.Dispose();
        _slots.Dispose();
    }

    private async Task<string> ResolveModelAsync(CancellationToken cancellationToken)
    {
        if (_model is not null) return _model;
        var models = await ListModelsAsync(cancellationToken).ConfigureAwait(false);
        _model = models.Count > 0 ? models[0] : throw new InvalidOperationException($"{_root}models lists no model; set OpenAICompatibleOptions.Model.");
        _logger.LogInformation("Using model {Model} served at {Url}", _model, _root);
        return _model;
    }

    private async Task<GenerationResult> CompleteAsync(string model, GenerationRequest request, int index, CancellationToken cancellationToken)
    {
        var options = request.Options;
        var body = new JsonObject
        {
            ["model"] = model,
            ["prompt"] = request.Prompt is not null ? JsonValue.Create(request.Prompt) : new JsonArray(request.PromptTokenIds!.Select(t => (JsonNode)t).ToArray()),
            ["n"] = options.NumSamples,
            ["max_tokens"] = options.MaxNewTokens,
            ["temperature"] = options.Temperature,
            ["top_p"] = options.TopP,
            ["stream"] = false,
        };
        if (options.TopK > 0) body["top_k"] = options.TopK;
        if (options.Stop.Count > 0) body["stop"] = new JsonArray(options.Stop.Select(s => (JsonNode)s).ToArray());
        if (options.Seed is { } seed) body["seed"] = seed;
        if (options.ReturnLogProbs) body["logprobs"] = 1;

        await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            using var message = new HttpRequestMessage(HttpMethod.Post, new Uri(_root, "completions")) { Content = JsonContent.Create(body) };
            var endpoint = $"{Endpoint(message)} (request {index})";
            var json = await SendForJsonAsync(message, endpoint, cancellationToken).ConfigureAwait(false);
            try { return ParseCompletion(json, options, endpoint); }
            catch (Exception e) when (e is InvalidOperationException or FormatException or JsonException)
            {
                throw Invalid(endpoint, $"the response does not have the shape of a completion ({e.Message})", e);
            }
        }
        finally
        {
            _slots.Release();
        }
    }

    /// <summary>
    /// Sends a request and reads its JSON answer under one deadline (<see cref="OpenAICompatibleOptions.TotalTimeout"/>,
    /// body included) and the size bound; the body must be strict UTF-8 (a byte that is not is a failed request, never
    /// text with a replacement character in it). Every failure is an <see cref="HttpRequestException"/> naming the endpoint.
    /// </summary>
    private async Task<JsonNode> SendForJsonAsync(HttpRequestMessage request, string endpoint, CancellationToken cancellationToken)
    {
        if (_options.ApiKey is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _options.ApiKey);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(_options.TotalTimeout);
        byte[] bytes;
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, deadline.Token).ConfigureAwait(false);
            using (response) bytes = await BoundedResponseHandler.ReadAsync(response.Content, _options.MaxResponseBytes, deadline.Token).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            // Transport errors say "An error occurred while sending the request."; the endpoint and the cause say more.
            var cause = e.GetBaseException() is { } root && root != e ? $" ({root.Message})" : "";
            throw new HttpRequestException(e.HttpRequestError, $"{endpoint}: {e.Message}{cause}", e, e.StatusCode);
        }
        catch (TimeoutRejectedException e)
        {
            throw new HttpRequestException($"{endpoint}: no complete response (headers and body) within the attempt timeout of {_options.AttemptTimeout.TotalSeconds:0.#} s", e);
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new HttpRequestException($"{endpoint}: no complete response within {_options.TotalTimeout.TotalSeconds:0.#} s (the total timeout, retries included)", e);
        }
        string text;
        try { text = StrictUtf8.GetString(bytes); }
        catch (DecoderFallbackException e)
        {
            throw Invalid(endpoint, $"the response is not UTF-8 (bytes {BitConverter.ToString(e.BytesUnknown ?? [])} at byte {e.Index:N0})", e);
        }
        if (!response.IsSuccessStatusCode)
        {
            var detail = text.Length > MaxErrorDetail ? text[..MaxErrorDetail] + "…" : text;
            throw new HttpRequestException($"{endpoint}: server answered {(int)response.StatusCode} {response.ReasonPhrase}: {detail}", null, response.StatusCode);
        }
        try { return JsonNode.Parse(text) ?? throw Invalid(endpoint, "the response is JSON null"); }
        catch (JsonException e) { throw Invalid(endpoint, $"the response is not JSON ({e.Message})", e); }
    }

    /// <summary>"POST http://host/v1/completions": how errors name a request.</summary>
    private static string Endpoint(HttpRequestMessage request) => $"{request.Method} {request.RequestUri?.GetLeftPart(UriPartial.Path)}";

    private static HttpRequestException Invalid(string endpoint, string what, Exception? inner = null) => new(HttpRequestError.InvalidResponse, $"{endpoint}: {what}", inner);

    private static GenerationResult ParseCompletion(JsonNode json, SamplingOptions options, string endpoint)
    {
        var choices = json["choices"] as JsonArray ?? throw Invalid(endpoint, "the response has no \"choices\" list");
        if (choices.Count != options.NumSamples)
            throw Invalid(endpoint, $"asked for n={options.NumSamples} samples, the server returned {choices.Count} choices");
        var samples = new GeneratedSample[choices.Count];
        foreach (var choice in choices)
        {
            var i = choice?["index"] is JsonValue v && v.TryGetValue<int>(out var at) ? at : throw Invalid(endpoint, "a choice has no integer \"index\"");
            if (i < 0 || i >= samples.Length || samples[i] is not null)
                throw Invalid(endpoint, $"choice index {i} is out of range or repeated");
            samples[i] = ParseChoice(choice!, i, endpoint);
        }
        var promptTokens = json["usage"]?["prompt_tokens"]?.GetValue<int>() ?? 0;
        return new GenerationResult(samples, promptTokens);
    }

    private static GeneratedSample ParseChoice(JsonNode choice, int index, string endpoint)
    {
        var text = choice["text"] is JsonValue t && t.TryGetValue<string>(out var value) ? value : throw Invalid(endpoint, $"choice {index} has no string \"text\"");
        var stopReason = choice["stop_reason"];
        var stopString = stopReason is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;
        var finish = choice["finish_reason"]?.GetValue<string>() switch
        {
            "length" => FinishReason.Length,
            "stop" when stopString is not null => FinishReason.Stop,
            _ => FinishReason.EndOfSequence,
        };
        var tokenIds = choice["token_ids"]?.AsArray().Select(id => id!.GetValue<int>()).ToArray() ?? [];
        var logProbs = choice["logprobs"]?["token_logprobs"]?.AsArray().Select(p => p is null ? float.NaN : (float)p.GetValue<double>()).ToArray();
        return new GeneratedSample(text, tokenIds, finish, logProbs, stopString);
    }

    private static ResiliencePipeline<HttpResponseMessage> BuildPipeline(OpenAICompatibleOptions options, ILogger logger)
    {
        var retry = new HttpRetryStrategyOptions
        {
            MaxRetryAttempts = Math.Max(options.MaxRetries, 1),
            Delay = options.RetryBaseDelay,
            BackoffType = DelayBackoffType.Exponential,
            UseJitter = true,
            OnRetry = args =>
            {
                var outcome = args.Outcome.Exception is { } e ? $"{e.GetType().Name}: {e.Message}" : $"HTTP {(int?)args.Outcome.Result?.StatusCode} {args.Outcome.Result?.ReasonPhrase}";
                logger.LogWarning("attempt {Attempt} of {Attempts} failed ({Outcome}); next attempt in {Delay:F1} s", args.AttemptNumber + 1,
                    options.MaxRetries + 1, outcome, args.RetryDelay.TotalSeconds);
                return default;
            },
        };
        var builder = new ResiliencePipelineBuilder<HttpResponseMessage>().AddTimeout(options.TotalTimeout);
        if (options.MaxRetries > 0) builder.AddRetry(retry);
        return builder.AddTimeout(options.AttemptTimeout).Build();
    }
}
