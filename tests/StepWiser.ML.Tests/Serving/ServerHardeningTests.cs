using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using StepWiser.ML.Generation;
using StepWiser.ML.Models;
using StepWiser.ML.Serving;
using StepWiser.ML.Tokenization;

namespace StepWiser.ML.Tests.Serving;

/// <summary>
/// The OpenAI-compatible server under bad requests (real HTTP on loopback, a real built-in model): each request is
/// checked on its own, so a bad one gets a 4xx in OpenAI's error shape and the good ones batched with it complete;
/// requests over a limit are refused before the engine sees them; an API key is enforced; a host is checked.
/// </summary>
[TestClass]
public sealed class ServerHardeningTests
{
    private static async Task<(Microsoft.AspNetCore.Builder.WebApplication App, Uri Url, CountingGenerator Engine)> StartAsync(Action<OpenAIServerOptions>? configure = null)
    {
        var tokenizer = BuiltInTokenizer.Create();
        var model = CausalLM.CreateRandom(BuiltInModels.Tiny, seed: 3);
        var engine = new CountingGenerator(new LocalTextGenerator(model, tokenizer));
        var options = new OpenAIServerOptions
        {
            Url = "http://127.0.0.1:0", ModelName = "tiny", MaxContextTokens = model.Config.MaxPositionEmbeddings, VocabularySize = model.Config.VocabSize,
            CountTokens = text => tokenizer.CountTokens(text), MaxRequestBodyBytes = 64 * 1024,
        };
        configure?.Invoke(options);
        var app = OpenAICompatibleServer.Build(engine, ChatTemplate.ChatML, options);
        await app.StartAsync();
        return (app, new Uri(OpenAICompatibleServer.Addresses(app)[0] + "/"), engine);
    }

