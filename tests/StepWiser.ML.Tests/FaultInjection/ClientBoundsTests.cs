using System.Diagnostics;
using StepWiser.ML.Generation;

namespace StepWiser.ML.Tests.FaultInjection;

/// <summary>
/// The OpenAI-compatible client against the scripted fake server (<see cref="ScriptedOpenAIServer"/>), as a library:
/// its deadlines cover the response body, with its own resilient client and with a caller's plain
/// <see cref="HttpClient"/>; the response size bound is an option; every failure is an
/// <see cref="HttpRequestException"/> naming the endpoint.
/// </summary>
[TestClass]
public sealed class ClientBoundsTests
{
    private static readonly SamplingOptions Two = new() { NumSamples = 2, MaxNewTokens = 4 };

    [TestMethod]
    [TestCategory("Slow")]
    public async Task TheAttemptTimeoutCoversABodyThatStallsAndEachAttemptIsRetried_WithFakeServer()
    {
        await using var server = new ScriptedOpenAIServer(r => Reply.StallAfterHeaders());
        using var client = new OpenAICompatibleTextGenerator(new OpenAICompatibleOptions
        {
            BaseUrl = new Uri(server.BaseUrl), Model = "fake", AttemptTimeout = TimeSpan.FromSeconds(1), MaxRetries = 1, RetryBaseDelay = TimeSpan.Zero,
        });
        var clock = Stopwatch.StartNew();
        var e = await Assert.ThrowsExactlyAsync<HttpRequestException>(() => client.GenerateAsync([GenerationRequest.FromText("x", Two)]));
        Assert.IsLessThan(15, clock.Elapsed.TotalSeconds, e.Message);
        StringAssert.Contains(e.Message, "/v1/completions");
        StringAssert.Contains(e.Message, "attempt timeout");
        Assert.AreEqual(2, server.Requests, "the stalled attempt was retried once");
    }

    [TestMethod]
    public async Task WithACallersHttpClientTheTotalTimeoutStillCoversTheBody_WithFakeServer()
    {
        await using var server = new ScriptedOpenAIServer(r => Reply.StallAfterHeaders());
        using var http = new HttpClient { Timeout = Timeout.InfiniteTimeSpan };
        using var client = new OpenAICompatibleTextGenerator(http, new OpenAICompatibleOptions { BaseUrl = new Uri(server.BaseUrl), TotalTimeout = TimeSpan.FromSeconds(1) });
        var clock = Stopwatch.StartNew();
        var e = await Assert.ThrowsExactlyAsync<HttpRequestException>(() => client.ListModelsAsync());
        Assert.IsLessThan(15, clock.Elapsed.TotalSeconds, e.Message);
        StringAssert.Contains(e.Message, "/v1/models");
    }

    [TestMethod]
    public async Task AResponseOverTheSizeBoundFailsWithoutBeingReadWhole_WithFakeServer()
    {
        await using var server = new ScriptedOpenAIServer(r => Reply.Huge(8L << 20));
        using var client = new OpenAICompatibleTextGenerator(new OpenAICompatibleOptions { BaseUrl = new Uri(server.BaseUrl), Model = "fake", MaxRetries = 0, MaxResponseBytes = 1 << 20 });
        var e = await Assert.ThrowsExactlyAsync<HttpRequestException>(() => client.GenerateAsync([GenerationRequest.FromText("x", Two)]));
        StringAssert.Contains(e.Message, "larger than 1,048,576 bytes");
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new OpenAICompatibleOptions { MaxResponseBytes = 0 });

        // Within the bound, the same kind of answer is read.
        await using var small = new ScriptedOpenAIServer(r => Reply.Json(ScriptedOpenAIServer.Completion(ScriptedOpenAIServer.N(r), "ok")));
        using var fine = new OpenAICompatibleTextGenerator(new OpenAICompatibleOptions { BaseUrl = new Uri(small.BaseUrl), Model = "fake", MaxResponseBytes = 1 << 20 });
        Assert.AreEqual("ok", (await fine.GenerateAsync([GenerationRequest.FromText("x", Two)]))[0].Samples[1].Text);
    }
}
