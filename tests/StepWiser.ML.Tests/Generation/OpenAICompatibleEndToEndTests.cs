using System.Net;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.AI;
using StepWiser.ML.Generation;
using StepWiser.ML.Models;
using StepWiser.ML.Serving;
using StepWiser.ML.Tokenization;
using StepWiser.ML.Training;

namespace StepWiser.ML.Tests.Generation;

/// <summary>
/// The samples app's OpenAI-compatible server on a small local model, driven over real HTTP on loopback by the remote
/// engine: same greedy and seeded outputs as the local engine, also with injected faults (dropped connections before
/// and after the work, 500s, slow responses).
/// </summary>
[TestClass]
public sealed class OpenAICompatibleEndToEndTests
{
    private static readonly string[] Prompts = Enumerable.Range(0, 40).Select(i => $"reverse {i * 7919 % 100000} =").ToArray();
    private static string s_checkpoint = "";

    /// <summary>A built-in tiny model trained for a few seconds to reverse digits, so its outputs depend on the prompt.</summary>
    [ClassInitialize]
    public static void TrainModel(TestContext _)
    {
        var random = new Random(3);
        var examples = Enumerable.Range(0, 2000).Select(_ =>
        {
            var digits = random.Next(100, 100000).ToString(System.Globalization.CultureInfo.InvariantCulture);
            return new SftExample($"reverse {digits} =", " " + new string(digits.Reverse().ToArray()));
        }).ToArray();
        using var model = CausalLM.CreateRandom(BuiltInModels.Tiny, seed: 1);
        new SftTrainer(model, BuiltInTokenizer.Create(), new SftOptions { Steps = 400, BatchSize = 32, LearningRate = 5e-3, WarmupSteps = 20 }).Train(examples);
        s_checkpoint = Path.Combine(Path.GetTempPath(), $"stepwiser-e2e-{Environment.ProcessId}");
        HuggingFaceCheckpoint.Save(model, s_checkpoint);
    }

    [ClassCleanup]
    public static void DeleteModel()
    {
        if (Directory.Exists(s_checkpoint)) Directory.Delete(s_checkpoint, recursive: true);
    }

    private static LocalTextGenerator LocalEngine() => new(HuggingFaceCheckpoint.Load(s_checkpoint), BuiltInTokenizer.Create());

    private static async Task<(WebApplication App, Uri Url)> StartAsync(ITextGenerator engine, Action<WebApplication>? configure = null)
    {
        var app = OpenAICompatibleServer.Build(engine, ChatTemplate.ChatML, new OpenAIServerOptions { Url = "http://127.0.0.1:0", ModelName = "tiny" }, configure);
        await app.StartAsync();
        return (app, new Uri(OpenAICompatibleServer.Addresses(app)[0] + "/v1"));
    }

    private static GenerationRequest[] Requests(SamplingOptions options) => Prompts.Select(p => GenerationRequest.FromText(p, options)).ToArray();

    [TestMethod]
    public async Task RemoteGreedyAndSeededSamplesEqualTheLocalEngine()
    {
        var local = LocalEngine();
        var greedy = SamplingOptions.Greedy(24);
        var seeded = new SamplingOptions { NumSamples = 3, MaxNewTokens = 16, Temperature = 1.0f, TopP = 0.95f, Seed = 99, Stop = ["7"] };
        var expectedGreedy = local.Generate(Requests(greedy));
        var expectedSeeded = local.Generate(Requests(seeded));
        Assert.IsGreaterThan(5, expectedGreedy.Select(r => r.Samples[0].Text).Distinct().Count(), "the outputs must depend on the prompt for this test to mean anything: " + string.Join(" | ", expectedGreedy.Select(r => r.Samples[0].Text)));

        var (app, url) = await StartAsync(LocalEngine());
        await using var _ = app;
        using var remote = new OpenAICompatibleTextGenerator(new OpenAICompatibleOptions { BaseUrl = url, MaxConcurrentRequests = 8 });
        var gotGreedy = await remote.GenerateAsync(Requests(greedy));
        var gotSeeded = await remote.GenerateAsync(Requests(seeded));

        AssertSame(expectedGreedy, gotGreedy);
        AssertSame(expectedSeeded, gotSeeded);
        Assert.AreEqual("tiny", remote.Model, "the model name is resolved from /v1/models when not given");
    }

    [TestMethod]
    [TestCategory("Slow")]
    public async Task EveryRequestCompletesOnceWithTheRightResultDespiteInjectedFaults()
    {
        var expected = LocalEngine().Generate(Requests(SamplingOptions.Greedy(16)));
        var faults = new FaultInjector(seed: 5);
        var (app, url) = await StartAsync(LocalEngine(), faults.Install);
        await using var _ = app;
        using var remote = new OpenAICompatibleTextGenerator(new OpenAICompatibleOptions
        {
            BaseUrl = url,
            Model = "tiny",
            MaxConcurrentRequests = 6,
            MaxRetries = 12,
            RetryBaseDelay = TimeSpan.FromMilliseconds(20),
            AttemptTimeout = TimeSpan.FromSeconds(2),
        });

        var got = await remote.GenerateAsync(Requests(SamplingOptions.Greedy(16)));

        AssertSame(expected, got);
        Assert.IsGreaterThan(0, faults.DroppedBefore, "some connections were dropped before the work");
        Assert.IsGreaterThan(0, faults.DroppedAfter, "some responses were lost after the work");
        Assert.IsGreaterThan(0, faults.ServerErrors, "some attempts got a 500");
        Assert.IsGreaterThan(0, faults.Delayed, "some attempts timed out");
        Assert.AreEqual(Prompts.Length + faults.DroppedBefore + faults.DroppedAfter + faults.ServerErrors + faults.Delayed, faults.Attempts,
            "every attempt is accounted for: one success per request plus the faulted ones");
    }

