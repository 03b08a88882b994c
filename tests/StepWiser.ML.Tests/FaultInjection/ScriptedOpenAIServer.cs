using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;

namespace StepWiser.ML.Tests.FaultInjection;

/// <summary>
/// A fake OpenAI-compatible server on loopback that speaks raw HTTP/1.1 over TCP, so a test can make it misbehave the
/// ways a flaky or hostile server does and a web framework would not allow: stall after the headers, cut a body short,
/// reset the connection, send bytes that are not UTF-8, send a huge body, answer with the wrong JSON shape. It runs
/// no model: each reply comes from the test's script. One request per connection (<c>Connection: close</c>).
/// </summary>
internal sealed class ScriptedOpenAIServer : IAsyncDisposable
{
    private const int HeaderLimit = 64 * 1024;
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Func<ScriptedRequest, Reply> _script;
    private readonly Task _accepting;
    private int _requests;

    public ScriptedOpenAIServer(Func<ScriptedRequest, Reply> script)
    {
        _script = script;
        _listener.Start();
        _accepting = AcceptAsync();
    }

    /// <summary>The API root, e.g. http://127.0.0.1:PORT/v1.</summary>
    public string BaseUrl => $"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}/v1";

    /// <summary>Requests received so far.</summary>
    public int Requests => Volatile.Read(ref _requests);

    /// <summary>A well-formed completions response with <paramref name="n"/> choices of <paramref name="text"/>.</summary>
    public static string Completion(int n, string text) => new JsonObject
    {
        ["object"] = "text_completion",
        ["choices"] = new JsonArray(Enumerable.Range(0, n).Select(i => (JsonNode)new JsonObject { ["index"] = i, ["text"] = text, ["finish_reason"] = "stop" }).ToArray()),
        ["usage"] = new JsonObject { ["prompt_tokens"] = 5, ["completion_tokens"] = 5 },
    }.ToJsonString();

    /// <summary>The <c>n</c> a completions request asked for (1 when absent).</summary>
    public static int N(ScriptedRequest request) => request.Json?["n"]?.GetValue<int>() ?? 1;

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        try { await _accepting; }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException) { }
        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            var client = await _listener.AcceptTcpClientAsync(_stop.Token);
            _ = Task.Run(() => ServeAsync(client));
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        using var _ = client;
        try
        {
            var stream = client.GetStream();
            var request = await ReadRequestAsync(stream);
            Interlocked.Increment(ref _requests);
            await _script(request).SendAsync(client, stream, _stop.Token);
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // The client went away or the test ended: nothing to do.
        }
    }

    private static async Task<ScriptedRequest> ReadRequestAsync(NetworkStream stream)
    {
        var head = new List<byte>();
        var one = new byte[1];
        while (head.Count < HeaderLimit && !(head.Count >= 4 && head[^4] == '\r' && head[^3] == '\n' && head[^2] == '\r' && head[^1] == '\n'))
        {
            if (await stream.ReadAsync(one) == 0) throw new IOException("connection closed in the headers");
            head.Add(one[0]);
        }
        var lines = Encoding.ASCII.GetString(head.ToArray()).Split("\r\n");
        var parts = lines[0].Split(' ');
        string? Header(string name) => lines.Select(l => l.Split(':', 2)).Where(kv => kv.Length == 2 && kv[0].Trim().Equals(name, StringComparison.OrdinalIgnoreCase))
            .Select(kv => kv[1].Trim()).FirstOrDefault();
        var body = Header("Transfer-Encoding") == "chunked" ? await ReadChunkedAsync(stream) : new byte[int.Parse(Header("Content-Length") ?? "0", CultureInfo.InvariantCulture)];
        if (Header("Transfer-Encoding") != "chunked") await stream.ReadExactlyAsync(body);
        JsonObject? json = null;
        if (body.Length > 0)
        {
            try { json = JsonNode.Parse(body) as JsonObject; }
            catch (System.Text.Json.JsonException) { }
        }
        return new ScriptedRequest(parts[0], parts[1], json);
    }

    private static async Task<byte[]> ReadChunkedAsync(NetworkStream stream)
    {
        var body = new List<byte>();
        while (true)
        {
            var size = int.Parse(await ReadLineAsync(stream), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            var chunk = new byte[size];
            await stream.ReadExactlyAsync(chunk);
            body.AddRange(chunk);
            await ReadLineAsync(stream);
            if (size == 0) return body.ToArray();
        }
    }

    private static async Task<string> ReadLineAsync(NetworkStream stream)
    {
        var line = new StringBuilder();
        var one = new byte[1];
        while (line.Length < HeaderLimit)
        {
            if (await stream.ReadAsync(one) == 0) throw new IOException("connection closed in a chunked body");
            if (one[0] == '\n') return line.ToString().TrimEnd('\r');
            line.Append((char)one[0]);
        }
        throw new IOException("chunk line too long");
    }
}

