using System.CommandLine;
using System.Globalization;
using StepWiser.ML.Chunking;
using StepWiser.ML.Annotation;
using StepWiser.ML.Generation;
using StepWiser.ML.Models;
using StepWiser.ML.AnswerChecking;
using StepWiser.ML.Tokenization;

namespace StepWiser.ML.Samples.Commands;

/// <summary>
/// <c>annotate</c>: Monte-Carlo step values and labels for a JSONL of solutions, with a local checkpoint or a remote
/// OpenAI-compatible server as the policy; resumable (store), shardable (<c>--shard i/n</c>).
/// </summary>
internal static class AnnotateCommand
{
    public static Command Create()
    {
        var input = new Option<FileInfo>("--input") { Description = "JSONL: {\"prompt\", \"chunks\": [...] or \"solution\": \"<chunk>…</chunk>…\", \"answer\"} per line.", Required = true };
        var output = new Option<FileInfo>("--output") { Description = "JSONL written at the end: the input fields plus q0, values and labels under all three schemes.", Required = true };
        var policy = new Option<DirectoryInfo?>("--policy") { Description = "Local policy checkpoint (Hugging Face layout with tokenizer.json)." };
        var url = new Option<string?>("--policy-url") { Description = "OpenAI-compatible server of the policy, e.g. http://localhost:8000/v1." };
        var keyEnv = new Option<string?>("--api-key-env") { Description = "With --policy-url: the environment variable holding this server's API key (default: STEPWISER_OPENAI_API_KEY if set; OPENAI_API_KEY is never sent unless named here)." };
        var insecureKey = new Option<bool>("--allow-insecure-key") { Description = "Send the API key over plain http to a host that is not loopback." };
        var model = new Option<string?>("--policy-model") { Description = "Model name on the server (default: the first it lists)." };
        var store = new Option<DirectoryInfo?>("--store") { Description = "Rollout store folder: a rerun resumes from it; shards' folders merge by copying their files together." };
        var shard = new Option<string>("--shard") { Description = "This machine's shard, i/n (0-based).", DefaultValueFactory = _ => "0/1" };
        var rollouts = new Option<int>("--rollouts") { Description = "Continuations per prefix (M).", DefaultValueFactory = _ => 16 };
        var maxTokens = new Option<int>("--max-new-tokens") { Description = "Longest continuation.", DefaultValueFactory = _ => 512 };
        var temperature = new Option<float>("--temperature") { Description = "Sampling temperature.", DefaultValueFactory = _ => 1f };
        var seed = new Option<long>("--seed") { Description = "Seed of the rollouts.", DefaultValueFactory = _ => 1 };
        var batch = new Option<int>("--batch-size") { Description = "Solutions per policy call.", DefaultValueFactory = _ => 16 };
        var trl = new Option<FileInfo?>("--trl") { Description = "Also write TRL stepwise-supervision JSONL (labels of --scheme)." };
        var scheme = new Option<LabelScheme>("--scheme") { Description = "Scheme of the TRL labels.", DefaultValueFactory = _ => LabelScheme.AbsoluteQ };
        var revision = new Option<string?>("--policy-revision") { Description = "With --policy-url: a revision of the served model (e.g. its commit); part of the store's key with the served model id, so rollouts of another model never mix." };
        var retries = new Option<int>("--retries") { Description = "With --policy-url: retries of a failed request (408, 429, 5xx, timeouts, lost connections), each shown on stderr.", DefaultValueFactory = _ => 3 };
        var timeout = new Option<double>("--timeout") { Description = "With --policy-url: seconds one request attempt may take.", DefaultValueFactory = _ => 600 };
        var maxResponse = new Option<int>("--max-response-mb") { Description = "With --policy-url: largest response accepted, in MiB; a larger one fails the request.", DefaultValueFactory = _ => (int)(OpenAICompatibleOptions.DefaultMaxResponseBytes >> 20) };
        var maxFailures = new Option<int>("--max-consecutive-failures") { Description = "Stop (exit 4) after this many prefixes in a row whose rollouts failed: the policy is down (0 = never stop).", DefaultValueFactory = _ => 8 };
        var allowFailures = new Option<bool>("--allow-failures") { Description = "Exit 0 even when some prefixes' rollouts failed (their solutions still get no labels)." };
        var device = new Option<string?>("--device") { Description = "With --policy: where the policy runs, cpu (default), cuda or cuda:N (needs the CUDA backend package)." };
        var dtype = new Option<string?>("--dtype") { Description = "With --policy: the policy's weight type, fp32 (default), bf16 or fp16." };
        var promptFormat = new Option<string>("--prompt-format") { Description = "chat: the policy's own chat template, with the instruction to write <chunk>-tagged steps and a \\boxed{} answer; raw: the prompt followed by the tagged chunks, for base models only (the built-in world's policies).", DefaultValueFactory = _ => PolicyPrompt.ChatFormat };
        var chatTemplate = new Option<string?>("--chat-template") { Description = "A checkpoint folder or tokenizer_config.json whose chat template writes the prompts (needed with --policy-url; with --policy, the checkpoint's own by default)." };
        var command = new Command("annotate", "Monte-Carlo step values and labels for solutions (resumable, shardable).")
        {
            input, output, policy, url, model, store, shard, rollouts, maxTokens, temperature, seed, batch, trl, scheme, revision, retries, timeout, maxResponse, maxFailures, allowFailures, keyEnv, insecureKey,
            device, dtype, promptFormat, chatTemplate,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            // Everything that can be checked is checked before any rollout.
            var inputFile = parse.GetValue(input)!;
            if (!inputFile.Exists) return Cli.Fail($"annotate: input file {inputFile.FullName} does not exist.");
            var policyDir = parse.GetValue(policy);
            var policyUrl = parse.GetValue(url);
            if ((policyDir is null) == (policyUrl is null)) return Cli.Fail("annotate: give exactly one of --policy <folder> or --policy-url <url>.");
            var (shardIndex, shardCount) = ParseShard(parse.GetValue(shard)!);
            Cli.AtLeast("--rollouts", parse.GetValue(rollouts), 1);
            Cli.AtLeast("--max-new-tokens", parse.GetValue(maxTokens), 1);
            Cli.AtLeast("--batch-size", parse.GetValue(batch), 1);
            Cli.AtLeast("--retries", parse.GetValue(retries), 0);
            Cli.AtLeast("--max-consecutive-failures", parse.GetValue(maxFailures), 0);
            Cli.InRange("--temperature", parse.GetValue(temperature), 0, 100);
            Cli.InRange("--timeout", parse.GetValue(timeout), 0, 86_400, minExclusive: true);
            Cli.AtLeast("--max-response-mb", parse.GetValue(maxResponse), 1);
            var outputPath = parse.GetValue(output)!.FullName;
            var trlPath = parse.GetValue(trl)?.FullName;
            var storeDir = parse.GetValue(store)?.FullName;
            // No output may overwrite an input (the solutions, the policy's files, the store's records) or the other output.
            var guard = new PathGuard().InputFile("--input", inputFile.FullName);
            if (policyDir is not null) guard.InputFolder("--policy", policyDir.FullName);
            if (storeDir is not null) guard.InputOutputFolder("--store", storeDir);
            guard.OutputFile("--output", outputPath);
            if (trlPath is not null) guard.OutputFile("--trl", trlPath);
            guard.Check();
            Cli.CheckOutputFile("--output", outputPath);
            if (trlPath is not null) Cli.CheckOutputFile("--trl", trlPath);
            if (storeDir is not null) Cli.CheckOutputFolder("--store", storeDir);
            if (policyUrl is not null && (parse.GetValue(device) is not null || parse.GetValue(dtype) is not null))
                return Cli.Fail("annotate: --device and --dtype apply to a local --policy; a --policy-url server chooses its own.");
            var torchDevice = Cli.Device(parse.GetValue(device) ?? "cpu");
            var torchDtype = Cli.DType(parse.GetValue(dtype) ?? "fp32");
            var rows = AnnotationJsonl.Read(inputFile.FullName);
            if (rows.Count == 0) return Cli.Fail($"annotate: {inputFile.FullName} holds no solutions (empty or blank lines only); nothing written.");

            var options = new MonteCarloOptions
            {
                Rollouts = parse.GetValue(rollouts), MaxNewTokens = parse.GetValue(maxTokens), Temperature = parse.GetValue(temperature),
                Seed = parse.GetValue(seed), BatchSize = parse.GetValue(batch), StoreDirectory = storeDir,
                ShardIndex = shardIndex, ShardCount = shardCount, MaxConsecutiveFailures = parse.GetValue(maxFailures),
                Progress = new Progress<MonteCarloProgress>(p => Console.Error.WriteLine(
                    $"  {p.Rows}/{p.TotalRows} solutions, {p.Rollouts:N0} rollouts ({p.RolloutsPerSecond:N0}/s), {p.CachedPrefixes:N0} prefixes from the store, {p.FailedPrefixes} failed, ETA {p.Eta:mm\\:ss}")),
            };
            var verifier = new MathAnswerVerifier();
            ITextGenerator generator;
            IDisposable? owned = null;
            var placement = "";
            if (policyDir is not null)
            {
                if (!File.Exists(Path.Combine(policyDir.FullName, "config.json"))) return Cli.Fail($"annotate: --policy {policyDir.FullName} is not a Hugging Face checkpoint (no config.json).");
                if (!File.Exists(Path.Combine(policyDir.FullName, "tokenizer.json"))) return Cli.Fail($"annotate: --policy {policyDir.FullName} has no tokenizer.json.");
                options.Prompt = ChoosePrompt(parse.GetValue(promptFormat)!, parse.GetValue(chatTemplate), policyDir.FullName);
                var lm = ModelBundle.Load(policyDir.FullName, torchDevice, torchDtype);
                placement = $" (loaded on {lm.Device} in {lm.Model.DType})";
                owned = lm;
                try { CheckContext(inputFile.FullName, rows, lm, options, verifier); }
                catch { lm.Dispose(); throw; }
                generator = new LocalTextGenerator(lm);
                options.PolicyName = HuggingFaceCheckpoint.Fingerprint(policyDir.FullName);
            }
            else
            {
                if (!Uri.TryCreate(policyUrl, UriKind.Absolute, out var baseUrl) || baseUrl.Scheme is not ("http" or "https"))
                    return Cli.Fail($"annotate: --policy-url '{policyUrl}' is not an absolute http(s) URL.");
                var (apiKey, _) = Cli.ApiKey("annotate", parse.GetValue(keyEnv), "STEPWISER_OPENAI_API_KEY");
                options.Prompt = ChoosePrompt(parse.GetValue(promptFormat)!, parse.GetValue(chatTemplate), null);
                var remote = new OpenAICompatibleTextGenerator(
                    new OpenAICompatibleOptions
                    {
                        BaseUrl = baseUrl, Model = parse.GetValue(model), MaxRetries = parse.GetValue(retries), AttemptTimeout = TimeSpan.FromSeconds(parse.GetValue(timeout)),
                        MaxResponseBytes = (long)parse.GetValue(maxResponse) << 20, ApiKey = apiKey, AllowInsecureApiKey = parse.GetValue(insecureKey),
                    },
                    logger: new StderrLogger("policy"));
                owned = remote;
                generator = remote;
                // The served model's id (asked of the server now: a server that is down fails here, before any work).
                var served = parse.GetValue(model) ?? (await remote.ListModelsAsync(cancellationToken)).FirstOrDefault()
                    ?? throw new CliException($"annotate: {baseUrl} lists no model; give --policy-model");
                options.PolicyName = $"remote:{served}@{parse.GetValue(revision) ?? "unversioned"}";
            }
            using var _ = owned;
            var identity = options.PolicyName;
            using var annotator = new MonteCarloAnnotator(generator, verifier, options);   // opens (and checks) the store
            var prompt = options.Prompt;
            Console.Error.WriteLine($"policy {identity}{placement}; prompts {prompt.Format}{(prompt.Metadata.TryGetValue("chat_template", out var flavor) ? $" ({flavor} template)" : "")}; {rows.Count} solutions in {inputFile.Name}");
            var results = await annotator.AnnotateAsync(rows.Select(r => r.Input).ToArray(), cancellationToken);
            var done = results.Count(r => r is not null);
            var incomplete = results.Count(r => r is { IsComplete: false });
            AnnotationJsonl.Write(outputPath, rows, results, annotator.Metadata);
            var trlScheme = parse.GetValue(scheme);
            if (trlPath is not null)
                TrlStepwiseFormat.Write(trlPath, rows.Zip(results).Where(x => x.Second is { IsComplete: true })
                    .Select(x => new StepwiseExample(x.First.Input.Prompt, x.First.Input.Chunks, x.Second!.Labels(trlScheme))));
            Console.WriteLine($"annotated {done} solutions: sampled {annotator.RolloutsSampled:N0} rollouts, {annotator.CachedPrefixes:N0} prefixes from the store, {annotator.FailedPrefixes} failed prefixes");
            if (incomplete == 0) return 0;
            Console.Error.WriteLine($"{incomplete} of {done} solutions have steps without a value ({annotator.FailedPrefixes} prefixes' rollouts failed; first failure: {annotator.FirstFailure}). "
                + "They got no labels (labels_* are null in the output and they are left out of the TRL file); "
                + (storeDir is null ? "rerun to sample them again." : "rerun with the same --store to fill them in (finished prefixes are not sampled again)."));
            return parse.GetValue(allowFailures) ? 0 : Cli.PartialFailure;
        });
        return command;
    }

    /// <summary>
    /// Before any rollout: every solution's longest prefix plus --max-new-tokens must fit the local policy's context
    /// (max_position_embeddings); past it a model's continuations, and so the labels, mean nothing. The first that does
    /// not is named by file and line.
    /// </summary>
    private static void CheckContext(string file, IReadOnlyList<AnnotationRecord> rows, ModelBundle lm, MonteCarloOptions options, MathAnswerVerifier verifier)
    {
        var context = lm.Model.Config.MaxPositionEmbeddings;
        var room = context - options.MaxNewTokens;
        if (room < 1) throw new CliException($"annotate: --max-new-tokens {options.MaxNewTokens} leaves no room for a prompt in the policy's context of {context} tokens");
        foreach (var row in rows)
        {
            var prefix = MonteCarloAnnotator.LongestPrefix(row.Input, options, verifier);
            var tokens = prefix.Length > (long)Cli.MaxCharactersPerToken * context ? int.MaxValue : lm.Tokenizer.CountTokens(prefix);
            if (tokens > room)
                throw new CliException(string.Create(CultureInfo.InvariantCulture,
                    $"annotate: {file}:{row.Line}: the solution's longest prefix is {(tokens == int.MaxValue ? $"{prefix.Length:N0} characters" : $"{tokens:N0} tokens")}; with --max-new-tokens {options.MaxNewTokens} it exceeds the policy's context of {context} tokens (max_position_embeddings). Shorten or leave out that solution, or lower --max-new-tokens."));
        }
    }

    /// <summary>
    /// The prompt format, checked before any work: chat needs a chat template (--chat-template, or the --policy
    /// checkpoint's own); raw is taken only when asked for, since it is right for base models only.
    /// </summary>
    private static PolicyPrompt ChoosePrompt(string format, string? templatePath, string? policyDir)
    {
        if (format == PolicyPrompt.RawFormat)
        {
            if (templatePath is not null) throw new CliException("annotate: --chat-template and --prompt-format raw contradict each other; give one.");
            return PolicyPrompt.Raw;
        }
        if (format != PolicyPrompt.ChatFormat) throw new CliException($"annotate: unknown --prompt-format '{format}' (chat or raw).");
        var source = templatePath ?? policyDir
            ?? throw new CliException("annotate: --policy-url needs --chat-template <checkpoint folder or tokenizer_config.json> for chat prompts, or --prompt-format raw for a base model.");
        var config = Directory.Exists(source) ? Path.Combine(source, "tokenizer_config.json") : source;
        if (!File.Exists(config))
            throw new CliException($"annotate: {config} does not exist, so there is no chat template to write the policy's prompts; give --chat-template, or --prompt-format raw for a base model.");
        try { return PolicyPrompt.Chat(ChatTemplate.FromTokenizerConfig(config)); }
        catch (Exception e) when (e is InvalidDataException or NotSupportedException or System.Text.Json.JsonException)
        {
            var what = e.Message.Contains(config, StringComparison.Ordinal) ? e.Message : $"{config}: {e.Message}";
            throw new CliException($"annotate: {what} Give --chat-template with a supported template, or --prompt-format raw for a base model.");
        }
    }

    private static (int Index, int Count) ParseShard(string text)
    {
        var parts = text.Split('/');
        if (parts.Length == 2 && int.TryParse(parts[0], CultureInfo.InvariantCulture, out var i) && int.TryParse(parts[1], CultureInfo.InvariantCulture, out var n) && n >= 1 && i >= 0 && i < n)
            return (i, n);
        throw new CliException($"annotate: --shard must be i/n with 0 <= i < n, got '{text}'.");
    }
}