    [TestMethod]
    public async Task ClientErrorsAreNotRetriedAndNameTheProblem()
    {
        var (app, url) = await StartAsync(LocalEngine());
        await using var _ = app;
        using var remote = new OpenAICompatibleTextGenerator(new OpenAICompatibleOptions { BaseUrl = url, Model = "no-such-model", RetryBaseDelay = TimeSpan.Zero });
        var e = await Assert.ThrowsExactlyAsync<HttpRequestException>(() => remote.GenerateAsync([GenerationRequest.FromText("x", SamplingOptions.Greedy(2))]));
        Assert.AreEqual(HttpStatusCode.NotFound, e.StatusCode);
        StringAssert.Contains(e.Message, "no-such-model");
    }

    [TestMethod]
    public void ApiKeyComesFromTheEnvironmentAndNeverAppearsInToString()
    {
        const string secret = "sk-test-1234567890";
        Environment.SetEnvironmentVariable("STEPWISER_OPENAI_API_KEY", secret);
        try
        {
            var options = OpenAICompatibleOptions.FromEnvironment(new OpenAICompatibleOptions { BaseUrl = new Uri("http://127.0.0.1:1/v1") });
            Assert.AreEqual(secret, options.ApiKey);
            Assert.DoesNotContain(secret, options.ToString());
            StringAssert.Contains(options.ToString(), "API key set");
        }
        finally
        {
            Environment.SetEnvironmentVariable("STEPWISER_OPENAI_API_KEY", null);
        }
    }

    [TestMethod]
    public async Task ChatCompletionsEndpointAnswersLikeTheLocalChatClient()
    {
        var chat = new TextGeneratorChatClient(LocalEngine(), ChatTemplate.ChatML, "tiny");
        var options = new ChatOptions { Temperature = 0, MaxOutputTokens = 12 };
        var messages = new[] { new ChatMessage(ChatRole.System, "Be brief."), new ChatMessage(ChatRole.User, "What is 2+3?") };
        var expected = await chat.GetResponseAsync(messages, options);

        var (app, url) = await StartAsync(LocalEngine());
        await using var _ = app;
        using var http = new HttpClient();
        var body = """{"model":"tiny","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"What is 2+3?"}],"temperature":0,"max_tokens":12}""";
        using var response = await http.PostAsync(new Uri(url, "v1/chat/completions"), new StringContent(body, Encoding.UTF8, "application/json"));
        var json = System.Text.Json.Nodes.JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.AreEqual(HttpStatusCode.OK, response.StatusCode, json.ToJsonString());
        Assert.AreEqual(expected.Text, json["choices"]![0]!["message"]!["content"]!.GetValue<string>());
    }

    private static void AssertSame(IReadOnlyList<GenerationResult> expected, IReadOnlyList<GenerationResult> actual)
    {
        Assert.HasCount(expected.Count, actual);
        for (var i = 0; i < expected.Count; i++)
        {
            Assert.HasCount(expected[i].Samples.Count, actual[i].Samples);
            for (var j = 0; j < expected[i].Samples.Count; j++)
            {
                var e = expected[i].Samples[j];
                var a = actual[i].Samples[j];
                Assert.AreEqual(e.Text, a.Text, $"request {i} sample {j}");
                CollectionAssert.AreEqual(e.TokenIds.ToArray(), a.TokenIds.ToArray(), $"request {i} sample {j} token ids");
                Assert.AreEqual(e.Finish, a.Finish, $"request {i} sample {j} finish");
                Assert.AreEqual(e.StopString, a.StopString, $"request {i} sample {j} stop string");
            }
        }
    }

    /// <summary>Server middleware that faults a seeded share of attempts at /v1/completions.</summary>
    private sealed class FaultInjector(int seed)
    {
        private readonly Random _random = new(seed);
        private readonly Lock _lock = new();
        private int _attempts, _droppedBefore, _droppedAfter, _serverErrors, _delayed;

        public int Attempts => _attempts;
        public int DroppedBefore => _droppedBefore;
        public int DroppedAfter => _droppedAfter;
        public int ServerErrors => _serverErrors;
        public int Delayed => _delayed;

        public void Install(WebApplication app) => app.Use(async (context, next) =>
        {
            if (!context.Request.Path.StartsWithSegments("/v1/completions")) { await next(context); return; }
            Interlocked.Increment(ref _attempts);
            double roll;
            lock (_lock) roll = _random.NextDouble();
            switch (roll)
            {
                case < 0.10: // connection dropped before any work
                    Interlocked.Increment(ref _droppedBefore);
                    context.Abort();
                    return;
                case < 0.20: // work done, then the connection drops before the response
                    Interlocked.Increment(ref _droppedAfter);
                    await next(new DiscardingContext(context).Context);
                    context.Abort();
                    return;
                case < 0.30:
                    Interlocked.Increment(ref _serverErrors);
                    context.Response.StatusCode = 500;
                    await context.Response.WriteAsync("injected failure");
                    return;
                case < 0.40: // slower than the client's attempt timeout
                    Interlocked.Increment(ref _delayed);
                    try { await Task.Delay(TimeSpan.FromSeconds(4), context.RequestAborted); } catch (OperationCanceledException) { }
                    context.Abort();
                    return;
                default:
                    await next(context);
                    return;
            }
        });
    }

    /// <summary>Runs the endpoint into a throw-away body so that the real response is never sent.</summary>
    private sealed class DiscardingContext
    {
        public DiscardingContext(HttpContext context)
        {
            context.Response.Body = Stream.Null;
            Context = context;
        }

        public HttpContext Context { get; }
    }
}
