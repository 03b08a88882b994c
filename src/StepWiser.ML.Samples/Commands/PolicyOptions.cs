using System.CommandLine;
using StepWiser.ML.Annotation;
using StepWiser.ML.Generation;
using StepWiser.ML.Models;
using StepWiser.ML.Tokenization;

namespace StepWiser.ML.Samples.Commands;

/// <summary>
/// The policy of the commands that run one (annotate, search, select): a local checkpoint (<c>--policy</c>) or one or
/// more OpenAI-compatible servers of one model (<c>--policy-url</c>, repeated: an <see cref="EndpointPool"/>), and how
/// its prompts are written (<c>--prompt-format</c>, <c>--chat-template</c>). Everything is checked before a model loads
/// or a server is asked anything.
/// </summary>
internal sealed class PolicyOptions
{
    public Option<DirectoryInfo?> Folder { get; } = new("--policy") { Description = "Local policy checkpoint (Hugging Face layout with tokenizer.json)." };

    public Option<string[]> Urls { get; } = new("--policy-url") { Description = "OpenAI-compatible server of the policy, e.g. http://localhost:8000/v1; repeat it for several servers of the same model: each takes requests as it has room (--concurrency each), and a server that fails leaves the run, its work going to the others." };

    public Option<string?> Model { get; } = new("--policy-model") { Description = "Model name on the server(s) (default: the first the first server lists); every server must serve it." };

    public Option<string?> Revision { get; } = new("--policy-revision") { Description = "With --policy-url: a revision of the served model (e.g. its commit); part of its identity with the served model id, so rollouts of another model never mix." };

    public Option<string?> KeyEnv { get; } = new("--api-key-env") { Description = "With --policy-url: the environment variable holding the servers' API key (default: STEPWISER_OPENAI_API_KEY if set; OPENAI_API_KEY is never sent unless named here)." };

    public Option<string> PromptFormat { get; } = new("--prompt-format") { Description = "chat: the policy's own chat template, with the instruction to write <chunk>-tagged steps and a \\boxed{} answer; raw: the prompt followed by the tagged chunks, for base models only (the built-in world's policies).", DefaultValueFactory = _ => PolicyPrompt.ChatFormat };

    public Option<string?> ChatTemplate { get; } = new("--chat-template") { Description = "A checkpoint folder or tokenizer_config.json whose chat template writes the policy's prompts (needed with --policy-url; with --policy, the checkpoint's own by default)." };

    /// <summary>The options, to add to a command.</summary>
    public IEnumerable<Option> All => [Folder, Urls, Model, Revision, KeyEnv, PromptFormat, ChatTemplate];

    /// <summary>The local folder, or null.</summary>
    public string? FolderPath(ParseResult parse) => parse.GetValue(Folder)?.FullName;

    /// <summary>
    /// Checks the choice before any work: exactly one of a folder (a checkpoint) or server URLs (absolute http(s), none
    /// twice, the API key variable set when one is named).
    /// </summary>
    public void Check(ParseResult parse, string command)
    {
        var folder = FolderPath(parse);
        var urls = parse.GetValue(Urls) ?? [];
        if ((folder is null) == (urls.Length == 0)) throw new CliException($"{command}: give exactly one of --policy <folder> or --policy-url <url> (repeatable).");
        var parsed = urls.Select(u => ServerClientOptions.Url(command, "--policy-url", u)).ToArray();
        if (parsed.GroupBy(u => u.GetLeftPart(UriPartial.Path).TrimEnd('/')).FirstOrDefault(g => g.Count() > 1) is { } twice)
            throw new CliException($"{command}: --policy-url {twice.Key} is given {twice.Count()} times; give each server once.");
        if (folder is not null)
        {
            if (!File.Exists(Path.Combine(folder, "config.json"))) throw new CliException($"{command}: --policy {folder} is not a Hugging Face checkpoint (no config.json).");
            if (!File.Exists(Path.Combine(folder, "tokenizer.json"))) throw new CliException($"{command}: --policy {folder} has no tokenizer.json.");
        }
        else
        {
            Cli.ApiKey(command, parse.GetValue(KeyEnv), "STEPWISER_OPENAI_API_KEY");
        }
    }

