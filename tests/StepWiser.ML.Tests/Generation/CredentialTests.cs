using System.Net;
using Microsoft.Extensions.Logging;
using StepWiser.ML.Generation;
using StepWiser.ML.Models;
using StepWiser.ML.Serving;
using StepWiser.ML.Tokenization;

namespace StepWiser.ML.Tests.Generation;

/// <summary>
/// API keys go only where they were configured for, never over plain http to another host, and never into error
/// messages or logs; checkpoints are identified by content, not folder name (the rollout store's key).
/// </summary>
[TestClass]
public sealed class CredentialTests
{
    private const string Secret = "sk-never-print-0123456789";

    [TestMethod]
    public void TheGenericOpenAIKeyIsNotSentToAUrlSetInCode()
    {
        Environment.SetEnvironmentVariable("OPENAI_API_KEY", Secret);
        try
        {
            var options = OpenAICompatibleOptions.FromEnvironment(new OpenAICompatibleOptions { BaseUrl = new Uri("http://127.0.0.1:9/v1") });
            Assert.IsNull(options.ApiKey, "OPENAI_API_KEY belongs to the endpoint configured beside it, not to any URL");
        }
        finally
        {
            Environment.SetEnvironmentVariable("OPENAI_API_KEY", null);
        }
    }

    [TestMethod]
    [DataRow("http://10.1.2.3:8000/v1", false, true)]
    [DataRow("http://gpu-box:8000/v1", false, true)]
    [DataRow("http://gpu-box:8000/v1", true, false)]
    [DataRow("https://gpu-box/v1", false, false)]
    [DataRow("http://localhost:8000/v1", false, false)]
    [DataRow("http://127.0.0.1:8000/v1", false, false)]
    public void AKeyIsNeverSentOverPlainHttpToAnotherHostUnlessForced(string url, bool allow, bool refused)
    {
        var options = new OpenAICompatibleOptions { BaseUrl = new Uri(url), ApiKey = Secret, AllowInsecureApiKey = allow };
        if (refused)
        {
            var e = Assert.ThrowsExactly<ArgumentException>(() => new OpenAICompatibleTextGenerator(options).Dispose());
            StringAssert.Contains(e.Message, "plain http");
            Assert.DoesNotContain(Secret, e.Message);
        }
        else
        {
            new OpenAICompatibleTextGenerator(options).Dispose();
        }
    }

    [TestMethod]
    public async Task AFailingRequestsErrorAndTheLogsNeverContainTheKey()
    {
        var model = CausalLM.CreateRandom(BuiltInModels.Tiny, seed: 2);
        var app = OpenAICompatibleServer.Build(new LocalTextGenerator(model, BuiltInTokenizer.Create()), ChatTemplate.ChatML,
            new OpenAIServerOptions { Url = "http://127.0.0.1:0", ModelName = "tiny", ApiKey = "the-server-key" });
        await app.StartAsync();
        try
        {
            var log = new ListLogger();
            using var client = new OpenAICompatibleTextGenerator(new OpenAICompatibleOptions
            {
                BaseUrl = new Uri(OpenAICompatibleServer.Addresses(app)[0] + "/v1"), ApiKey = Secret, Model = "tiny", MaxRetries = 1, RetryBaseDelay = TimeSpan.Zero,
            }, logger: log);
            var e = await Assert.ThrowsAsync<HttpRequestException>(() => client.GenerateAsync([GenerationRequest.FromText("a", SamplingOptions.Greedy(2))]));
            Assert.AreEqual(HttpStatusCode.Unauthorized, e.StatusCode);
            Assert.DoesNotContain(Secret, e.ToString());
            Assert.IsFalse(log.Lines.Any(l => l.Contains(Secret, StringComparison.Ordinal)), string.Join("\n", log.Lines));
            Assert.DoesNotContain(Secret, client.Options.ToString());
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    [TestMethod]
    public void ACheckpointIsIdentifiedByItsContentNotItsFolder()
    {
        var root = Directory.CreateTempSubdirectory("fingerprint").FullName;
        try
        {
            string Save(string name, int seed)
            {
                var dir = Path.Combine(root, name);
                if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
                using var m = CausalLM.CreateRandom(BuiltInModels.Tiny, seed);
                HuggingFaceCheckpoint.Save(m, dir);
                BuiltInTokenizer.Save(dir);
                return dir;
            }
            var first = HuggingFaceCheckpoint.Fingerprint(Save("policy", 1));
            Assert.AreEqual(first, HuggingFaceCheckpoint.Fingerprint(Save("copy-elsewhere", 1)), "same model, other folder: same identity");
            Assert.AreNotEqual(first, HuggingFaceCheckpoint.Fingerprint(Save("policy", 2)), "another model in a folder of the same name: another identity");
            StringAssert.StartsWith(first, "sha256:");
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    private sealed class ListLogger : ILogger
    {
        public List<string> Lines { get; } = [];

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (Lines) Lines.Add(formatter(state, exception) + " " + exception);
        }
    }
}
