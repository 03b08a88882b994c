using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using StepWiser.ML.Generation;
using StepWiser.ML.Tokenization;

namespace StepWiser.ML.Samples.Serving;

/// <summary>
/// An OpenAI-compatible HTTP server (ASP.NET Core minimal API) over any <see cref="ITextGenerator"/>:
/// <c>POST /v1/completions</c>, <c>POST /v1/chat/completions</c> (ChatML) and <c>GET /v1/models</c>. Concurrent
/// requests are coalesced into batched calls of the generator. Errors use OpenAI's error shape with status 400/404.
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
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls(options.Url);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        var app = builder.Build();
        var batcher = new BatchingTextGenerator(generator);
        app.Lifetime.ApplicationStopped.Register(() => batcher.DisposeAsync().AsTask().GetAwaiter().GetResult());
        configure?.Invoke(app);

        app.MapGet("/v1/models", () => Results.Json(new JsonObject
        {
            ["object"] = "list",
            ["data"] = new JsonArray(new JsonObject { ["id"] = options.ModelName, ["object"] = "model", ["owned_by"] = "stepwiser" }),
        }));
        app.MapPost("/v1/completions", (HttpContext context, CancellationToken aborted) => HandleAsync(context, options, body => CompleteAsync(body, batcher, options, aborted)));
        app.MapPost("/v1/chat/completions", (HttpContext context, CancellationToken aborted) => HandleAsync(context, options, body => ChatAsync(body, batcher, template, options, aborted)));
        return app;
    }

    /// <summary>The addresses the started application listens on (the real port when the URL asked for port 0).</summary>
    public static IReadOnlyList<string> Addresses(WebApplication app) =>
        app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.ToArray() ?? [];

    private static async Task<IResult> HandleAsync(HttpContext context, OpenAIServerOptions options, Func<JsonObject, Task<JsonObject>> handler)
    {
        JsonObject body;
        try
        {
            body = (await JsonNode.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted))?.AsObject()
                ?? throw new RequestException("the request body is empty");
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            return Error(400, $"the request body is not a JSON object: {e.Message}");
        }
        catch (RequestException e)
        {
            return Error(400, e.Message);
        }
        var model = body["model"]?.GetValue<string>();
        if (model is not null && model != options.ModelName)
            return Error(404, $"The model `{model}` does not exist; this server serves `{options.ModelName}`.", "model");
        try
        {
            return Results.Json(await handler(body));
        }
        catch (RequestException e)
        {
            return Error(400, e.Message, e.Param);
        }
    }

    private static async Task<JsonObject> CompleteAsync(JsonObject body, ITextGenerator generator, OpenAIServerOptions options, CancellationToken cancellationToken)
    {
        RejectUnsupported(body, "echo", "suffix", "best_of");
        var sampling = Sampling(body, options);
        var prompts = Prompts(body["prompt"]);
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
        var turns = messages.Select((m, i) => new ChatTurn(
            m?["role"]?.GetValue<string>() ?? throw new RequestException($"messages[{i}].role is missing", "messages"),
            m["content"] is JsonValue v && v.TryGetValue<string>(out var text) ? text : throw new RequestException($"messages[{i}].content must be a string", "messages"))).ToList();
        var sampling = Sampling(body, options);
        sampling = sampling with { Stop = [.. sampling.Stop, ChatTemplate.EndOfTurn] };
        string prompt;
        try { prompt = template.Render(turns, addGenerationPrompt: true); }
        catch (ArgumentException e) { throw new RequestException(e.Message, "messages"); }
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
        if (body["stream"]?.GetValue<bool>() == true) throw new RequestException("streaming is not supported; send \"stream\": false", "stream");
        var n = Int(body, "n") ?? 1;
        var maxTokens = Int(body, "max_completion_tokens") ?? Int(body, "max_tokens") ?? 16;
        if (n < 1 || n > options.MaxSamplesPerRequest) throw new RequestException($"`n` must be in [1, {options.MaxSamplesPerRequest}], got {n}", "n");
        if (maxTokens < 1 || maxTokens > options.MaxNewTokens) throw new RequestException($"`max_tokens` must be in [1, {options.MaxNewTokens}], got {maxTokens}", "max_tokens");
        var stop = body["stop"] switch
        {
            null => [],
            JsonValue v when v.TryGetValue<string>(out var one) => [one],
            JsonArray list => list.Select(s => s?.GetValue<string>() ?? throw new RequestException("`stop` entries must be strings", "stop")).ToArray(),
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
            ReturnLogProbs = body["logprobs"] is JsonValue lp && (lp.TryGetValue<int>(out _) || (lp.TryGetValue<bool>(out var b) && b)),
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
        JsonArray { Count: > 0 } list when list.All(x => x is JsonArray) => list.Select(x => ((string?)null, (int[]?)x!.AsArray().Select(t => t!.GetValue<int>()).ToArray())).ToList(),
        _ => throw new RequestException("`prompt` must be a string, a list of strings, a list of token ids or a list of such lists", "prompt"),
    };

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
        ["error"] = new JsonObject { ["message"] = message, ["type"] = status == 404 ? "NotFoundError" : "invalid_request_error", ["param"] = param, ["code"] = status },
    }, statusCode: status);

    private sealed class RequestException(string message, string? param = null) : Exception(message)
    {
        public string? Param { get; } = param;
    }
}
