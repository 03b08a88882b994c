using System.CommandLine;
using StepWiser.ML.Generation;

namespace StepWiser.ML.Samples.Commands;

/// <summary>
/// How a command talks to OpenAI-compatible servers (a policy's, a judge's): retries, the time one attempt may take, the
/// largest response, requests in flight per server, and whether an API key may go over plain http. Shared by every
/// command with a <c>--policy-url</c> or <c>--judge-url</c>; checked before any server is called.
/// </summary>
internal sealed class ServerClientOptions
{
    private const int DefaultRetries = 3;
    private const double DefaultTimeoutSeconds = 600;
    private const double MaxTimeoutSeconds = 86_400;
    private const int DefaultConcurrency = 16;

    public Option<int> Retries { get; } = new("--retries") { Description = "With a server (--policy-url, --judge-url): retries of a failed request (408, 429, 5xx, timeouts, lost connections), each shown on stderr.", DefaultValueFactory = _ => DefaultRetries };

    public Option<double> Timeout { get; } = new("--timeout") { Description = "With a server: seconds one request attempt may take, the whole response included.", DefaultValueFactory = _ => DefaultTimeoutSeconds };

    public Option<int> MaxResponse { get; } = new("--max-response-mb") { Description = "With a server: largest response accepted, in MiB; a larger one fails the request.", DefaultValueFactory = _ => (int)(OpenAICompatibleOptions.DefaultMaxResponseBytes >> 20) };

    public Option<int> Concurrency { get; } = new("--concurrency") { Description = "With a server: requests in flight at once on each server.", DefaultValueFactory = _ => DefaultConcurrency };

    public Option<bool> InsecureKey { get; } = new("--allow-insecure-key") { Description = "Send an API key over plain http to a host that is not loopback." };

    /// <summary>The options, to add to a command.</summary>
    public IEnumerable<Option> All => [Retries, Timeout, MaxResponse, Concurrency, InsecureKey];

    /// <summary>Checks the values (one line naming the option on a bad one).</summary>
    public void Check(ParseResult parse)
    {
        Cli.AtLeast("--retries", parse.GetValue(Retries), 0);
        Cli.InRange("--timeout", parse.GetValue(Timeout), 0, MaxTimeoutSeconds, minExclusive: true);
        Cli.AtLeast("--max-response-mb", parse.GetValue(MaxResponse), 1);
        Cli.AtLeast("--concurrency", parse.GetValue(Concurrency), 1);
    }

    /// <summary>A client of the server at <paramref name="url"/> for <paramref name="role"/> ("policy", "judge"), its retries logged on stderr.</summary>
    public OpenAICompatibleTextGenerator Client(ParseResult parse, Uri url, string? model, string? apiKey, string role) => new(
        new OpenAICompatibleOptions
        {
            BaseUrl = url, Model = model, MaxRetries = parse.GetValue(Retries), AttemptTimeout = TimeSpan.FromSeconds(parse.GetValue(Timeout)),
            MaxResponseBytes = (long)parse.GetValue(MaxResponse) << 20, ApiKey = apiKey, AllowInsecureApiKey = parse.GetValue(InsecureKey),
            MaxConcurrentRequests = parse.GetValue(Concurrency),
        },
        logger: new StderrLogger($"{role} {url}"));

    /// <summary>An absolute http(s) URL, or a one-line error naming the option.</summary>
    public static Uri Url(string command, string option, string text) =>
        Uri.TryCreate(text, UriKind.Absolute, out var url) && url.Scheme is "http" or "https"
            ? url : throw new CliException($"{command}: {option} '{text}' is not an absolute http(s) URL.");

    /// <summary>
    /// The model a server serves, asked of it now, so that a server that is down fails before any work: <paramref name="model"/>
    /// when it lists that one, else its first. A server that lists no model, or not the one named, is an error naming it.
    /// </summary>
    public static async Task<string> ServedModelAsync(OpenAICompatibleTextGenerator client, string command, string? model, CancellationToken cancellationToken)
    {
        var listed = await client.ListModelsAsync(cancellationToken);
        if (model is not null)
            return listed.Contains(model, StringComparer.Ordinal) ? model
                : throw new CliException($"{command}: {client.Options.BaseUrl} serves {(listed.Count == 0 ? "no model" : string.Join(", ", listed.Select(m => $"'{m}'")))}, not '{model}'.");
        return listed.FirstOrDefault() ?? throw new CliException($"{command}: {client.Options.BaseUrl} lists no model; name one.");
    }
}
