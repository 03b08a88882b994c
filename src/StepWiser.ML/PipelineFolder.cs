using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using Microsoft.ML;
using Microsoft.ML.Data;
using StepWiser.ML.Annotation;
using StepWiser.ML.AnswerChecking;
using StepWiser.ML.Chunking;
using StepWiser.ML.Data;
using StepWiser.ML.Generation;
using StepWiser.ML.Judging;
using StepWiser.ML.Models;
using StepWiser.ML.Search;
using StepWiser.ML.Selection;
using StepWiser.ML.Tokenization;
using static TorchSharp.torch;

namespace StepWiser.ML;

/// <summary>
/// A fitted pipeline as one folder: <c>pipeline.json</c> (the stages in order, what each runs with and which model it
/// uses; a served policy by its address and client limits, never its key), <c>models/</c> (each local policy once, as a
/// <see cref="ModelBundle"/> in Hugging Face layout), and
/// <c>stages/</c> (each judge in its own folder, the chunker's options, ML.NET's own transformers as model zips).
/// </summary>
internal static class PipelineFolder
{
    public const string UseStepWiserSave =
        "ML.NET's model zip cannot hold StepWiser stages (it needs APIs ML.NET keeps internal): save the fitted pipeline with mlContext.StepWiser().Save(model, folder) and load it with mlContext.StepWiser().Load(folder).";

    private const string Manifest = "pipeline.json";
    private const string Format = "stepwiser-pipeline";

