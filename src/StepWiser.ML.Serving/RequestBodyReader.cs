using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace StepWiser.ML.Serving;

/// <summary>
/// Reads a request's JSON body before the request is admitted to the concurrency limit: at most
/// <see cref="OpenAIServerOptions.MaxRequestBodyBytes"/>, within <see cref="OpenAIServerOptions.RequestBodyTimeout"/>
/// (Kestrel also cuts a connection whose body arrives slower than the minimum data rate), strict UTF-8, and every
/// string of it valid UTF-16 (no lone surrogate from a <c>\ud800</c> escape). A body that is none of that is the
/// client's error, answered with a 4xx and OpenAI's error JSON, never a 500.
/// </summary>
internal static class RequestBodyReader
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>What reading gave: the body, or the error to answer with.</summary>
    public readonly record struct Outcome(JsonObject? Body, int Status, string? Error);

    public static async Task<Outcome> ReadAsync(HttpContext context, OpenAIServerOptions options)
    {
        var aborted = context.RequestAborted;
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(aborted);
        deadline.CancelAfter(options.RequestBodyTimeout);
        var buffer = new MemoryStream();
        try
        {
            await context.Request.Body.CopyToAsync(buffer, deadline.Token);
        }
        catch (OperationCanceledException) when (!aborted.IsCancellationRequested)
        {
            return new(null, StatusCodes.Status408RequestTimeout, $"the request body did not arrive within {options.RequestBodyTimeout.TotalSeconds:0.#} s");
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return new(null, e.StatusCode, $"the request body is larger than {options.MaxRequestBodyBytes:N0} bytes");
        }
        catch (BadHttpRequestException e)
        {
            return new(null, e.StatusCode, $"the request body could not be read: {e.Message}");
        }
        var bytes = buffer.GetBuffer().AsMemory(0, (int)buffer.Length);
        try { StrictUtf8.GetCharCount(bytes.Span); }
        catch (DecoderFallbackException e)
        {
            return new(null, StatusCodes.Status400BadRequest, $"the request body is not UTF-8 (bytes {BitConverter.ToString(e.BytesUnknown ?? [])} at byte {e.Index:N0})");
        }
        JsonNode? node;
        try { node = JsonNode.Parse(bytes.Span); }
        catch (JsonException e)
        {
            return new(null, StatusCodes.Status400BadRequest, $"the request body is not valid JSON: {e.Message}");
        }
        if (node is not JsonObject body) return new(null, StatusCodes.Status400BadRequest, "the request body must be a JSON object");
        return FirstInvalidString(body) is { } path
            ? new(null, StatusCodes.Status400BadRequest, $"the string at {path} is not valid text: it holds a lone surrogate (an unpaired \\ud800-\\udfff escape)")
            : new(body, StatusCodes.Status200OK, null);
    }

    /// <summary>The JSON path of the first string (or property name) that is not valid UTF-16, or null when all are.</summary>
    private static string? FirstInvalidString(JsonNode node)
    {
        try
        {
            switch (node)
            {
                case JsonObject o:
                    foreach (var (_, child) in o)
                        if (child is not null && FirstInvalidString(child) is { } inner) return inner;
                    return null;
                case JsonArray a:
                    foreach (var child in a)
                        if (child is not null && FirstInvalidString(child) is { } inner) return inner;
                    return null;
                case JsonValue v when v.GetValueKind() == JsonValueKind.String:
                    _ = v.GetValue<string>();
                    return null;
                default:
                    return null;
            }
        }
        catch (InvalidOperationException)
        {
            return node.GetPath();
        }
    }
}
