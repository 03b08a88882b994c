using System.CommandLine;
using StepWiser.ML.Judging;
using StepWiser.ML.Tokenization;

namespace StepWiser.ML.Samples.Commands;

/// <summary>
/// The judge of the commands that run one (evaluate, search, select): a saved judge folder run locally (<c>--judge</c>),
/// or a judge served over the OpenAI-compatible API (<c>--judge-url</c>) whose prompts are written with a saved judge's
/// template and settings (<c>--judge</c> beside it: only its manifest is read) or a template named by <c>--template</c>.
/// Maj@k (<c>--votes</c>) reaches a server as <c>n</c>. Everything is checked before a model loads or a server is called.
/// </summary>
internal sealed class JudgeOptions
{
    private const string ManifestFile = "stepwiser-judge.json";

    public Option<DirectoryInfo?> Folder { get; } = new("--judge") { Description = "A judge saved by train-judge (Hugging Face layout + stepwiser-judge.json), run locally; with --judge-url only its template and settings are read." };

    public Option<string?> Url { get; } = new("--judge-url") { Description = "OpenAI-compatible server of the judge (serve --model <judge folder>, or vLLM), e.g. http://localhost:8001/v1; its prompts are written with --judge's template or --template." };

    public Option<string?> Model { get; } = new("--judge-model") { Description = "With --judge-url: the judge's model name on the server (default: the first it lists)." };

    public Option<string?> KeyEnv { get; } = new("--judge-api-key-env") { Description = "With --judge-url: the environment variable holding the judge server's API key (default: STEPWISER_OPENAI_API_KEY if set)." };

    public Option<string?> Template { get; } = new("--template") { Description = "With --judge-url and no --judge: the judge's prompt, compact, numbered, chat-ChatML, chat-Qwen2, chat-Qwen3, or a checkpoint folder or tokenizer_config.json whose chat template writes the paper's judge prompt." };

    public Option<int?> Votes { get; } = new("--votes") { Description = "Verdicts sampled per step, k of Maj@k (a server gets them as n in one request); default: the saved judge's, 1 with --template." };

    public Option<int?> MaxNewTokens { get; } = new("--judge-max-new-tokens") { Description = "Longest judge response; default: the saved judge's, 128 with --template." };

    /// <summary>The options, to add to a command.</summary>
    public IEnumerable<Option> All => [Folder, Url, Model, KeyEnv, Template, Votes, MaxNewTokens];

    /// <summary>The judge folder, or null.</summary>
    public string? FolderPath(ParseResult parse) => parse.GetValue(Folder)?.FullName;

    /// <summary>Whether the judge runs locally (a folder and no URL).</summary>
    public bool IsLocal(ParseResult parse) => parse.GetValue(Url) is null;

    /// <summary>Checks the choice before any work and returns the template given by --template, if any.</summary>
    public JudgeTemplate? Check(ParseResult parse, string command)
    {
        var folder = FolderPath(parse);
        var url = parse.GetValue(Url);
        var template = parse.GetValue(Template);
        if (folder is null && url is null) throw new CliException($"{command}: give --judge <saved judge folder>, or --judge-url <url> with --judge or --template.");
        if (folder is not null && !File.Exists(Path.Combine(folder, ManifestFile)))
            throw new CliException($"{command}: {folder} is not a saved StepWiser judge (no {ManifestFile}).");
        if (parse.GetValue(Votes) is { } votes) Cli.AtLeast("--votes", votes, 1);
        if (parse.GetValue(MaxNewTokens) is { } tokens) Cli.AtLeast("--judge-max-new-tokens", tokens, 1);
        if (url is null)
        {
            if (template is not null) throw new CliException($"{command}: --template is for a judge served at --judge-url; a saved --judge carries its own.");
            return null;
        }
        ServerClientOptions.Url(command, "--judge-url", url);
        Cli.ApiKey(command, parse.GetValue(KeyEnv), "STEPWISER_OPENAI_API_KEY");
        if ((folder is null) == (template is null))
            throw new CliException($"{command}: --judge-url needs the judge's prompt template from exactly one of --judge <saved judge folder> (its manifest) or --template.");
        return template is null ? null : ParseTemplate(command, template);
    }