    /// <summary>Options as JSON: every public settable property but callbacks, tokens, generators and prompts (recorded on their own).</summary>
    private static readonly JsonSerializerOptions OptionsJson = new()
    {
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter() },
        TypeInfoResolver = new DefaultJsonTypeInfoResolver { Modifiers = { SkipUnsaved } },
    };

    private static void SkipUnsaved(JsonTypeInfo info)
    {
        if (info.Kind != JsonTypeInfoKind.Object) return;
        for (var i = info.Properties.Count - 1; i >= 0; i--)
        {
            var t = info.Properties[i].PropertyType;
            var kept = !typeof(Delegate).IsAssignableFrom(t) && t != typeof(CancellationToken) && t != typeof(PolicyPrompt)
                && (!t.IsInterface || (t.IsGenericType && t.GetGenericTypeDefinition() is var g && (g == typeof(IReadOnlyList<>) || g == typeof(IReadOnlyDictionary<,>))));
            if (!kept) info.Properties.RemoveAt(i);
        }
    }

    public static void Save(MLContext mlContext, ITransformer model, string folder)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentException.ThrowIfNullOrEmpty(folder);
        var stages = Stages(model);
        var full = Path.GetFullPath(folder);
        if (Directory.Exists(full) && Directory.EnumerateFileSystemEntries(full).Any() && !HoldsSavedPipeline(full))
            throw new IOException($"{full}: a non-empty folder that holds no saved pipeline (only pipeline.json, models/ and stages/ of a pipeline saved by mlContext.StepWiser().Save); nothing was written (give a new or empty folder, or a saved pipeline's folder to replace)");
        // Everything is checked before anything is written: a stage that cannot be saved names itself.
        var judges = new Dictionary<IStepJudge, int>(ReferenceEqualityComparer.Instance);
        for (var i = 0; i < stages.Count; i++)
            if (JudgeOfStage(stages[i]) is { } judge) judges.TryAdd(judge, i);
        var entries = new JsonArray();
        var policies = new Dictionary<ITextGenerator, (string Id, JsonObject Entry)>(ReferenceEqualityComparer.Instance);
        var writes = new List<Action<string>>();
        for (var i = 0; i < stages.Count; i++)
        {
            var stage = stages[i];
            var n = i; // the writes run later: each keeps its own stage number
            var where = $"stage {n} ({stage.GetType().Name})";
            var entry = new JsonObject();
            switch (stage)
            {
                case StepChunkerTransformer chunker:
                    if (chunker.Options.Segmenter is not null) throw new NotSupportedException($"{where}: a self-segmenting chunker's segmenter model is not saved with the pipeline; save the chunker with its own Save and pass the segmenter to StepChunkerTransformer.Load");
                    entry["kind"] = "ChunkSteps";
                    entry["file"] = $"stages/{n}-chunk.json";
                    writes.Add(dir => chunker.Save(Path.Combine(dir, "stages", $"{n}-chunk.json")));
                    break;
                case MonteCarloAnnotatorTransformer annotator:
                    entry["kind"] = "AnnotateMonteCarlo";
                    entry["policy"] = Policy(annotator.Policy, where, policies, writes);
                    entry["verifier"] = Verifier(annotator.Verifier, where);
                    entry["prompt"] = Prompt(annotator.Options.Prompt, annotator.Policy, where);
                    entry["options"] = JsonSerializer.SerializeToNode(annotator.Options, OptionsJson);
                    break;
                case StepwiseJudgeTransformer judge:
                    if (judge.Model is null) throw new NotSupportedException($"{where}: the judge runs on a remote generator; only a judge with a local model is saved with the pipeline");
                    entry["kind"] = "StepwiseJudge";
                    entry["folder"] = $"stages/{n}-judge";
                    entry["dtype"] = judge.Model.Model.DType.ToString();
                    writes.Add(dir => judge.Save(Path.Combine(dir, "stages", $"{n}-judge")));
                    break;
                case DiscriminativeJudgeTransformer judge:
                    entry["kind"] = "DiscriminativeJudge";
                    entry["folder"] = $"stages/{n}-judge";
                    entry["dtype"] = judge.Model.Model.DType.ToString();
                    writes.Add(dir => judge.Save(Path.Combine(dir, "stages", $"{n}-judge")));
                    break;
                case ChunkResetSearchTransformer search:
                    entry["kind"] = "ChunkResetSearch";
                    entry["policy"] = Policy(search.Policy, where, policies, writes);
                    entry["judge"] = Judge(search.Judge, judges, n, where);
                    entry["options"] = JsonSerializer.SerializeToNode(search.Options, OptionsJson);
                    break;
                case JudgeDataSelectionTransformer selection:
                    entry["kind"] = "SelectByJudge";
                    entry["policy"] = Policy(selection.Policy, where, policies, writes);
                    entry["judge"] = Judge(selection.Judge, judges, n, where);
                    entry["verifier"] = Verifier(selection.Verifier, where);
                    entry["options"] = JsonSerializer.SerializeToNode(selection.Options, OptionsJson);
                    break;
                default:
                    if (stage.GetType().Namespace?.StartsWith("StepWiser.", StringComparison.Ordinal) == true)
                        throw new NotSupportedException($"{where}: this StepWiser stage has no pipeline format yet");
                    if (stage is not ICanSaveModel)
                        throw new NotSupportedException($"{where}: ML.NET cannot save this transformer (it is not ICanSaveModel)");
                    entry["kind"] = "ML.NET";
                    entry["file"] = $"stages/{n}-mlnet.zip";
                    writes.Add(dir => mlContext.Model.Save(stage, null, Path.Combine(dir, "stages", $"{n}-mlnet.zip")));
                    break;
            }
            entries.Add(entry);
        }
        var manifest = new JsonObject
        {
            ["format"] = Format,
            ["version"] = 1,
            ["models"] = new JsonArray(policies.Values.Select(p => (JsonNode)p.Entry).ToArray()),
            ["stages"] = entries,
        };
        AtomicFolder.Write(full, dir =>
        {
            Directory.CreateDirectory(Path.Combine(dir, "stages"));
            Directory.CreateDirectory(Path.Combine(dir, "models"));
            foreach (var write in writes) write(dir);
            File.WriteAllText(Path.Combine(dir, Manifest), manifest.ToJsonString(OptionsJson));
        });
    }

    /// <summary>A folder this class wrote: its manifest names the format and nothing else lies beside models/ and stages/.</summary>
    private static bool HoldsSavedPipeline(string folder)
    {
        var names = Directory.EnumerateFileSystemEntries(folder).Select(Path.GetFileName).ToHashSet(StringComparer.Ordinal);
        if (!names.Contains(Manifest) || names.Except([Manifest, "models", "stages"], StringComparer.Ordinal).Any()) return false;
        try { return JsonNode.Parse(File.ReadAllText(Path.Combine(folder, Manifest))) is JsonObject o && o["format"] is JsonValue v && v.TryGetValue<string>(out var f) && f == Format; }
        catch (JsonException) { return false; }
    }

    public static StepWiserPipeline Load(MLContext mlContext, string folder, Device? device, CancellationToken token)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        var full = Path.GetFullPath(folder);
        var path = Path.Combine(full, Manifest);
        if (!File.Exists(path)) throw new FileNotFoundException($"{full}: no {Manifest}; not a pipeline saved by mlContext.StepWiser().Save", path);
        JsonObject manifest;
        try { manifest = JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new InvalidDataException($"{path}: not a JSON object"); }
        catch (JsonException e) { throw new InvalidDataException($"{path}: not JSON ({e.Message})", e); }
        if (!(manifest["format"] is JsonValue f && f.TryGetValue<string>(out var format) && format == Format)) throw new InvalidDataException($"{path}: \"format\" is not \"{Format}\"");
        if (!(manifest["version"] is JsonValue v && v.TryGetValue<int>(out var version) && version == 1)) throw new InvalidDataException($"{path}: version {manifest["version"]} is not one this library reads (1)");
        var owned = new List<IDisposable>();
        var stages = new List<ITransformer>();
        try
        {
            var policies = new Dictionary<string, (ModelBundle? Bundle, ITextGenerator Engine)>(StringComparer.Ordinal);
            foreach (var m in Array(manifest, "models", path))
            {
                var id = Text(m, "id", path);
                switch (Text(m, "kind", path))
                {
                    case "local":
                        var bundle = ModelBundle.Load(Path.Combine(full, Text(m, "folder", path)), device, DType(m, path));
                        owned.Add(bundle);
                        policies[id] = (bundle, new LocalTextGenerator(bundle, Options<LocalGeneratorOptions>(m, path)));
                        break;
                    case "openai":
                        var client = new OpenAICompatibleTextGenerator(Options<OpenAICompatibleOptions>(m, path));
                        owned.Add(client);
                        policies[id] = (null, client);
                        break;
                    case var kind:
                        throw new InvalidDataException($"{path}: model \"{id}\" has kind \"{kind}\", not \"local\" or \"openai\"");
                }
            }
            var index = 0;
            foreach (var s in Array(manifest, "stages", path))
            {
                var where = $"{path}: stage {index}";
                (ModelBundle? Bundle, ITextGenerator Engine) PolicyOf() => policies.TryGetValue(Text(s, "policy", where), out var p) ? p : throw new InvalidDataException($"{where}: \"policy\" names no model of \"models\"");
                IStepJudge JudgeOf()
                {
                    var j = s["judge"] ?? throw new InvalidDataException($"{where}: \"judge\" is missing");
                    if (j is JsonValue v && (string?)v == "accept-every-chunk") return ChunkResetSearch.AcceptEveryChunk;
                    var at = (int?)j["stage"] ?? throw new InvalidDataException($"{where}: \"judge\" is neither \"accept-every-chunk\" nor {{\"stage\": n}}");
                    return at >= 0 && at < stages.Count && JudgeOfStage(stages[at]) is { } judge ? judge
                        : throw new InvalidDataException($"{where}: \"judge\" points at stage {at}, which is not an earlier judge");
                }
                ITransformer stage = Text(s, "kind", where) switch
                {
                    "ChunkSteps" => StepChunkerTransformer.Load(Path.Combine(full, Text(s, "file", where))),
                    "AnnotateMonteCarlo" => Annotator(s, PolicyOf(), where),
                    "StepwiseJudge" => StepwiseJudgeTransformer.Load(Path.Combine(full, Text(s, "folder", where)), device, dtype: DType(s, where)),
                    "DiscriminativeJudge" => DiscriminativeJudgeTransformer.Load(Path.Combine(full, Text(s, "folder", where)), device, dtype: DType(s, where)),
                    "ChunkResetSearch" => new ChunkResetSearchTransformer(PolicyOf().Engine, JudgeOf(), Options<ChunkResetOptions>(s, where)),
                    "SelectByJudge" => new JudgeDataSelectionTransformer(PolicyOf().Engine, JudgeOf(), VerifierOf(s, where), Options<JudgeDataSelectionOptions>(s, where)),
                    "ML.NET" => mlContext.Model.Load(Path.Combine(full, Text(s, "file", where)), out _),
                    var kind => throw new InvalidDataException($"{where}: unknown stage kind \"{kind}\""),
                };
                if (stage is ICancellableStage cancellable) cancellable.Cancellation = new(mlContext, token);
                stages.Add(stage);
                index++;
            }
            return new StepWiserPipeline(new TransformerChain<ITransformer>(stages.ToArray()), owned);
        }
        catch (Exception e)
        {
            foreach (var stage in stages) (stage as IDisposable)?.Dispose();
            foreach (var model in owned) model.Dispose();
            // A field of the wrong type or an option out of range is a bad manifest: one line naming the file.
            if (e is InvalidOperationException or FormatException or ArgumentException && e is not ObjectDisposedException)
                throw new InvalidDataException($"{path}: {e.Message}", e);
            throw;
        }
    }

    private static MonteCarloAnnotatorTransformer Annotator(JsonNode s, (ModelBundle? Bundle, ITextGenerator Engine) policy, string where)
    {
        var options = Options<MonteCarloOptions>(s, where);
        var prompt = s["prompt"] as JsonObject ?? throw new InvalidDataException($"{where}: \"prompt\" is missing");
        options.Prompt = Text(prompt, "prompt_format", where) switch
        {
            PolicyPrompt.RawFormat => PolicyPrompt.Raw,
            PolicyPrompt.ChatFormat => PolicyPrompt.Chat(ChatTemplateOf(policy.Bundle, Text(prompt, "chat_template", where), where),
                Text(prompt, "policy_instruction", where), Text(prompt, "policy_instruction_role", where) == ChatTurn.SystemRole),
            var other => throw new InvalidDataException($"{where}: prompt format \"{other}\" is not raw or chat"),
        };
        options.Validate();
        return new MonteCarloAnnotatorTransformer(policy.Engine, VerifierOf(s, where), options);
    }

    /// <summary>The judge a judge stage runs; null for any other stage.</summary>
    private static IStepJudge? JudgeOfStage(ITransformer stage) => stage switch
    {
        StepwiseJudgeTransformer g => g.Judge,
        DiscriminativeJudgeTransformer d => d.Judge,
        _ => null,
    };

    /// <summary>The stages in order, chains inside chains (an EstimatorChain appended to another) flattened.</summary>
    /// <summary>The policy folder's chat template, when it is the one the prompt was saved with.</summary>
    private static ChatTemplate ChatTemplateOf(ModelBundle? bundle, string flavor, string where)
    {
        var template = bundle?.ChatTemplate ?? throw new InvalidDataException($"{where}: a chat prompt, but the policy's folder has no chat template");
        return template.Flavor.ToString() == flavor ? template
            : throw new InvalidDataException($"{where}: the prompt was saved with a {flavor} chat template, but the policy's folder has a {template.Flavor} one");
    }

    private static IReadOnlyList<ITransformer> Stages(ITransformer model) => model switch
    {
        StepWiserPipeline loaded => loaded.Chain.SelectMany(Stages).ToArray(),
        IEnumerable<ITransformer> chain => chain.SelectMany(Stages).ToArray(),
        _ => [model],
    };

    private static string Policy(ITextGenerator policy, string where, Dictionary<ITextGenerator, (string Id, JsonObject Entry)> policies, List<Action<string>> writes)
    {
        if (policies.TryGetValue(policy, out var known)) return known.Id;
        var id = $"model-{policies.Count}";
        switch (policy)
        {
            case LocalTextGenerator local:
                var bundle = local.Bundle ?? throw new NotSupportedException($"{where}: its policy is a LocalTextGenerator made from a model and a tokenizer; make it from a ModelBundle (new LocalTextGenerator(bundle)) so the pipeline can save it");
                policies[policy] = (id, new JsonObject { ["id"] = id, ["kind"] = "local", ["folder"] = $"models/{id}", ["dtype"] = bundle.Model.DType.ToString(), ["options"] = JsonSerializer.SerializeToNode(local.Options, OptionsJson) });
                writes.Add(dir => bundle.Save(Path.Combine(dir, "models", id)));
                return id;
            case OpenAICompatibleTextGenerator remote:
                // The server's address and the client's limits; never the key (a loaded pipeline reads it from the
                // environment, STEPWISER_OPENAI_API_KEY, as a new client does).
                var options = JsonSerializer.SerializeToNode(remote.Options, OptionsJson)!.AsObject();
                options.Remove(nameof(OpenAICompatibleOptions.ApiKey));
                policies[policy] = (id, new JsonObject { ["id"] = id, ["kind"] = "openai", ["options"] = options });
                return id;
            default:
                throw new NotSupportedException($"{where}: its policy is a {policy.GetType().Name}; a saved pipeline holds a LocalTextGenerator made from a ModelBundle or an OpenAICompatibleTextGenerator");
        }
    }

    private static JsonNode Judge(IStepJudge judge, Dictionary<IStepJudge, int> judges, int stage, string where) =>
        ReferenceEquals(judge, ChunkResetSearch.AcceptEveryChunk) ? JsonValue.Create("accept-every-chunk")
        : judges.TryGetValue(judge, out var at) && at < stage ? new JsonObject { ["stage"] = at }
        : judges.ContainsKey(judge) ? throw new NotSupportedException($"{where}: its judge is a later stage of this pipeline; a judge stage must come before the stages that use it")
        : throw new NotSupportedException($"{where}: its judge is not a judge stage of this pipeline; put the judge's transformer in the chain before it (or save the judge on its own)");

    private static JsonNode Verifier(IAnswerVerifier verifier, string where) => verifier is MathAnswerVerifier math
        ? new JsonObject { ["kind"] = "math", ["options"] = JsonSerializer.SerializeToNode(math.Options, OptionsJson) }
        : throw new NotSupportedException($"{where}: its verifier is a {verifier.GetType().Name}; a saved pipeline holds MathAnswerVerifier only");

    private static IAnswerVerifier VerifierOf(JsonNode s, string where)
    {
        var v = s["verifier"] ?? throw new InvalidDataException($"{where}: \"verifier\" is missing");
        if (Text(v, "kind", where) != "math") throw new InvalidDataException($"{where}: verifier kind \"{v["kind"]}\" is not \"math\"");
        return new MathAnswerVerifier(Options<MathAnswerVerifierOptions>(v, where));
    }

    private static JsonNode Prompt(PolicyPrompt prompt, ITextGenerator policy, string where)
    {
        if (prompt.Format == PolicyPrompt.ChatFormat && (policy as LocalTextGenerator)?.Bundle?.ChatTemplate is null)
            throw new NotSupportedException($"{where}: a chat prompt is saved with the policy's own chat template, and this policy's bundle has none");
        if (prompt.Format is not (PolicyPrompt.RawFormat or PolicyPrompt.ChatFormat))
            throw new NotSupportedException($"{where}: a custom policy prompt (\"{prompt.Format}\") is code, not data; a saved pipeline holds raw and chat prompts");
        return new JsonObject(prompt.Metadata.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)JsonValue.Create(kv.Value))));
    }

    private static T Options<T>(JsonNode node, string where)
    {
        var o = node["options"] ?? throw new InvalidDataException($"{where}: \"options\" is missing");
        try { return o.Deserialize<T>(OptionsJson) ?? throw new InvalidDataException($"{where}: \"options\" is null"); }
        catch (JsonException e) { throw new InvalidDataException($"{where}: \"options\" are not {typeof(T).Name} ({e.Message})", e); }
    }

    /// <summary>The weights' type a model or judge was saved in (float32 when the entry does not say).</summary>
    private static ScalarType DType(JsonNode node, string where) =>
        node["dtype"] is null ? ScalarType.Float32
        : Enum.TryParse<ScalarType>(Text(node, "dtype", where), out var t) && t is ScalarType.Float32 or ScalarType.BFloat16 or ScalarType.Float16 ? t
        : throw new InvalidDataException($"{where}: \"dtype\" {node["dtype"]} is not Float32, BFloat16 or Float16");

    private static string Text(JsonNode node, string key, string where) =>
        node[key] is JsonValue v && v.TryGetValue<string>(out var s) ? s : throw new InvalidDataException($"{where}: \"{key}\" is missing or not a string");

    private static IEnumerable<JsonNode> Array(JsonObject manifest, string key, string where) =>
        manifest[key] is JsonArray a ? a.Select(n => n ?? throw new InvalidDataException($"{where}: a null entry in \"{key}\"")) : throw new InvalidDataException($"{where}: \"{key}\" is missing or not an array");
}