    private static async Task<(HttpStatusCode Status, JsonObject? Body)> PostAsync(HttpClient http, Uri url, string path, string json, string? key = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(url, path)) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        if (key is not null) request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
        using var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length == 0 ? null : JsonNode.Parse(text) as JsonObject);
    }

    [TestMethod]
    public async Task OneMalformedRequestInAConcurrentBatchFailsAloneAndTheGoodOnesComplete()
    {
        var (app, url, _) = await StartAsync();
        await using var running = app;
        using var http = new HttpClient();
        var good = Enumerable.Range(0, 10).Select(i => PostAsync(http, url, "v1/completions", $"{{\"prompt\": \"count {i}\", \"max_tokens\": 8, \"temperature\": 0}}")).ToList();
        var badTokens = PostAsync(http, url, "v1/completions", "{\"prompt\": [1, 2, 99999999], \"max_tokens\": 8}");
        var empty = PostAsync(http, url, "v1/completions", "{\"prompt\": \"\", \"max_tokens\": 8}");
        await Task.WhenAll([.. good, badTokens, empty]);
        foreach (var g in good) Assert.AreEqual(HttpStatusCode.OK, g.Result.Status, g.Result.Body?.ToJsonString());
        Assert.AreEqual(HttpStatusCode.BadRequest, badTokens.Result.Status);
        StringAssert.Contains(badTokens.Result.Body!["error"]!["message"]!.GetValue<string>(), "99999999");
        Assert.AreEqual(HttpStatusCode.BadRequest, empty.Result.Status);
        StringAssert.Contains(empty.Result.Body!["error"]!["message"]!.GetValue<string>(), "empty");
    }

    [TestMethod]
    [DataRow("{\"model\": 5, \"prompt\": \"a\"}", "model")]
    [DataRow("{\"prompt\": \"a\", \"stream\": \"yes\"}", "stream")]
    [DataRow("{\"prompt\": \"a\", \"stop\": [1]}", "stop")]
    [DataRow("{\"prompt\": \"a\", \"stop\": 7}", "stop")]
    [DataRow("{\"prompt\": \"a\", \"n\": \"2\"}", "n")]
    [DataRow("{\"prompt\": \"a\", \"n\": 0}", "n")]
    [DataRow("{\"prompt\": \"a\", \"max_tokens\": 1.5}", "max_tokens")]
    [DataRow("{\"prompt\": \"a\", \"temperature\": \"hot\"}", "temperature")]
    [DataRow("{\"prompt\": \"a\", \"seed\": \"x\"}", "seed")]
    [DataRow("{\"prompt\": \"a\", \"logprobs\": \"yes\"}", "logprobs")]
    [DataRow("{\"prompt\": 5}", "prompt")]
    [DataRow("{\"prompt\": [[1, \"x\"]]}", "prompt")]
    [DataRow("{\"prompt\": []}", "prompt")]
    [DataRow("{\"prompt\": [-1]}", "prompt")]
    [DataRow("[1, 2]", "JSON object")]
    [DataRow("null", "JSON object")]
    [DataRow("{\"prompt\": ", "not valid JSON")]
    public async Task WrongTypesGetA400WithOpenAIsErrorShape(string json, string expected)
    {
        var (app, url, engine) = await StartAsync();
        await using var running = app;
        using var http = new HttpClient();
        var (status, body) = await PostAsync(http, url, "v1/completions", json);
        Assert.AreEqual(HttpStatusCode.BadRequest, status, body?.ToJsonString());
        var error = body!["error"]!.AsObject();
        StringAssert.Contains(error["message"]!.GetValue<string>() + " " + error["param"], expected);
        Assert.AreEqual(400, error["code"]!.GetValue<int>());
        Assert.AreEqual(0, engine.Calls, "the engine never saw it");
    }

    [TestMethod]
    [DataRow("chat", "{\"messages\": [1]}")]
    [DataRow("chat", "{\"messages\": [{\"role\": 1, \"content\": \"a\"}]}")]
    [DataRow("chat", "{\"messages\": []}")]
    [DataRow("chat", "{\"messages\": \"hi\"}")]
    public async Task WrongChatMessagesGetA400(string _, string json)
    {
        var (app, url, engine) = await StartAsync();
        await using var __ = app;
        using var http = new HttpClient();
        var (status, body) = await PostAsync(http, url, "v1/chat/completions", json);
        Assert.AreEqual(HttpStatusCode.BadRequest, status, body?.ToJsonString());
        StringAssert.Contains(body!["error"]!["param"]!.GetValue<string>(), "messages");
        Assert.AreEqual(0, engine.Calls);
    }

    [TestMethod]
    public async Task RequestsOverALimitAreRefusedBeforeTheEngineSeesThem()
    {
        var (app, url, engine) = await StartAsync(o => { o.MaxPromptsPerRequest = 4; o.MaxSequencesPerRequest = 8; });
        await using var running = app;
        using var http = new HttpClient();
        // A prompt far beyond the model's context (the body limit is 64 KiB, so it is a 40 KB prompt): refused, not allocated.
        var longPrompt = new string('7', 40_000);
        var (status, body) = await PostAsync(http, url, "v1/completions", $"{{\"prompt\": \"{longPrompt}\", \"max_tokens\": 4}}");
        Assert.AreEqual(HttpStatusCode.BadRequest, status);
        StringAssert.Contains(body!["error"]!["message"]!.GetValue<string>(), "context");
        // A body over the limit: 413.
        (status, body) = await PostAsync(http, url, "v1/completions", $"{{\"prompt\": \"{new string('a', 70_000)}\"}}");
        Assert.AreEqual(HttpStatusCode.RequestEntityTooLarge, status);
        // Too many prompts, too many sequences, max_tokens beyond the context.
        (status, _) = await PostAsync(http, url, "v1/completions", "{\"prompt\": [\"a\", \"b\", \"c\", \"d\", \"e\"]}");
        Assert.AreEqual(HttpStatusCode.BadRequest, status);
        (status, body) = await PostAsync(http, url, "v1/completions", "{\"prompt\": [\"a\", \"b\", \"c\"], \"n\": 3}");
        Assert.AreEqual(HttpStatusCode.BadRequest, status);
        StringAssert.Contains(body!["error"]!["message"]!.GetValue<string>(), "sequences");
        (status, _) = await PostAsync(http, url, "v1/completions", "{\"prompt\": \"a\", \"max_tokens\": 4000}");
        Assert.AreEqual(HttpStatusCode.BadRequest, status);
        Assert.AreEqual(0, engine.Calls, "no refused request reached the engine");
        // And a request within the limits still works.
        (status, _) = await PostAsync(http, url, "v1/completions", "{\"prompt\": [\"a\", \"b\"], \"n\": 2, \"max_tokens\": 4}");
        Assert.AreEqual(HttpStatusCode.OK, status);
    }

    [TestMethod]
    public async Task AnApiKeyIsRequiredWhenSet()
    {
        var (app, url, engine) = await StartAsync(o => o.ApiKey = "s3cret-key");
        await using var running = app;
        using var http = new HttpClient();
        var (status, body) = await PostAsync(http, url, "v1/completions", "{\"prompt\": \"a\", \"max_tokens\": 2}");
        Assert.AreEqual(HttpStatusCode.Unauthorized, status);
        Assert.AreEqual("authentication_error", body!["error"]!["type"]!.GetValue<string>());
        Assert.DoesNotContain("s3cret", body.ToJsonString(), "the key is never echoed");
        (status, _) = await PostAsync(http, url, "v1/completions", "{\"prompt\": \"a\", \"max_tokens\": 2}", key: "s3cret-kez");
        Assert.AreEqual(HttpStatusCode.Unauthorized, status);
        Assert.AreEqual(HttpStatusCode.Unauthorized, (await http.GetAsync(new Uri(url, "v1/models"))).StatusCode);
        Assert.AreEqual(0, engine.Calls);
        (status, _) = await PostAsync(http, url, "v1/completions", "{\"prompt\": \"a\", \"max_tokens\": 2}", key: "s3cret-key");
        Assert.AreEqual(HttpStatusCode.OK, status);
        // The remote engine sends it when given.
        using var remote = new OpenAICompatibleTextGenerator(new OpenAICompatibleOptions { BaseUrl = new Uri(url, "v1"), ApiKey = "s3cret-key" });
        Assert.AreEqual("tiny", (await remote.ListModelsAsync()).Single());
    }

    [TestMethod]
    public async Task RequestsBeyondTheConcurrencyLimitGet429()
    {
        var (app, url, engine) = await StartAsync(o => o.MaxConcurrentRequests = 1);
        await using var __ = app;
        using var http = new HttpClient();
        // The first request is held at the engine's door until the second has been answered, so it is surely in
        // progress then (a fixed delay raced with a cold server, and a random model's samples end at EOS early).
        engine.Hold = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var first = PostAsync(http, url, "v1/completions", "{\"prompt\": [\"a\", \"b\"], \"n\": 4, \"max_tokens\": 20, \"temperature\": 1, \"seed\": 1}");
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (engine.Calls == 0 && waited.Elapsed < TimeSpan.FromSeconds(60)) await Task.Delay(10);
        var (status, body) = await PostAsync(http, url, "v1/completions", "{\"prompt\": \"a\", \"max_tokens\": 2}");
        engine.Hold.SetResult();
        Assert.AreEqual(HttpStatusCode.TooManyRequests, status, body?.ToJsonString());
        Assert.AreEqual(HttpStatusCode.OK, (await first).Status);
    }

    [TestMethod]
    [DataRow("127.0.0.1", true)]
    [DataRow("localhost", true)]
    [DataRow("::1", true)]
    [DataRow("0.0.0.0", false)]
    [DataRow("192.168.1.5", false)]
    public void HostsAreIpLiteralsOrLocalhost(string host, bool loopback) => Assert.AreEqual(loopback, OpenAIServerOptions.CheckHost(host));

    [TestMethod]
    [DataRow("myhost.example")]
    [DataRow("999.1.1.1")]
    [DataRow("1.2.3")]
    [DataRow("http://127.0.0.1")]
    public void OtherHostsAreRefused(string host) => Assert.ThrowsExactly<ArgumentException>(() => OpenAIServerOptions.CheckHost(host));

    [TestMethod]
    [TestCategory("Slow")]
    public async Task WhenEveryCallerOfABatchCancelsTheEngineStops()
    {
        // A random Medium model and 1,024 sampled sequences: far more work than the 200 ms before the cancel, however fast
        // the machine (a random model ends a sequence at its end-of-text token after ~vocabulary-size tokens on average;
        // with Tiny and 128 sequences a fast machine finished the whole batch before the cancel).
        var engine = new LocalTextGenerator(CausalLM.CreateRandom(BuiltInModels.Medium, seed: 3), BuiltInTokenizer.Create());
        await using var batcher = new BatchingTextGenerator(engine);
        using var cts = new CancellationTokenSource();
        var big = batcher.GenerateAsync(Enumerable.Range(0, 64).Select(i => GenerationRequest.FromText($"x{i}", new SamplingOptions { NumSamples = 16, MaxNewTokens = 2000, Temperature = 1, Seed = 1 })).ToArray(), cts.Token);
        await Task.Delay(200);
        cts.Cancel();
        await Assert.ThrowsAsync<OperationCanceledException>(() => big);
        // The next caller is served at once, not after the abandoned work (2000 tokens × 1,024 sequences).
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var next = await batcher.GenerateAsync([GenerationRequest.FromText("y", SamplingOptions.Greedy(4))]);
        Assert.HasCount(1, next);
        Assert.IsLessThan(20, clock.Elapsed.TotalSeconds, "the abandoned batch was stopped");
    }

    /// <summary>Passes calls to a real engine and counts them (not a mock: it proves which requests reached the engine).</summary>
    private sealed class CountingGenerator(ITextGenerator inner) : ITextGenerator
    {
        private int _calls;

        public int Calls => _calls;

        /// <summary>When set, calls wait for it before generating (to keep a request in progress on purpose).</summary>
        public TaskCompletionSource? Hold { get; set; }

        public async Task<IReadOnlyList<GenerationResult>> GenerateAsync(IReadOnlyList<GenerationRequest> requests, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref _calls);
            if (Hold is { } hold) await hold.Task.WaitAsync(cancellationToken);
            return await inner.GenerateAsync(requests, cancellationToken);
        }
    }
}