    /// <summary>
    /// The built-in world's template a saved judge names (its result-first judges, e.g. the main job's), or null (the
    /// library resolves built-in names itself; a missing or malformed manifest is reported by the load).
    /// </summary>
    private static JudgeTemplate? WorldTemplate(string folder)
    {
        try
        {
            using var manifest = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "stepwiser-judge.json")));
            return manifest.RootElement.TryGetProperty("Template", out var name) && name.ValueKind == System.Text.Json.JsonValueKind.String
                ? Worlds.StepVerification.TemplateNamed(name.GetString()!) : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Text.Json.JsonException) { return null; }
    }

    /// <summary>
    /// The judge, ready to run: the saved folder loaded on <paramref name="device"/> in <paramref name="dtype"/>, or a
    /// client of the server (asked for its model now, so a server that is down fails before any work) writing the
    /// saved or named template. <paramref name="configure"/> adjusts the options (columns) before --votes and
    /// --judge-max-new-tokens apply.
    /// </summary>
    public async Task<OpenedJudge> OpenAsync(ParseResult parse, ServerClientOptions clients, string command, TorchSharp.torch.Device device, TorchSharp.torch.ScalarType dtype,
        Func<StepwiseJudgeOptions, StepwiseJudgeOptions>? configure, CancellationToken cancellationToken)
    {
        StepwiseJudgeOptions Configure(StepwiseJudgeOptions o)
        {
            o = configure?.Invoke(o) ?? o;
            if (parse.GetValue(Votes) is { } votes) o = o with { Votes = votes };
            if (parse.GetValue(MaxNewTokens) is { } tokens) o = o with { MaxNewTokens = tokens };
            return o;
        }
        var folder = FolderPath(parse);
        if (parse.GetValue(Url) is not { } url)
        {
            var local = StepwiseJudgeTransformer.Load(folder!, device, WorldTemplate(folder!), Configure, dtype);
            return new OpenedJudge(local, null, $"loaded on {local.Model!.Device} in {local.Model.Model.DType} from {folder}");
        }
        var template = Check(parse, command);
        var (apiKey, _) = Cli.ApiKey(command, parse.GetValue(KeyEnv), "STEPWISER_OPENAI_API_KEY");
        var client = clients.Client(parse, ServerClientOptions.Url(command, "--judge-url", url), parse.GetValue(Model), apiKey, "judge");
        try
        {
            var served = await ServerClientOptions.ServedModelAsync(client, command, parse.GetValue(Model), cancellationToken);
            var remote = folder is not null
                ? StepwiseJudgeTransformer.Load(folder, client, WorldTemplate(folder), Configure)
                : new StepwiseJudgeTransformer(client, template!, Configure(new StepwiseJudgeOptions()));
            return new OpenedJudge(remote, client, $"'{served}' served at {url} (template {remote.Judge.Template.Name}, {remote.Judge.Options.Votes} vote(s) per step)");
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }

    private static JudgeTemplate ParseTemplate(string command, string value)
    {
        if (JudgeTemplate.FromName(value) is { } named) return named;
        var config = Directory.Exists(value) ? Path.Combine(value, "tokenizer_config.json") : value;
        if (!File.Exists(config))
            throw new CliException($"{command}: --template '{value}' is neither a built-in judge template (compact, numbered, chat-ChatML, chat-Qwen2, chat-Qwen3, or result-first- and one of those) nor a checkpoint folder or tokenizer_config.json with a chat template.");
        try { return JudgeTemplate.Chat(ChatTemplate.FromTokenizerConfig(config)); }
        catch (Exception e) when (e is InvalidDataException or NotSupportedException or System.Text.Json.JsonException)
        {
            throw new CliException($"{command}: --template {config}: {e.Message}");
        }
    }
}
