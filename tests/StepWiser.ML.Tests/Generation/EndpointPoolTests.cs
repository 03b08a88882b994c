using System.Net;
using StepWiser.ML.Generation;

namespace StepWiser.ML.Tests.Generation;

/// <summary>
/// <see cref="EndpointPool"/> over fake endpoints (named so: each answers a request with a text computed from its prompt
/// and seed, as a server of one model would, or fails as told): work moves from a failing endpoint to the healthy ones,
/// every result comes from an endpoint that answered it, a request the server refuses fails the call without taking
/// an endpoint out, and no endpoint has more requests in flight than allowed.
/// </summary>
[TestClass]
public sealed class EndpointPoolTests
{
    private static GenerationRequest[] Requests(int count) =>
        Enumerable.Range(0, count).Select(i => GenerationRequest.FromText($"prompt {i}", new SamplingOptions { NumSamples = 2, MaxNewTokens = 4, Seed = 100 + i })).ToArray();

    private static string Expected(GenerationRequest r, int sample) => $"{r.Prompt}|{r.Options.Seed}|{sample}";

    [TestMethod]
    public async Task RequestsMoveFromAFailingEndpointToTheHealthyOnesAndEveryResultComesFromAnAnswer_WithFakeEndpoints()
    {
        var healthy = new FakeEndpoint("a");
        var failing = new FakeEndpoint("b") { FailAfter = 3 };
        var pool = new EndpointPool([("a", healthy), ("b", failing)], concurrencyPerEndpoint: 2);
        var requests = Requests(40);
        var results = await pool.GenerateAsync(requests);
        for (var i = 0; i < requests.Length; i++)
            CollectionAssert.AreEqual(new[] { Expected(requests[i], 0), Expected(requests[i], 1) }, results[i].Samples.Select(s => s.Text).ToArray(), $"request {i}");
        Assert.AreEqual(3, failing.Answered, "b answered three requests, then failed");
        Assert.AreEqual(37, healthy.Answered);
        CollectionAssert.AreEqual(new[] { "a" }, pool.Healthy.ToArray());
        StringAssert.Contains(pool.Failures["b"], "b is down");
        Assert.AreEqual(3, pool.Served["b"]);
        var failedCalls = failing.FailedCalls;
        Assert.IsTrue(failedCalls is >= 1 and <= 2, "only the requests b had in flight when it failed (at most its 2 slots)");
        // The failed endpoint stays out: the next call goes to a alone.
        var again = await pool.GenerateAsync(Requests(5));
        Assert.HasCount(5, again);
        Assert.AreEqual(3, failing.Answered);
        Assert.AreEqual(failedCalls, failing.FailedCalls, "b was not asked again after it failed");
    }

    [TestMethod]
    public async Task WhenEveryEndpointFailsTheCallFailsNamingEach_WithFakeEndpoints()
    {
        var pool = new EndpointPool([("a", new FakeEndpoint("a") { FailAfter = 1 }), ("b", new FakeEndpoint("b") { FailAfter = 0 })], concurrencyPerEndpoint: 1);
        var e = await Assert.ThrowsExactlyAsync<HttpRequestException>(() => pool.GenerateAsync(Requests(6)));
        StringAssert.Contains(e.Message, "a: a is down");
        StringAssert.Contains(e.Message, "b: b is down");
        Assert.IsEmpty(pool.Healthy);
    }

    [TestMethod]
    public async Task ARequestTheServerRefusesFailsTheCallAndTakesNoEndpointOut_WithFakeEndpoints()
    {
        var a = new FakeEndpoint("a") { Refuse = "prompt 3" };
        var b = new FakeEndpoint("b") { Refuse = "prompt 3" };
        var pool = new EndpointPool([("a", a), ("b", b)], concurrencyPerEndpoint: 1);
        var e = await Assert.ThrowsExactlyAsync<HttpRequestException>(() => pool.GenerateAsync(Requests(6)));
        Assert.AreEqual(HttpStatusCode.BadRequest, e.StatusCode);
        CollectionAssert.AreEqual(new[] { "a", "b" }, pool.Healthy.ToArray(), "a bad request is not a bad server");
        Assert.HasCount(5, await pool.GenerateAsync(Requests(6).Where(r => r.Prompt != "prompt 3").ToArray()));
    }

    [TestMethod]
    public async Task NoEndpointHasMoreRequestsInFlightThanAllowed_WithFakeEndpoints()
    {
        var a = new FakeEndpoint("a") { Delay = TimeSpan.FromMilliseconds(20) };
        var b = new FakeEndpoint("b") { Delay = TimeSpan.FromMilliseconds(20) };
        var pool = new EndpointPool([("a", a), ("b", b)], concurrencyPerEndpoint: 3);
        await pool.GenerateAsync(Requests(30));
        Assert.AreEqual(3, a.MostInFlight);
        Assert.AreEqual(3, b.MostInFlight);
        Assert.AreEqual(30, a.Answered + b.Answered);
        Assert.ThrowsExactly<ArgumentException>(() => new EndpointPool([("a", a), ("a", b)], 1));
    }

    /// <summary>A fake server of one model: answers from the prompt and seed, or fails as told (a 503 after <see cref="FailAfter"/> answers, a 400 for <see cref="Refuse"/>).</summary>
    private sealed class FakeEndpoint(string name) : ITextGenerator
    {
        private int _inFlight;
        private int _started;
        private int _answered;
        private int _failedCalls;
        private int _mostInFlight;

        public int? FailAfter { get; init; }

        public string? Refuse { get; init; }

        public TimeSpan Delay { get; init; } = TimeSpan.FromMilliseconds(1);

        public int Answered => _answered;

        public int FailedCalls => _failedCalls;

        public int MostInFlight => _mostInFlight;

        public async Task<IReadOnlyList<GenerationResult>> GenerateAsync(IReadOnlyList<GenerationRequest> requests, CancellationToken cancellationToken = default)
        {
            var now = Interlocked.Increment(ref _inFlight);
            int seen;
            while ((seen = _mostInFlight) < now && Interlocked.CompareExchange(ref _mostInFlight, now, seen) != seen) { }
            try
            {
                await Task.Delay(Delay, cancellationToken);
                if (Refuse is not null && requests.Any(r => r.Prompt == Refuse))
                    throw new HttpRequestException($"{name}: server answered 400 Bad Request", null, HttpStatusCode.BadRequest);
                if (FailAfter is { } limit && Interlocked.Increment(ref _started) > limit)
                {
                    Interlocked.Increment(ref _failedCalls);
                    throw new HttpRequestException($"{name} is down", null, HttpStatusCode.ServiceUnavailable);
                }
                Interlocked.Add(ref _answered, requests.Count);
                return requests.Select(r => new GenerationResult(Enumerable.Range(0, r.Options.NumSamples)
                    .Select(j => new GeneratedSample(Expected(r, j), [], FinishReason.EndOfSequence)).ToArray())).ToArray();
            }
            finally
            {
                Interlocked.Decrement(ref _inFlight);
            }
        }
    }
}