    /// <summary>
    /// How the policy's prompts are written, checked before any work: chat needs a chat template (--chat-template, or the
    /// --policy checkpoint's own); raw is taken only when asked for, since it is right for base models only.
    /// </summary>
    public PolicyPrompt Prompt(ParseResult parse, string command) =>
        ChoosePrompt(command, parse.GetValue(PromptFormat)!, parse.GetValue(ChatTemplate), FolderPath(parse));

    /// <summary>
    /// The policy, ready to generate: the local checkpoint loaded on <paramref name="device"/> in <paramref name="dtype"/>,
    /// or a client per server (each asked for its model now, so a server that is down fails before any work), pooled
    /// when there are several.
    /// </summary>
    public async Task<OpenedPolicy> OpenAsync(ParseResult parse, ServerClientOptions clients, string command, TorchSharp.torch.Device device, TorchSharp.torch.ScalarType dtype,
        CancellationToken cancellationToken)
    {
        if (FolderPath(parse) is { } folder)
        {
            var bundle = ModelBundle.Load(folder, device, dtype);
            return new OpenedPolicy(new LocalTextGenerator(bundle), HuggingFaceCheckpoint.Fingerprint(folder), $"{folder} (loaded on {bundle.Device} in {bundle.Model.DType})", bundle, []);
        }
        var (apiKey, _) = Cli.ApiKey(command, parse.GetValue(KeyEnv), "STEPWISER_OPENAI_API_KEY");
        var named = parse.GetValue(Model);
        var urls = parse.GetValue(Urls)!.Select(u => ServerClientOptions.Url(command, "--policy-url", u)).ToArray();
        var owned = new List<IDisposable>();
        try
        {
            var endpoints = new List<(string Name, ITextGenerator Generator)>();
            string? served = null;
            foreach (var url in urls)
            {
                // Every server after the first must serve the model the first serves.
                var client = clients.Client(parse, url, named ?? served, apiKey, "policy");
                owned.Add(client);
                served ??= await ServerClientOptions.ServedModelAsync(client, command, named ?? served, cancellationToken);
                if (endpoints.Count > 0) await ServerClientOptions.ServedModelAsync(client, command, served, cancellationToken);
                endpoints.Add((url.ToString(), client));
            }
            var identity = $"remote:{served}@{parse.GetValue(Revision) ?? "unversioned"}";
            ITextGenerator generator = endpoints.Count == 1 ? endpoints[0].Generator : new EndpointPool(endpoints, parse.GetValue(clients.Concurrency), new StderrLogger("policy servers"));
            return new OpenedPolicy(generator, identity, $"{identity} on {string.Join(", ", urls.Select(u => u.ToString()))}", null, owned);
        }
        catch
        {
            foreach (var o in owned) o.Dispose();
            throw;
        }
    }

    private static PolicyPrompt ChoosePrompt(string command, string format, string? templatePath, string? policyDir)
    {
        if (format == PolicyPrompt.RawFormat)
        {
            if (templatePath is not null) throw new CliException($"{command}: --chat-template and --prompt-format raw contradict each other; give one.");
            return PolicyPrompt.Raw;
        }
        if (format != PolicyPrompt.ChatFormat) throw new CliException($"{command}: unknown --prompt-format '{format}' (chat or raw).");
        var source = templatePath ?? policyDir
            ?? throw new CliException($"{command}: --policy-url needs --chat-template <checkpoint folder or tokenizer_config.json> for chat prompts, or --prompt-format raw for a base model.");
        var config = Directory.Exists(source) ? Path.Combine(source, "tokenizer_config.json") : source;
        if (!File.Exists(config))
            throw new CliException($"{command}: {config} does not exist, so there is no chat template to write the policy's prompts; give --chat-template, or --prompt-format raw for a base model.");
        try { return PolicyPrompt.Chat(Tokenization.ChatTemplate.FromTokenizerConfig(config)); }
        catch (Exception e) when (e is InvalidDataException or NotSupportedException or System.Text.Json.JsonException)
        {
            var what = e.Message.Contains(config, StringComparison.Ordinal) ? e.Message : $"{config}: {e.Message}";
            throw new CliException($"{command}: {what} Give --chat-template with a supported template, or --prompt-format raw for a base model.");
        }
    }
}
