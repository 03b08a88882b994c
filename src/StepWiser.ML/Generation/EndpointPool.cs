using System.Net;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace StepWiser.ML.Generation;

/// <summary>
/// One <see cref="ITextGenerator"/> over several endpoints that serve the same model (e.g. one vLLM server per GPU
/// machine, each an <see cref="OpenAICompatibleTextGenerator"/>). The requests of a call are handed out one at a time
/// to whichever endpoint has a free slot (at most <c>concurrencyPerEndpoint</c> in flight on each), so a faster endpoint
/// takes more of the work. An endpoint that fails a request (after its own client's retries: a transport error, a
/// timeout, a 5xx, 408 or 429, a response that cannot be used) leaves the pool for the rest of its life and the request
/// goes to the endpoints still in it; a result always comes from an endpoint that answered that request in full, never
/// from a failed one. A request the server refuses as malformed (any other 4xx) fails the call, as it would with one
/// server, and takes no endpoint out. When no endpoint is left the call fails naming every endpoint's failure.
/// Each request carries its own seed, so which endpoint serves it does not change its samples when the endpoints run
/// the same model on the same engine.
/// </summary>
public sealed class EndpointPool : ITextGenerator
{
    private readonly Endpoint[] _endpoints;
    private readonly int _concurrency;
    private readonly ILogger _logger;
    private readonly Lock _lock = new();

    /// <summary>Creates a pool over <paramref name="endpoints"/> (name for messages, generator), in the order given.</summary>
    /// <param name="endpoints">At least one, with distinct names.</param>
    /// <param name="concurrencyPerEndpoint">Requests in flight at once on each endpoint, at least 1.</param>
    /// <param name="logger">Receives a warning when an endpoint leaves the pool.</param>
    public EndpointPool(IReadOnlyList<(string Name, ITextGenerator Generator)> endpoints, int concurrencyPerEndpoint, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        if (endpoints.Count == 0) throw new ArgumentException("at least one endpoint is needed", nameof(endpoints));
        ArgumentOutOfRangeException.ThrowIfLessThan(concurrencyPerEndpoint, 1);
        if (endpoints.GroupBy(e => e.Name, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1) is { } twice)
            throw new ArgumentException($"endpoint '{twice.Key}' is given {twice.Count()} times", nameof(endpoints));
        _endpoints = endpoints.Select(e => new Endpoint(e.Name ?? throw new ArgumentException("an endpoint has no name", nameof(endpoints)),
            e.Generator ?? throw new ArgumentException($"endpoint '{e.Name}' has no generator", nameof(endpoints)))).ToArray();
        _concurrency = concurrencyPerEndpoint;
        _logger = logger ?? NullLogger.Instance;
    }

    /// <summary>The endpoints still in the pool, in the order given.</summary>
    public IReadOnlyList<string> Healthy { get { lock (_lock) return _endpoints.Where(e => e.Failure is null).Select(e => e.Name).ToArray(); } }

    /// <summary>Why each endpoint that left the pool left it (its first failure), by name.</summary>
    public IReadOnlyDictionary<string, string> Failures
    {
        get { lock (_lock) return _endpoints.Where(e => e.Failure is not null).ToDictionary(e => e.Name, e => e.Failure!); }
    }

    /// <summary>Requests each endpoint answered, by name.</summary>
    public IReadOnlyDictionary<string, long> Served { get { lock (_lock) return _endpoints.ToDictionary(e => e.Name, e => e.Served); } }

    /// <inheritdoc />
    public async Task<IReadOnlyList<GenerationResult>> GenerateAsync(IReadOnlyList<GenerationRequest> requests, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(requests);
        for (var i = 0; i < requests.Count; i++)
        {
            try { requests[i].Options.Validate(); }
            catch (ArgumentException e) { throw new ArgumentException($"request {i}: {e.Message}", nameof(requests), e); }
        }
        var results = new GenerationResult?[requests.Count];
        var pending = new Queue<int>(Enumerable.Range(0, requests.Count));
        // Rounds: a request handed back by an endpoint that failed is served by the endpoints still in the pool.
        while (true)
        {
            Endpoint[] healthy;
            lock (_lock)
            {
                if (pending.Count == 0) break;
                healthy = _endpoints.Where(e => e.Failure is null).ToArray();
            }
            if (healthy.Length == 0) throw new HttpRequestException($"every endpoint of the pool failed: {Describe(Failures)}");
            var workers = healthy.SelectMany(e => Enumerable.Range(0, _concurrency).Select(_ => WorkAsync(e, requests, results, pending, cancellationToken))).ToArray();
            await Task.WhenAll(workers).ConfigureAwait(false);
        }
        return results.Select(r => r!).ToArray();
    }

    private async Task WorkAsync(Endpoint endpoint, IReadOnlyList<GenerationRequest> requests, GenerationResult?[] results, Queue<int> pending, CancellationToken cancellationToken)
    {
        while (true)
        {
            int index;
            lock (_lock)
            {
                if (endpoint.Failure is not null || !pending.TryDequeue(out index)) return;
            }
            IReadOnlyList<GenerationResult> answer;
            try
            {
                answer = await endpoint.Generator.GenerateAsync([requests[index]], cancellationToken).ConfigureAwait(false);
                if (answer.Count != 1) throw new HttpRequestException(HttpRequestError.InvalidResponse, $"{endpoint.Name}: {answer.Count} results for one request");
            }
            catch (Exception e) when (IsEndpointFailure(e, cancellationToken))
            {
                lock (_lock)
                {
                    pending.Enqueue(index);
                    if (endpoint.Failure is not null) return;
                    endpoint.Failure = e.Message;
                }
                _logger.LogWarning("endpoint {Endpoint} failed ({Failure}); its requests go to the {Count} endpoint(s) still in the pool", endpoint.Name, e.Message, Healthy.Count);
                return;
            }
            lock (_lock)
            {
                results[index] = answer[0];
                endpoint.Served++;
            }
        }
    }

    /// <summary>
    /// A failure of the endpoint, not of the request: anything but the caller's cancellation and a 4xx other than 408
    /// and 429 (the server refusing the request itself, which any other server would refuse too).
    /// </summary>
    private static bool IsEndpointFailure(Exception e, CancellationToken cancellationToken) => e switch
    {
        OperationCanceledException when cancellationToken.IsCancellationRequested => false,
        HttpRequestException { StatusCode: { } status } when (int)status is >= 400 and < 500 && status is not (HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests) => false,
        ArgumentException => false,
        _ => true,
    };

    private static string Describe(IReadOnlyDictionary<string, string> failures) => string.Join("; ", failures.Select(f => $"{f.Key}: {f.Value}"));

    private sealed class Endpoint(string name, ITextGenerator generator)
    {
        public string Name { get; } = name;
        public ITextGenerator Generator { get; } = generator;
        public string? Failure { get; set; }
        public long Served { get; set; }
    }
}
