using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using StepWiser.ML.Generation;
using StepWiser.ML.Models;
using StepWiser.ML.Serving;
using StepWiser.ML.Tokenization;
using static TorchSharp.torch;

namespace StepWiser.ML.Tests.FaultInjection;

/// <summary>
/// The OpenAI-compatible server (real HTTP on loopback, a real built-in model) against hostile clients and a broken
/// model: a client's bad bytes get a 400 with a JSON body, a model's non-finite output a JSON error (never an empty
/// 500), and clients that send their bodies slowly never lock good requests out.
/// </summary>
[TestClass]
public sealed class ServeFaultTests
{
    private static async Task<(WebApplication App, Uri Url)> StartAsync(CausalLM model, Action<OpenAIServerOptions>? configure = null)
    {
        var tokenizer = BuiltInTokenizer.Create();
        var options = new OpenAIServerOptions
        {
            Url = "http://127.0.0.1:0", ModelName = "tiny", MaxContextTokens = model.Config.MaxPositionEmbeddings, VocabularySize = model.Config.VocabSize,
            CountTokens = text => tokenizer.CountTokens(text),
        };
        configure?.Invoke(options);
        var app = OpenAICompatibleServer.Build(new LocalTextGenerator(model, tokenizer), ChatTemplate.ChatML, options);
        await app.StartAsync();
        return (app, new Uri(OpenAICompatibleServer.Addresses(app)[0] + "/"));
    }

    private static async Task<(HttpStatusCode Status, string Text)> PostAsync(HttpClient http, Uri url, string path, byte[] body)
    {
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        using var response = await http.PostAsync(new Uri(url, path), content);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    private static string ErrorMessage(string text) => JsonNode.Parse(text)!["error"]!["message"]!.GetValue<string>();

    [TestMethod]
    [DataRow("v1/completions", "{\"prompt\": \"abc@\", \"max_tokens\": 2}", "UTF-8")]
    [DataRow("v1/completions", "{\"prompt\": \"abc\\ud800\", \"max_tokens\": 2}", "surrogate")]
    [DataRow("v1/completions", "{\"prompt\": [\"ok\", \"\\udc00x\"], \"max_tokens\": 2}", "surrogate")]
    [DataRow("v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\\ud83d\"}]}", "surrogate")]
    [DataRow("v1/completions", "{\"prompt\": \"abc\", \"stop\": [\"\\ud800\"], \"max_tokens\": 2}", "surrogate")]
    public async Task BadBytesInABodyGetA400WithAJsonMessage(string path, string json, string expected)
    {
        var (app, url) = await StartAsync(CausalLM.CreateRandom(BuiltInModels.Tiny, seed: 3));
        await using var running = app;
        using var http = new HttpClient();
        var bytes = Encoding.UTF8.GetBytes(json);
        for (var i = 0; i < bytes.Length; i++) if (bytes[i] == (byte)'@') bytes[i] = 0xC3;   // a lead byte with no continuation
        var (status, text) = await PostAsync(http, url, path, bytes);
        Assert.AreEqual(HttpStatusCode.BadRequest, status, text);
        StringAssert.Contains(ErrorMessage(text), expected, text);
    }

    [TestMethod]
    public async Task AModelWithNonFiniteOutputsGetsAJsonErrorNotAnEmpty500()
    {
        var model = CausalLM.CreateRandom(BuiltInModels.Tiny, seed: 3);
        using (no_grad()) model.named_parameters().Single(p => p.name == "model.norm.weight").parameter.fill_(float.NaN);
        var (app, url) = await StartAsync(model);
        await using var running = app;
        using var http = new HttpClient();
        var (status, text) = await PostAsync(http, url, "v1/completions", "{\"prompt\": \"abc\", \"max_tokens\": 4, \"temperature\": 0, \"logprobs\": 1}"u8.ToArray());
        Assert.IsGreaterThanOrEqualTo(400, (int)status, text);
        Assert.IsGreaterThan(0, text.Length, "a JSON body, not an empty response");
        StringAssert.Contains(ErrorMessage(text), "non-finite", text);
    }

    [TestMethod]
    [TestCategory("Slow")]
    public async Task ABodyThatStopsArrivingGetsA408AfterTheBodyDeadline()
    {
        var (app, url) = await StartAsync(CausalLM.CreateRandom(BuiltInModels.Tiny, seed: 3), o => o.RequestBodyTimeout = TimeSpan.FromSeconds(2));
        await using var running = app;
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, url.Port);
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes("POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{\"prompt\": \"a"));
        var clock = System.Diagnostics.Stopwatch.StartNew();
        using var reader = new StreamReader(stream);
        var status = await reader.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30));
        Assert.IsLessThan(15, clock.Elapsed.TotalSeconds);
        StringAssert.StartsWith(status, "HTTP/1.1 408", status);
    }

    [TestMethod]
    public async Task ClientsSendingTheirBodiesSlowlyDoNotLockGoodRequestsOut()
    {
        var (app, url) = await StartAsync(CausalLM.CreateRandom(BuiltInModels.Tiny, seed: 3), o => o.MaxConcurrentRequests = 2);
        await using var running = app;
        var slow = new List<TcpClient>();
        try
        {
            // Four clients announce a 2,000-byte body and send it a byte at a time.
            for (var i = 0; i < 4; i++)
            {
                var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, url.Port);
                await client.GetStream().WriteAsync(Encoding.ASCII.GetBytes(
                    $"POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 2000\r\n\r\n{{\"prompt\": \""));
                slow.Add(client);
            }
            using var dribble = new CancellationTokenSource();
            var dribbling = Task.Run(async () =>
            {
                while (!dribble.IsCancellationRequested)
                {
                    foreach (var c in slow)
                    {
                        try { await c.GetStream().WriteAsync("a"u8.ToArray()); }
                        catch (IOException) { }
                    }
                    await Task.Delay(250);
                }
            });
            await Task.Delay(1000);
            using var http = new HttpClient();
            var (status, text) = await PostAsync(http, url, "v1/completions", "{\"prompt\": \"abc\", \"max_tokens\": 2}"u8.ToArray());
            await dribble.CancelAsync();
            await dribbling;
            Assert.AreEqual(HttpStatusCode.OK, status, text);
        }
        finally
        {
            foreach (var c in slow) c.Dispose();
        }
    }
}
