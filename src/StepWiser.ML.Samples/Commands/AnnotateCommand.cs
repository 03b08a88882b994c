using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using StepWiser.ML.Annotation;
using StepWiser.ML.Generation;
using StepWiser.ML.Models;
using StepWiser.ML.Reasoning;
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
        var url = new Option<string?>("--policy-url") { Description = "OpenAI-compatible server of the policy, e.g. http://localhost:8000/v1 (key: STEPWISER_OPENAI_API_KEY)." };
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
        var command = new Command("annotate", "Monte-Carlo step values and labels for solutions (resumable, shardable).")
        {
            input, output, policy, url, model, store, shard, rollouts, maxTokens, temperature, seed, batch, trl, scheme,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var inputFile = parse.GetValue(input)!;
            if (!inputFile.Exists) return Cli.Fail($"annotate: input file {inputFile.FullName} does not exist.");
            var policyDir = parse.GetValue(policy);
            var policyUrl = parse.GetValue(url);
            if ((policyDir is null) == (policyUrl is null)) return Cli.Fail("annotate: give exactly one of --policy <folder> or --policy-url <url>.");
            var (shardIndex, shardCount) = ParseShard(parse.GetValue(shard)!);
            var rows = ReadInput(inputFile.FullName);

            ITextGenerator generator;
            IDisposable? owned = null;
            if (policyDir is not null)
            {
                var lm = HuggingFaceCheckpoint.Load(policyDir.FullName);
                owned = lm;
                generator = new LocalTextGenerator(lm, HuggingFaceTokenizer.Load(policyDir.FullName));
            }
            else
            {
                if (!Uri.TryCreate(policyUrl, UriKind.Absolute, out var baseUrl)) return Cli.Fail($"annotate: --policy-url '{policyUrl}' is not an absolute URL.");
                var remote = new OpenAICompatibleTextGenerator(new OpenAICompatibleOptions { BaseUrl = baseUrl, Model = parse.GetValue(model) });
                owned = remote;
                generator = remote;
            }
            using var _ = owned;
            var options = new MonteCarloOptions
            {
                Rollouts = parse.GetValue(rollouts), MaxNewTokens = parse.GetValue(maxTokens), Temperature = parse.GetValue(temperature),
                Seed = parse.GetValue(seed), BatchSize = parse.GetValue(batch), StoreDirectory = parse.GetValue(store)?.FullName,
                ShardIndex = shardIndex, ShardCount = shardCount, PolicyName = policyDir?.Name ?? policyUrl!,
                Progress = new Progress<MonteCarloProgress>(p => Console.Error.WriteLine(
                    $"  {p.Rows}/{p.TotalRows} solutions, {p.Rollouts:N0} rollouts ({p.RolloutsPerSecond:N0}/s), {p.CachedPrefixes:N0} prefixes from the store, {p.FailedPrefixes} failed, ETA {p.Eta:mm\\:ss}")),
            };
            using var annotator = new MonteCarloAnnotator(generator, new MathAnswerVerifier(), options);
            var results = await annotator.AnnotateAsync(rows.Select(r => r.Input).ToArray(), cancellationToken);
            WriteOutput(parse.GetValue(output)!.FullName, rows, results);
            if (parse.GetValue(trl) is { } trlFile)
                TrlStepwiseFormat.Write(trlFile.FullName, rows.Zip(results).Where(x => x.Second is not null)
                    .Select(x => new StepwiseExample(x.First.Input.Prompt, x.First.Input.Chunks, x.Second!.Labels(parse.GetValue(scheme)))));
            Console.WriteLine($"annotated {results.Count(r => r is not null)} solutions: sampled {annotator.RolloutsSampled:N0} rollouts, {annotator.CachedPrefixes:N0} prefixes from the store, {annotator.FailedPrefixes} failed prefixes");
            return 0;
        });
        return command;
    }

    private static (int Index, int Count) ParseShard(string text)
    {
        var parts = text.Split('/');
        if (parts.Length == 2 && int.TryParse(parts[0], CultureInfo.InvariantCulture, out var i) && int.TryParse(parts[1], CultureInfo.InvariantCulture, out var n) && n >= 1 && i >= 0 && i < n)
            return (i, n);
        throw new CliException($"annotate: --shard must be i/n with 0 <= i < n, got '{text}'.");
    }

    private sealed record InputRow(JsonObject Source, AnnotationInput Input);

    private static List<InputRow> ReadInput(string path)
    {
        var rows = new List<InputRow>();
        var number = 0;
        foreach (var line in File.ReadLines(path))
        {
            number++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            try
            {
                var node = JsonNode.Parse(line)!.AsObject();
                var prompt = node["prompt"]?.GetValue<string>() ?? throw new CliException("missing \"prompt\"");
                var answer = node["answer"] is JsonValue a ? a.ToString() : throw new CliException("missing \"answer\"");
                var chunks = node["chunks"] is JsonArray list ? list.Select(c => c!.GetValue<string>()).ToArray()
                    : node["solution"] is JsonValue s ? ChunkParser.ParseTags(s.GetValue<string>()).Chunks.ToArray()
                    : throw new CliException("needs \"chunks\" (a list) or \"solution\" (tagged text)");
                rows.Add(new InputRow(node, new AnnotationInput(prompt, chunks, answer)));
            }
            catch (Exception e) when (e is JsonException or CliException or FormatException or InvalidOperationException)
            {
                throw new CliException($"{path}:{number}: {e.Message}");
            }
        }
        return rows;
    }

    private static void WriteOutput(string path, List<InputRow> rows, IReadOnlyList<AnnotationResult?> results)
    {
        var temp = path + ".tmp";
        using (var writer = new StreamWriter(temp))
        {
            for (var i = 0; i < rows.Count; i++)
            {
                if (results[i] is not { } r) continue;
                var o = rows[i].Source.DeepClone().AsObject();
                o["chunks"] = new JsonArray(rows[i].Input.Chunks.Select(c => (JsonNode)c).ToArray());
                o["q0"] = float.IsNaN(r.InitialValue) ? null : r.InitialValue;
                o["values"] = new JsonArray(r.Values.Select(v => float.IsNaN(v) ? null : (JsonNode)v).ToArray());
                o["failed_prefixes"] = r.FailedPrefixes;
                foreach (var scheme in Enum.GetValues<LabelScheme>())
                    o[$"labels_{scheme}"] = new JsonArray(r.Labels(scheme).Select(b => (JsonNode)b).ToArray());
                writer.WriteLine(o.ToJsonString());
            }
        }
        File.Move(temp, path, overwrite: true);
    }
}