/// <summary>What the scripted server received.</summary>
internal sealed record ScriptedRequest(string Method, string Path, JsonObject? Json)
{
    public bool IsCompletion => Path.EndsWith("/completions", StringComparison.Ordinal);
}

/// <summary>How the scripted server answers one request.</summary>
internal abstract class Reply
{
    /// <summary>A 200 (or <paramref name="status"/>) with this JSON text.</summary>
    public static Reply Json(string json, int status = 200) => new Whole(status, Encoding.UTF8.GetBytes(json));

    /// <summary>A 200 whose body is these bytes, whatever they are.</summary>
    public static Reply Bytes(byte[] body) => new Whole(200, body);

    /// <summary>Headers announcing a body, a few bytes of it, then nothing until the client gives up.</summary>
    public static Reply StallAfterHeaders() => new Stall();

    /// <summary>Headers announcing the whole <paramref name="json"/>, then only its first <paramref name="sent"/> bytes and a close.</summary>
    public static Reply Cut(string json, int sent) => new CutShort(Encoding.UTF8.GetBytes(json), sent);

    /// <summary>A TCP reset before any byte of a response.</summary>
    public static Reply Reset() => new ResetConnection();

    /// <summary>A completion whose text makes the body <paramref name="bytes"/> long, streamed while the client reads.</summary>
    public static Reply Huge(long bytes) => new HugeBody(bytes);

    public abstract Task SendAsync(TcpClient client, NetworkStream stream, CancellationToken stop);

    protected static byte[] Head(int status, long length) => Encoding.ASCII.GetBytes(
        $"HTTP/1.1 {status} {(status == 200 ? "OK" : "Error")}\r\nContent-Type: application/json\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n");

    private sealed class Whole(int status, byte[] body) : Reply
    {
        public override async Task SendAsync(TcpClient client, NetworkStream stream, CancellationToken stop)
        {
            await stream.WriteAsync(Head(status, body.Length), stop);
            await stream.WriteAsync(body, stop);
        }
    }

    private sealed class Stall : Reply
    {
        public override async Task SendAsync(TcpClient client, NetworkStream stream, CancellationToken stop)
        {
            await stream.WriteAsync(Head(200, 1000), stop);
            await stream.WriteAsync("{\"choices\": ["u8.ToArray(), stop);
            await stream.FlushAsync(stop);
            // Hold the connection open until the client closes it or the test ends.
            var buffer = new byte[1];
            while (await stream.ReadAsync(buffer, stop) > 0) { }
        }
    }

    private sealed class CutShort(byte[] body, int sent) : Reply
    {
        public override async Task SendAsync(TcpClient client, NetworkStream stream, CancellationToken stop)
        {
            await stream.WriteAsync(Head(200, body.Length), stop);
            await stream.WriteAsync(body.AsMemory(0, sent), stop);
        }
    }

    private sealed class ResetConnection : Reply
    {
        public override Task SendAsync(TcpClient client, NetworkStream stream, CancellationToken stop)
        {
            client.Client.LingerState = new LingerOption(true, 0);
            client.Client.Close();
            return Task.CompletedTask;
        }
    }

    private sealed class HugeBody(long bytes) : Reply
    {
        public override async Task SendAsync(TcpClient client, NetworkStream stream, CancellationToken stop)
        {
            var open = "{\"choices\": [{\"index\": 0, \"finish_reason\": \"stop\", \"text\": \""u8.ToArray();
            var close = "\"}]}"u8.ToArray();
            await stream.WriteAsync(Head(200, bytes), stop);
            await stream.WriteAsync(open, stop);
            var filler = Enumerable.Repeat((byte)'a', 64 * 1024).ToArray();
            for (var left = bytes - open.Length - close.Length; left > 0; left -= filler.Length)
                await stream.WriteAsync(filler.AsMemory(0, (int)Math.Min(filler.Length, left)), stop);
            await stream.WriteAsync(close, stop);
        }
    }
}
