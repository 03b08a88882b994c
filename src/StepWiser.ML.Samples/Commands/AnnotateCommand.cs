using System.CommandLine;
using System.Globalization;
using StepWiser.ML.Annotation;
using StepWiser.ML.Models;
using StepWiser.ML.AnswerChecking;

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
        var policy = new PolicyOptions();
        var servers = new ServerClientOptions();
        var store = new Option<DirectoryInfo?>("--store") { Description = "Rollout store folder: a rerun resumes from it; shards' stores combine with the merge command." };
        var shard = new Option<string>("--shard") { Description = "This machine's shard, i/n (0-based).", DefaultValueFactory = _ => "0/1" };
        var rollouts = new Option<int>("--rollouts") { Description = "Continuations per prefix (M).", DefaultValueFactory = _ => 16 };
        var maxTokens = new Option<int>("--max-new-tokens") { Description = "Longest continuation.", DefaultValueFactory = _ => 512 };
        var temperature = new Option<float>("--temperature") { Description = "Sampling temperature.", DefaultValueFactory = _ => 1f };
        var seed = new Option<long>("--seed") { Description = "Seed of the rollouts.", DefaultValueFactory = _ => 1 };
        var batch = new Option<int>("--batch-size") { Description = "Solutions per policy call.", DefaultValueFactory = _ => 16 };
        var trl = new Option<FileInfo?>("--trl") { Description = "Also write TRL stepwise-supervision JSONL (labels of --scheme)." };
        var scheme = new Option<LabelScheme>("--scheme") { Description = "Scheme of the TRL labels.", DefaultValueFactory = _ => LabelScheme.AbsoluteQ };
        var maxFailures = new Option<int>("--max-consecutive-failures") { Description = "Stop (exit 4) after this many prefixes in a row whose rollouts failed: the policy is down (0 = never stop).", DefaultValueFactory = _ => 8 };
        var allowFailures = new Option<bool>("--allow-failures") { Description = "Exit 0 even when some prefixes' rollouts failed (their solutions still get no labels)." };
        var device = new Option<string?>("--device") { Description = "With --policy: where the policy runs, cpu (default), cuda or cuda:N (needs the CUDA backend package)." };
        var dtype = new Option<string?>("--dtype") { Description = "With --policy: the policy's weight type, fp32 (default), bf16 or fp16." };
        var command = new Command("annotate", "Monte-Carlo step values and labels for solutions (resumable, shardable, over several policy servers at once).")
        {
            input, output, store, shard, rollouts, maxTokens, temperature, seed, batch, trl, scheme, maxFailures, allowFailures, device, dtype,
        };
        foreach (var option in policy.All.Concat(servers.All)) command.Options.Add(option);
        command.SetAction(async (parse, cancellationToken) =>
        {
            // Everything that can be checked is checked before any rollout.
            var inputFile = parse.GetValue(input)!;
            if (!inputFile.Exists) return Cli.Fail($"annotate: input file {inputFile.FullName} does not exist.");
            policy.Check(parse, "annotate");
            var policyDir = policy.FolderPath(parse);
            if (policyDir is null && (parse.GetValue(device) is not null || parse.GetValue(dtype) is not null))
                return Cli.Fail("annotate: --device and --dtype apply to a local --policy; a --policy-url server chooses its own.");
            var (shardIndex, shardCount) = ParseShard(parse.GetValue(shard)!);
            Cli.AtLeast("--rollouts", parse.GetValue(rollouts), 1);
            Cli.AtLeast("--max-new-tokens", parse.GetValue(maxTokens), 1);
            Cli.AtLeast("--batch-size", parse.GetValue(batch), 1);
            Cli.AtLeast("--max-consecutive-failures", parse.GetValue(maxFailures), 0);
            Cli.InRange("--temperature", parse.GetValue(temperature), 0, 100);
            servers.Check(parse);
            var prompt = policy.Prompt(parse, "annotate");
            var outputPath = parse.GetValue(output)!.FullName;
            var trlPath = parse.GetValue(trl)?.FullName;
            var storeDir = parse.GetValue(store)?.FullName;
            // No output may overwrite an input (the solutions, the policy's files, the store's records) or the other output.
            var guard = new PathGuard().InputFile("--input", inputFile.FullName);
            if (policyDir is not null) guard.InputFolder("--policy", policyDir);
            if (storeDir is not null) guard.InputOutputFolder("--store", storeDir);
            guard.OutputFile("--output", outputPath);
            if (trlPath is not null) guard.OutputFile("--trl", trlPath);
            guard.Check();
            Cli.CheckOutputFile("--output", outputPath);
            if (trlPath is not null) Cli.CheckOutputFile("--trl", trlPath);
            if (storeDir is not null) Cli.CheckOutputFolder("--store", storeDir);
            var torchDevice = Cli.Device(parse.GetValue(device) ?? "cpu");
            var torchDtype = Cli.DType(parse.GetValue(dtype) ?? "fp32");
            var rows = AnnotationJsonl.Read(inputFile.FullName);
            if (rows.Count == 0) return Cli.Fail($"annotate: {inputFile.FullName} holds no solutions (empty or blank lines only); nothing written.");

            var options = new MonteCarloOptions
            {
                Rollouts = parse.GetValue(rollouts), MaxNewTokens = parse.GetValue(maxTokens), Temperature = parse.GetValue(temperature),
                Seed = parse.GetValue(seed), BatchSize = parse.GetValue(batch), StoreDirectory = storeDir, Prompt = prompt,
                ShardIndex = shardIndex, ShardCount = shardCount, MaxConsecutiveFailures = parse.GetValue(maxFailures),
                Progress = new Progress<MonteCarloProgress>(p => Console.Error.WriteLine(
                    $"  {p.Rows}/{p.TotalRows} solutions, {p.Rollouts:N0} rollouts ({p.RolloutsPerSecond:N0}/s), {p.CachedPrefixes:N0} prefixes from the store, {p.FailedPrefixes} failed, ETA {p.Eta:mm\\:ss}")),
            };
            var verifier = new MathAnswerVerifier();
            using var opened = await policy.OpenAsync(parse, servers, "annotate", torchDevice, torchDtype, cancellationToken);
            if (opened.Bundle is { } lm) CheckContext(inputFile.FullName, rows, lm, options, verifier);
            options.PolicyName = opened.Identity;
            using var annotator = new MonteCarloAnnotator(opened.Generator, verifier, options);   // opens (and checks) the store
            Console.Error.WriteLine($"policy {opened.Description}; prompts {prompt.Format}{(prompt.Metadata.TryGetValue("chat_template", out var flavor) ? $" ({flavor} template)" : "")}; {rows.Count} solutions in {inputFile.Name}");
            var results = await annotator.AnnotateAsync(rows.Select(r => r.Input).ToArray(), cancellationToken);
            var done = results.Count(r => r is not null);
            var incomplete = results.Count(r => r is { IsComplete: false });
            AnnotationJsonl.Write(outputPath, rows, results, annotator.Metadata);
            var trlScheme = parse.GetValue(scheme);
            if (trlPath is not null)
                TrlStepwiseFormat.Write(trlPath, rows.Zip(results).Where(x => x.Second is { IsComplete: true })
                    .Select(x => new StepwiseExample(x.First.Input.Prompt, x.First.Input.Chunks, x.Second!.Labels(trlScheme))));
            if (opened.Pool is { } pool)
                Console.Error.WriteLine($"policy servers: {string.Join(", ", pool.Served.Select(s => $"{s.Key} answered {s.Value:N0} requests{(pool.Failures.TryGetValue(s.Key, out var why) ? $", then failed and left the run ({why})" : "")}"))}");
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

    private static (int Index, int Count) ParseShard(string text)
    {
        var parts = text.Split('/');
        if (parts.Length == 2 && int.TryParse(parts[0], CultureInfo.InvariantCulture, out var i) && int.TryParse(parts[1], CultureInfo.InvariantCulture, out var n) && n >= 1 && i >= 0 && i < n)
            return (i, n);
        throw new CliException($"annotate: --shard must be i/n with 0 <= i < n, got '{text}'.");
    }
}
