namespace StepWiser.ML.Generation;

/// <summary>
/// Reads a response's whole body inside the attempt, under the attempt's deadline and a size bound, so that neither a
/// server that sends its headers and then stalls nor one that sends an endless body can hold a request past its
/// timeout or fill the memory. A body cut short or over the bound is an <see cref="HttpRequestException"/> (the retry
/// strategy above retries it like a lost connection). The response goes on with the body in memory.
/// </summary>
internal sealed class BoundedResponseHandler(long maxBytes) : DelegatingHandler
{
    private const int ChunkBytes = 81_920;

    /// <inheritdoc />
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        try
        {
            var body = await ReadAsync(response.Content, maxBytes, cancellationToken).ConfigureAwait(false);
            var buffered = new ByteArrayContent(body);
            foreach (var header in response.Content.Headers) buffered.Headers.TryAddWithoutValidation(header.Key, header.Value);
            buffered.Headers.ContentLength = body.Length;
            response.Content.Dispose();
            response.Content = buffered;
            return response;
        }
        catch
        {
            response.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Reads a body of at most <paramref name="maxBytes"/> bytes; more, or a body cut short, is an
    /// <see cref="HttpRequestException"/> (whose message the caller prefixes with the endpoint).
    /// </summary>
    public static async Task<byte[]> ReadAsync(HttpContent content, long maxBytes, CancellationToken cancellationToken)
    {
        if (content.Headers.ContentLength is { } announced && announced > maxBytes) throw TooLarge(maxBytes, announced);
        var body = new MemoryStream();
        try
        {
            await using var stream = await content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            var chunk = new byte[ChunkBytes];
            int read;
            while ((read = await stream.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
            {
                if (body.Length + read > maxBytes) throw TooLarge(maxBytes, null);
                body.Write(chunk, 0, read);
            }
        }
        catch (IOException e)
        {
            throw new HttpRequestException(HttpRequestError.ResponseEnded, $"the response broke off after {body.Length:N0} bytes ({e.Message})", e);
        }
        return body.ToArray();
    }

    private static HttpRequestException TooLarge(long maxBytes, long? announced) => new(HttpRequestError.InvalidResponse,
        $"the response is larger than {maxBytes:N0} bytes{(announced is { } n ? $" ({n:N0} announced)" : "")}; raise OpenAICompatibleOptions.MaxResponseBytes (annotate --max-response-mb) if that is expected");
}
