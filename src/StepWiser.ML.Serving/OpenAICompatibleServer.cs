using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using StepWiser.ML.Generation;
using StepWiser.ML.Tokenization;

namespace StepWiser.ML.Serving;

/// <summary>
/// An OpenAI-compatible HTTP server (ASP.NET Core minimal API) over any <see cref="ITextGenerator"/>:
/// <c>POST /v1/completions</c>, <c>POST /v1/chat/completions</c> (in the model's chat template, ChatML or Llama 3, each
/// reply ending at the template's end of turn) and <c>GET /v1/models</c>. Concurrent requests are coalesced into
/// batched calls of the generator. Each request is checked on its own before it joins a batch (types, token ids,
/// sizes against <see cref="OpenAIServerOptions"/>' limits), so a bad request gets its own 400/408/413/429 in
/// OpenAI's error shape and never fails the others; a client that disconnects stops its work. A request counts
/// against the concurrency limit only once its whole body has arrived, so clients that send slowly cannot lock
/// others out; bytes that are not UTF-8 and lone surrogates are the client's error (400), and a model that gives
/// non-finite numbers gets a 500 with a JSON message, never a result.
/// </summary>
public static class OpenAICompatibleServer
{
    /// <summary>Builds (does not start) the web application.</summary>
    /// <param name="generator">The engine; called one batch at a time.</param>
    /// <param name="template">Chat format for <c>/v1/chat/completions</c>.</param>
    /// <param name="options">Listening URL and model name.</param>
    /// <param name="configure">Adds middleware before the endpoints (logging, authentication, fault injection in tests).</param>
    public static WebApplication Build(ITextGenerator generator, ChatTemplate template, OpenAIServerOptions options, Action<WebApplication>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(generator);
        ArgumentNullException.ThrowIfNull(template);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls(options.Url);
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Limits.MaxRequestBodySize = options.MaxRequestBodyBytes;
            k.Limits.MinRequestBodyDataRate = new MinDataRate(options.MinRequestBodyBytesPerSecond, OpenAIServerOptions.MinDataRateGracePeriod);
        });
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        var app = builder.Build();
        var batcher = new BatchingTextGenerator(generator);
        app.Lifetime.ApplicationStopped.Register(() => batcher.DisposeAsync().AsTask().GetAwaiter().GetResult());
        var key = options.ApiKey is null ? null : System.Text.Encoding.UTF8.GetBytes("Bearer " + options.ApiKey);
        var admission = new Admission(options.MaxConcurrentRequests);
        app.Use(async (context, next) =>
        {
            if (key is not null)
            {
                var given = System.Text.Encoding.UTF8.GetBytes(context.Request.Headers.Authorization.ToString());
                // Constant time in the key's content (the length is not secret).
                if (!System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(given, key))
                {
                    await Error(401, "a valid API key is required (Authorization: Bearer <key>)").ExecuteAsync(context);
                    return;
                }
            }
            await next(context);
        });
        configure?.Invoke(app);

        app.MapGet("/v1/models", () => Results.Json(new JsonObject
        {
            ["object"] = "list",
            ["data"] = new JsonArray(new JsonObject { ["id"] = options.ModelName, ["object"] = "model", ["owned_by"] = "stepwiser" }),
        }));
        app.MapPost("/v1/completions", (HttpContext context, CancellationToken aborted) => HandleAsync(context, options, admission, body => CompleteAsync(body, batcher, options, aborted)));
        app.MapPost("/v1/chat/completions", (HttpContext context, CancellationToken aborted) => HandleAsync(context, options, admission, body => ChatAsync(body, batcher, template, options, aborted)));
        return app;
    }

    /// <summary>The addresses the started application listens on (the real port when the URL asked for port 0).</summary>
    public static IReadOnlyList<string> Addresses(WebApplication app) =>
        app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.ToArray() ?? [];

    /// <summary>
    /// Reads and checks the body first (a slow client waits outside the concurrency limit, bounded by the body
    /// deadline and the minimum data rate), then admits the request or answers 429, then runs it. Everything the
    /// handler returns is serialised here, so a failure to write it is a 500 with a JSON message, never an empty one.
    /// </summary>
    private static async Task<IResult> HandleAsync(HttpContext context, OpenAIServerOptions options, Admission admission, Func<JsonObject, Task<JsonObject>> handler)
    {
        var read = await RequestBodyReader.ReadAsync(context, options);
        if (read.Body is not { } body) return Error(read.Status, read.Error!);
        if (!admission.TryEnter()) return Error(429, $"the server is busy ({options.MaxConcurrentRequests} requests in progress); retry later");
        try
        {
            var model = Str(body, "model");
            if (model is not null && model != options.ModelName)
                return Error(404, $"The model `{model}` does not exist; this server serves `{options.ModelName}`.", "model");
            return Results.Text((await handler(body)).ToJsonString(), "application/json", System.Text.Encoding.UTF8);
        }
        catch (RequestException e)
        {
            return Error(e.Status, e.Message, e.Param);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            return Results.Empty; // the client is gone
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return Error(500, $"generation failed: {e.Message}");
        }
        finally
        {
            admission.Exit();
        }
    }

    private static async Task<JsonObject> CompleteAsync(JsonObject body, ITextGenerator generator, OpenAIServerOptions options, CancellationToken cancellationToken)
    {
        RejectUnsupported(body, "echo", "suffix", "best_of");
        var sampling = Sampling(body, options);
        var prompts = Prompts(body["prompt"]);
        CheckPrompts(prompts, sampling, options);
        var requests = prompts.Select(p => p.Text is not null ? GenerationRequest.FromText(p.Text, sampling) : new GenerationRequest { PromptTokenIds = p.Ids, Options = sampling }).ToArray();
        var results = await generator.GenerateAsync(requests, cancellationToken);
        var choices = new JsonArray();
        var promptTokens = 0;
        var completionTokens = 0;
        for (var p = 0; p < results.Count; p++)
        {
            promptTokens += results[p].PromptTokenCount;
            for (var j = 0; j < results[p].Samples.Count; j++)
            {
                var s = results[p].Samples[j];
                completionTokens += s.TokenIds.Count;
                if (s.LogProbs is { } logProbs && logProbs.Any(l => !float.IsFinite(l)))
                    throw new RequestException($"the model gave a non-finite log-probability (NaN or infinity) for prompt {p}, sample {j}: its weights or activations are broken; no result is returned", status: 500);
                var choice = new JsonObject
                {
                    ["index"] = p * sampling.NumSamples + j,
                    ["text"] = s.Text,
                    ["finish_reason"] = s.Finish == FinishReason.Length ? "length" : "stop",
                    ["stop_reason"] = s.StopString,
                    ["token_ids"] = new JsonArray(s.TokenIds.Select(t => (JsonNode)t).ToArray()),
                    ["logprobs"] = s.LogProbs is null ? null : new JsonObject { ["token_logprobs"] = new JsonArray(s.LogProbs.Select(l => (JsonNode)l).ToArray()) },
                };
                choices.Add(choice);
            }
        }
        return Envelope("text_completion", "cmpl", options.ModelName, choices, promptTokens, completionTokens);
    }

    private static async Task<JsonObject> ChatAsync(JsonObject body, ITextGenerator generator, ChatTemplate template, OpenAIServerOptions options, CancellationToken cancellationToken)
    {
        RejectUnsupported(body, "tools", "functions");
        var messages = body["messages"] as JsonArray ?? throw new RequestException("`messages` must be a list", "messages");
        var turns = messages.Select((m, i) => m is JsonObject o
            ? new ChatTurn(
                o["role"] is JsonValue r && r.TryGetValue<string>(out var role) ? role : throw new RequestException($"messages[{i}].role must be a string", "messages"),
                o["content"] is JsonValue v && v.TryGetValue<string>(out var text) ? text : throw new RequestException($"messages[{i}].content must be a string", "messages"))
            : throw new RequestException($"messages[{i}] must be an object with role and content", "messages")).ToList();
        if (turns.Count == 0) throw new RequestException("`messages` must not be empty", "messages");
        var sampling = Sampling(body, options);
        sampling = sampling with { Stop = [.. sampling.Stop, template.TurnEnd] };   // <|im_end|>, or <|eot_id|> for Llama 3
        string prompt;
        try { prompt = template.Render(turns, addGenerationPrompt: true); }
        catch (ArgumentException e) { throw new RequestException(e.Message, "messages"); }
        CheckPrompts([(prompt, null)], sampling, options);
        var result = (await generator.GenerateAsync([GenerationRequest.FromText(prompt, sampling)], cancellationToken))[0];
        var choices = new JsonArray(result.Samples.Select((s, j) => (JsonNode)new JsonObject
        {
            ["index"] = j,
            ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = s.Text },
            ["finish_reason"] = s.Finish == FinishReason.Length ? "length" : "stop",
        }).ToArray());
        return Envelope("chat.completion", "chatcmpl", options.ModelName, choices, result.PromptTokenCount, result.Samples.Sum(s => s.TokenIds.Count));
    }

    private static SamplingOptions Sampling(JsonObject body, OpenAIServerOptions options)
    {
        switch (body["stream"])
        {
            case null: break;
            case JsonValue v when v.TryGetValue<bool>(out var streaming):
                if (streaming) throw new RequestException("streaming is not supported; send \"stream\": false", "stream");
                break;
            default: throw new RequestException("`stream` must be true or false", "stream");
        }
        var n = Int(body, "n") ?? 1;
        var maxTokens = Int(body, "max_completion_tokens") ?? Int(body, "max_tokens") ?? 16;
        if (n < 1 || n > options.MaxSamplesPerRequest) throw new RequestException($"`n` must be in [1, {options.MaxSamplesPerRequest}], got {n}", "n");
        if (maxTokens < 1 || maxTokens > options.MaxNewTokens) throw new RequestException($"`max_tokens` must be in [1, {options.MaxNewTokens}], got {maxTokens}", "max_tokens");
        var stop = body["stop"] switch
        {
            null => [],
            JsonValue v when v.TryGetValue<string>(out var one) => [one],
            JsonArray list => list.Select(s => s is JsonValue e && e.TryGetValue<string>(out var text) ? text : throw new RequestException("`stop` entries must be strings", "stop")).ToArray(),
            _ => throw new RequestException("`stop` must be a string or a list of strings", "stop"),
        };
        var sampling = new SamplingOptions
        {
            NumSamples = n,
            MaxNewTokens = maxTokens,
            Temperature = (float)(Number(body, "temperature") ?? 1.0),
            TopP = (float)(Number(body, "top_p") ?? 1.0),
            TopK = Math.Max(0, Int(body, "top_k") ?? 0),
            Stop = stop,
            Seed = body["seed"] is null ? null : Long(body, "seed"),
            ReturnLogProbs = body["logprobs"] switch
            {
                null => false,
                JsonValue lp when lp.TryGetValue<bool>(out var b) => b,
                JsonValue lp when lp.TryGetValue<long>(out _) => true,
                _ => throw new RequestException("`logprobs` must be a boolean or an integer", "logprobs"),
            },
        };
        try { sampling.Validate(); }
        catch (ArgumentException e) { throw new RequestException(e.Message, e.ParamName); }
        return sampling;
    }

    private static List<(string? Text, int[]? Ids)> Prompts(JsonNode? prompt) => prompt switch
    {
        JsonValue v when v.TryGetValue<string>(out var text) => [(text, null)],
        JsonArray { Count: > 0 } list when list.All(x => x is JsonValue xv && xv.TryGetValue<string>(out _)) => list.Select(x => ((string?)x!.GetValue<string>(), (int[]?)null)).ToList(),
        JsonArray { Count: > 0 } list when list.All(x => x is JsonValue xv && xv.TryGetValue<int>(out _)) => [(null, list.Select(x => x!.GetValue<int>()).ToArray())],
        JsonArray { Count: > 0 } list when list.All(x => x is JsonArray inner && inner.All(t => t is JsonValue tv && tv.TryGetValue<int>(out _))) =>
            list.Select(x => ((string?)null, (int[]?)x!.AsArray().Select(t => t!.GetValue<int>()).ToArray())).ToList(),
        _ => throw new RequestException("`prompt` must be a string, a list of strings, a list of token ids or a list of such lists", "prompt"),
    };

    /// <summary>Each prompt on its own, before it can join a batch: not empty, token ids in the vocabulary, and prompt + max_tokens within the context.</summary>
    private static void CheckPrompts(List<(string? Text, int[]? Ids)> prompts, SamplingOptions sampling, OpenAIServerOptions options)
    {
        if (prompts.Count > options.MaxPromptsPerRequest)
            throw new RequestException($"{prompts.Count} prompts in one request; at most {options.MaxPromptsPerRequest}", "prompt");
        if ((long)prompts.Count * sampling.NumSamples > options.MaxSequencesPerRequest)
            throw new RequestException($"{prompts.Count} prompts × n = {sampling.NumSamples} is {(long)prompts.Count * sampling.NumSamples} sequences; at most {options.MaxSequencesPerRequest} per request", "n");
        for (var i = 0; i < prompts.Count; i++)
        {
            var (text, ids) = prompts[i];
            if (text is { Length: 0 } || ids is { Length: 0 }) throw new RequestException($"prompt {i} is empty", "prompt");
            if (ids is not null && options.VocabularySize > 0 && Array.FindIndex(ids, t => t < 0 || t >= options.VocabularySize) is var at and >= 0)
                throw new RequestException($"prompt {i}: token id {ids[at]} is outside the vocabulary [0, {options.VocabularySize})", "prompt");
            if (options.MaxContextTokens <= 0) continue;
            if (text is not null && text.Length > 16L * options.MaxContextTokens) // no tokenizer yields fewer than 1 token per 16 chars here; skip tokenizing a huge text
                throw new RequestException($"prompt {i} ({text.Length:N0} characters) is longer than the model's context of {options.MaxContextTokens} tokens", "prompt");
            var length = ids?.Length ?? options.CountTokens?.Invoke(text!) ?? 0;
            if (length + sampling.MaxNewTokens > options.MaxContextTokens)
                throw new RequestException($"prompt {i} has {length} tokens; with max_tokens {sampling.MaxNewTokens} that exceeds the model's context of {options.MaxContextTokens}", "prompt");
        }
    }

    private static string? Str(JsonObject body, string name)
    {
        var node = body[name];
        if (node is null) return null;
        if (node is JsonValue v && v.TryGetValue<string>(out var text)) return text;
        throw new RequestException($"`{name}` must be a string", name);
    }

    private static int? Int(JsonObject body, string name)
    {
        var node = body[name];
        if (node is null) return null;
        if (node is JsonValue v && v.TryGetValue<long>(out var l) && l is >= int.MinValue and <= int.MaxValue) return (int)l;
        throw new RequestException($"`{name}` must be an integer", name);
    }

    // Seeds are 64-bit, as in vLLM (Monte-Carlo annotation derives one per prefix from a hash).
    private static long? Long(JsonObject body, string name)
    {
        var node = body[name];
        if (node is null) return null;
        if (node is JsonValue v && v.TryGetValue<long>(out var l)) return l;
        throw new RequestException($"`{name}` must be a 64-bit integer", name);
    }

    private static double? Number(JsonObject body, string name)
    {
        var node = body[name];
        if (node is null) return null;
        if (node is JsonValue v && v.TryGetValue<double>(out var d)) return d;
        throw new RequestException($"`{name}` must be a number", name);
    }

    private static void RejectUnsupported(JsonObject body, params string[] names)
    {
        foreach (var name in names)
            if (body[name] is JsonNode node && !(node is JsonValue v && v.TryGetValue<bool>(out var b) && !b))
                throw new RequestException($"`{name}` is not supported by this server", name);
    }

    private static JsonObject Envelope(string kind, string idPrefix, string model, JsonArray choices, int promptTokens, int completionTokens) => new()
    {
        ["id"] = $"{idPrefix}-{Guid.NewGuid():N}",
        ["object"] = kind,
        ["created"] = DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
        ["model"] = model,
        ["choices"] = choices,
        ["usage"] = new JsonObject { ["prompt_tokens"] = promptTokens, ["completion_tokens"] = completionTokens, ["total_tokens"] = promptTokens + completionTokens },
    };

    private static IResult Error(int status, string message, string? param = null) => Results.Json(new JsonObject
    {
        ["error"] = new JsonObject
        {
            ["message"] = message,
            ["type"] = status switch { 401 => "authentication_error", 404 => "NotFoundError", 429 => "rate_limit_error", >= 500 => "server_error", _ => "invalid_request_error" },
            ["param"] = param,
            ["code"] = status,
        },
    }, statusCode: status);

    /// <summary>Counts the requests in progress against the limit.</summary>
    private sealed class Admission(int limit)
    {
        private int _inFlight;

        public bool TryEnter()
        {
            if (Interlocked.Increment(ref _inFlight) <= limit) return true;
            Interlocked.Decrement(ref _inFlight);
            return false;
        }

        public void Exit() => Interlocked.Decrement(ref _inFlight);
    }

    private sealed class RequestException(string message, string? param = null, int status = 400) : Exception(message)
    {
        public string? Param { get; } = param;

        public int Status { get; } = status;
    }
}
