using System.Text.Json;
using System.Text.Json.Nodes;
using static TorchSharp.torch;

namespace StepWiser.ML.Models;

/// <summary>
/// Loads and saves a <see cref="CausalLM"/> in Hugging Face layout: <c>config.json</c>, <c>model.safetensors</c>
/// (or shards with <c>model.safetensors.index.json</c>) and <c>generation_config.json</c>.
/// </summary>
public static class HuggingFaceCheckpoint
{
    /// <summary>Name of the single-file weights.</summary>
    public const string WeightsFile = "model.safetensors";

    /// <summary>Name of the shard index.</summary>
    public const string IndexFile = "model.safetensors.index.json";

    /// <summary>Default largest shard written by <see cref="Save"/> (as Hugging Face's default of 5 GB).</summary>
    public const long DefaultMaxShardBytes = 5_000_000_000;

    /// <summary>
    /// Loads the checkpoint in <paramref name="directory"/> onto <paramref name="device"/> (CPU by default) in
    /// <paramref name="dtype"/> (float32 by default; bfloat16 or float16 to halve the memory; weights saved in another
    /// type are converted). The model is allocated on the device in that type and filled one tensor at a time, so loading
    /// needs the model's memory there plus one tensor's on the CPU, not a float32 copy of the whole model first.
    /// </summary>
    /// <exception cref="InvalidDataException">A file is malformed, a config value is impossible, a tensor is missing, unexpected, has the wrong shape or holds a NaN or an infinity.</exception>
    public static CausalLM Load(string directory, Device? device = null, ScalarType dtype = ScalarType.Float32)
    {
        if (!Directory.Exists(directory)) throw new DirectoryNotFoundException($"Checkpoint directory not found: {directory}");
        string configPath = Path.Combine(directory, "config.json");
        if (!File.Exists(configPath)) throw new FileNotFoundException($"{directory}: no config.json.", configPath);
        var config = ModelConfig.Load(configPath);
        var eos = ReadGenerationEos(directory);
        if (eos is not null && config.EosTokenIds.Count == 0) config = config with { EosTokenIdRaw = eos };
        var weights = OpenWeights(directory);   // every header read once, before anything is allocated
        CheckConfigAgainstWeights(config, directory, weights);
        var model = new CausalLM(config, device ?? CPU, dtype);
        try { LoadWeights(model, directory, weights); }
        catch { model.Dispose(); throw; }
        return model;
    }

    /// <summary>
    /// The configuration of the checkpoint in <paramref name="directory"/>, checked against the safetensors headers as
    /// <see cref="Load"/> checks it, without allocating the model: only config.json and the headers are read (for a
    /// memory plan before loading).
    /// </summary>
    /// <exception cref="InvalidDataException">config.json is malformed or does not belong to the weights.</exception>
    public static ModelConfig LoadConfig(string directory)
    {
        if (!Directory.Exists(directory)) throw new DirectoryNotFoundException($"Checkpoint directory not found: {directory}");
        string configPath = Path.Combine(directory, "config.json");
        if (!File.Exists(configPath)) throw new FileNotFoundException($"{directory}: no config.json.", configPath);
        var config = ModelConfig.Load(configPath);
        CheckConfigAgainstWeights(config, directory, OpenWeights(directory));
        return config;
    }

    /// <summary>
    /// Before anything is allocated: the shapes config.json implies for the embedding, the first layer's projections and
    /// the layer count must be what the safetensors headers hold, so a wrong or hostile config (hidden_size 10^9) is an
    /// error naming the field, not an attempt to allocate a terabyte. Only the headers are read.
    /// </summary>
    private static void CheckConfigAgainstWeights(ModelConfig config, string directory, Weights weights)
    {
        var (map, headers) = weights;
        long[]? Shape(string name) => map.TryGetValue(name, out var file) && headers[file].Entries.TryGetValue(name, out var e) ? e.Shape.ToArray() : null;
        void Expect(string name, string fields, params long[] expected)
        {
            var actual = Shape(name) ?? throw new InvalidDataException($"{directory}: missing tensor '{name}'.");
            if (!actual.SequenceEqual(expected))
                throw new InvalidDataException($"{directory}: config.json ({fields}) implies '{name}' of shape [{string.Join(", ", expected)}], but the weights hold [{string.Join(", ", actual)}]; the config does not belong to these weights.");
        }
        Expect("model.embed_tokens.weight", "vocab_size, hidden_size", config.VocabSize, config.HiddenSize);
        Expect("model.layers.0.self_attn.q_proj.weight", "num_attention_heads × head_dim, hidden_size", (long)config.NumAttentionHeads * config.HeadDim, config.HiddenSize);
        Expect("model.layers.0.self_attn.k_proj.weight", "num_key_value_heads × head_dim, hidden_size", (long)config.KeyValueHeads * config.HeadDim, config.HiddenSize);
        Expect("model.layers.0.mlp.up_proj.weight", "intermediate_size, hidden_size", config.IntermediateSize, config.HiddenSize);
        if (config.QueryKeyNorm) Expect("model.layers.0.self_attn.q_norm.weight", "model_type qwen3: head_dim", config.HeadDim);
        static int LayerCount(string name)
        {
            if (!name.StartsWith("model.layers.", StringComparison.Ordinal)) return 0;
            var rest = name["model.layers.".Length..];
            var dot = rest.IndexOf('.');
            return int.TryParse(dot < 0 ? rest : rest[..dot], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var i) && i < int.MaxValue ? i + 1 : 0;
        }
        var layers = map.Keys.Select(LayerCount).DefaultIfEmpty(0).Max();
        if (layers != config.NumHiddenLayers)
            throw new InvalidDataException($"{directory}: config.json says num_hidden_layers = {config.NumHiddenLayers}, but the weights hold {layers} layers.");
    }

    private static JsonElement? ReadGenerationEos(string directory)
    {
        string path = Path.Combine(directory, "generation_config.json");
        if (!File.Exists(path)) return null;
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(path));
            return doc.RootElement.TryGetProperty("eos_token_id", out var e) ? e.Clone() : null;
        }
        catch (JsonException e) { throw new InvalidDataException($"{path}: not valid JSON ({e.Message}).", e); }
    }

    /// <summary>Maps each tensor name to the safetensors file that holds it (single file or index).</summary>
    public static IReadOnlyDictionary<string, string> WeightMap(string directory)
    {
        string index = Path.Combine(directory, IndexFile);
        string single = Path.Combine(directory, WeightsFile);
        if (File.Exists(index))
        {
            JsonNode? root;
            try { root = JsonNode.Parse(File.ReadAllText(index)); }
            catch (JsonException e) { throw new InvalidDataException($"{index}: not valid JSON ({e.Message}).", e); }
            if (root?["weight_map"] is not JsonObject map) throw new InvalidDataException($"{index}: missing 'weight_map' object.");
            string root_ = Path.GetFullPath(directory) + Path.DirectorySeparatorChar;
            var result = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var (name, file) in map)
            {
                string relative = file?.GetValue<string>() ?? throw new InvalidDataException($"{index}: tensor '{name}' has no file.");
                string full = Path.GetFullPath(Path.Combine(directory, relative));
                if (!full.StartsWith(root_, StringComparison.Ordinal) || Path.IsPathRooted(relative))
                    throw new InvalidDataException($"{index}: tensor '{name}' points outside the checkpoint directory ('{relative}').");
                result[name] = full;
            }
            return result;
        }
        if (File.Exists(single)) return SafeTensorsFile.Open(single).Entries.Keys.ToDictionary(k => k, _ => single, StringComparer.Ordinal);
        throw new FileNotFoundException($"{directory}: neither {WeightsFile} nor {IndexFile} found (pickle checkpoints are never read).");
    }

    /// <summary>Each tensor's file, and each file's parsed header.</summary>
    private sealed record Weights(IReadOnlyDictionary<string, string> Map, IReadOnlyDictionary<string, SafeTensorsFile> Files);

    private static Weights OpenWeights(string directory)
    {
        var map = WeightMap(directory);
        return new Weights(map, map.Values.Distinct().ToDictionary(f => f, SafeTensorsFile.Open));
    }

    /// <summary>Copies the weights of the checkpoint in <paramref name="directory"/> into <paramref name="model"/>, checking names and shapes.</summary>
    public static void LoadWeights(CausalLM model, string directory) => LoadWeights(model, directory, OpenWeights(directory));

    private static void LoadWeights(CausalLM model, string directory, Weights weights)
    {
        var weightMap = weights.Map;
        var parameters = model.named_parameters().ToDictionary(p => p.name, p => p.parameter, StringComparer.Ordinal);
        foreach (var name in weightMap.Keys)
        {
            if (parameters.ContainsKey(name) || IsIgnorable(name, model.Config)) continue;
            throw new InvalidDataException($"{weightMap[name]}: unexpected tensor '{name}' (not a parameter of a {model.Config.ModelType} model with this config).");
        }
        var missing = parameters.Keys.Where(n => !weightMap.ContainsKey(n)).ToList();
        if (missing.Count > 0)
            throw new InvalidDataException($"{directory}: missing tensor(s) {string.Join(", ", missing.Take(5).Select(m => $"'{m}'"))}{(missing.Count > 5 ? $" and {missing.Count - 5} more" : "")}.");

        using var noGrad = no_grad();
        foreach (var group in parameters.GroupBy(p => weightMap[p.Key]))
        {
            var file = weights.Files[group.Key];
            foreach (var (name, parameter) in group)
            {
                if (!file.Entries.TryGetValue(name, out var entry))
                    throw new InvalidDataException($"{group.Key}: tensor '{name}' listed in the index is not in the file.");
                if (!entry.Shape.SequenceEqual(parameter.shape))
                    throw new InvalidDataException($"{group.Key}: tensor '{name}' has shape [{string.Join(", ", entry.Shape)}], expected [{string.Join(", ", parameter.shape)}].");
                using var value = file.Read(name, parameter.dtype);
                RequireFinite(value, group.Key, name);
                parameter.copy_(value);
            }
        }
    }

    /// <summary>A weight with a NaN or an infinity makes every output NaN: refused at load, naming the file and tensor.</summary>
    private static void RequireFinite(Tensor value, string file, string name)
    {
        using var scope = NewDisposeScope();
        var finite = isfinite(value);
        if (finite.all().item<bool>()) return;
        var nans = isnan(value).sum().item<long>();
        var infinities = value.NumberOfElements - finite.sum().item<long>() - nans;
        throw new InvalidDataException($"{file}: tensor '{name}' holds {nans:N0} NaN and {infinities:N0} infinite values of {value.NumberOfElements:N0}; the checkpoint is damaged (a model with them gives no usable output).");
    }

    private static bool IsIgnorable(string name, ModelConfig config) =>
        name.EndsWith(".rotary_emb.inv_freq", StringComparison.Ordinal) || (config.TieWordEmbeddings && name == "lm_head.weight");

    /// <summary>
    /// Saves <paramref name="model"/> to <paramref name="directory"/> in Hugging Face layout, in <paramref name="dtype"/>
    /// (the model's own by default), sharded with an index when larger than <paramref name="maxShardBytes"/>.
    /// </summary>
    public static void Save(CausalLM model, string directory, ScalarType? dtype = null, long maxShardBytes = DefaultMaxShardBytes)
    {
        Directory.CreateDirectory(directory);
        var target = dtype ?? model.DType;
        var tensors = model.named_parameters().Select(p => (p.name, p.parameter.detach().to(target))).ToList();
        try
        {
            var config = model.Config with { TorchDtype = DtypeName(target) };
            config.Save(Path.Combine(directory, "config.json"));
            WriteGenerationConfig(config, directory);
            var shards = new List<List<(string, Tensor)>> { new() };
            long size = 0;
            foreach (var t in tensors)
            {
                long bytes = t.Item2.NumberOfElements * t.Item2.ElementSize;
                if (size > 0 && size + bytes > maxShardBytes) { shards.Add(new()); size = 0; }
                shards[^1].Add(t);
                size += bytes;
            }
            var metadata = new Dictionary<string, string> { ["format"] = "pt" };
            if (shards.Count == 1)
            {
                SafeTensorsWriter.Write(Path.Combine(directory, WeightsFile), shards[0], metadata);
                File.Delete(Path.Combine(directory, IndexFile));
                return;
            }
            var weightMap = new JsonObject();
            for (int i = 0; i < shards.Count; i++)
            {
                string file = $"model-{i + 1:D5}-of-{shards.Count:D5}.safetensors";
                SafeTensorsWriter.Write(Path.Combine(directory, file), shards[i], metadata);
                foreach (var (name, _) in shards[i]) weightMap[name] = file;
            }
            long total = tensors.Sum(t => t.Item2.NumberOfElements * t.Item2.ElementSize);
            var index = new JsonObject { ["metadata"] = new JsonObject { ["total_size"] = total }, ["weight_map"] = weightMap };
            Data.AtomicFile.WriteText(Path.Combine(directory, IndexFile), w => w.Write(index.ToJsonString(new JsonSerializerOptions { WriteIndented = true })));
            File.Delete(Path.Combine(directory, WeightsFile));
        }
        finally
        {
            foreach (var (_, t) in tensors) t.Dispose();
        }
    }

    /// <summary>
    /// The identity of a checkpoint's content: SHA-256 over config.json, every *.safetensors file and the tokenizer
    /// files present (names and bytes, in name order), as "sha256:" and 32 hex digits. Two folders with the same model
    /// give the same value whatever their names; any change to weights, config or tokenizer changes it. Use it where
    /// results of one model must never be mistaken for another's (the rollout store's <c>PolicyName</c>).
    /// </summary>
    public static string Fingerprint(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        if (!Directory.Exists(directory)) throw new DirectoryNotFoundException($"{directory}: checkpoint folder does not exist");
        var names = new[] { "config.json" }.Concat(TokenizerFiles)
            .Where(n => File.Exists(Path.Combine(directory, n)))
            .Concat(Directory.GetFiles(directory, "*.safetensors").Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal))
            .ToArray();
        if (!names.Any(n => n.EndsWith(".safetensors", StringComparison.Ordinal)))
            throw new FileNotFoundException($"{directory}: no *.safetensors file to fingerprint");
        using var hash = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
        var buffer = new byte[1 << 20];
        foreach (var name in names)
        {
            hash.AppendData(System.Text.Encoding.UTF8.GetBytes(name + "\0"));
            using var stream = File.OpenRead(Path.Combine(directory, name));
            int read;
            while ((read = stream.Read(buffer, 0, buffer.Length)) > 0) hash.AppendData(buffer, 0, read);
        }
        return "sha256:" + Convert.ToHexString(hash.GetHashAndReset(), 0, 16).ToLowerInvariant();
    }

    /// <summary>The tokenizer files a Hugging Face checkpoint carries beside its weights.</summary>
    public static IReadOnlyList<string> TokenizerFiles { get; } =
        ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json", "vocab.json", "merges.txt"];

    /// <summary>
    /// Copies the tokenizer files (<see cref="TokenizerFiles"/>, those present) from one checkpoint folder to another,
    /// so a saved model can be served by vLLM. Throws when <paramref name="fromDirectory"/> has no tokenizer.json.
    /// </summary>
    public static void CopyTokenizerFiles(string fromDirectory, string toDirectory)
    {
        if (!File.Exists(Path.Combine(fromDirectory, "tokenizer.json")))
            throw new FileNotFoundException($"{Path.Combine(fromDirectory, "tokenizer.json")}: no tokenizer.json to copy", Path.Combine(fromDirectory, "tokenizer.json"));
        if (Path.GetFullPath(fromDirectory) == Path.GetFullPath(toDirectory)) return;
        Directory.CreateDirectory(toDirectory);
        foreach (var name in TokenizerFiles)
        {
            var source = Path.Combine(fromDirectory, name);
            if (File.Exists(source)) File.Copy(source, Path.Combine(toDirectory, name), overwrite: true);
        }
    }

    private static void WriteGenerationConfig(ModelConfig config, string directory)
    {
        var gen = new JsonObject();
        if (config.BosTokenId is { } bos) gen["bos_token_id"] = bos;
        if (config.EosTokenIdRaw is { } eos) gen["eos_token_id"] = JsonNode.Parse(eos.GetRawText());
        Data.AtomicFile.WriteText(Path.Combine(directory, "generation_config.json"), w => w.Write(gen.ToJsonString(new JsonSerializerOptions { WriteIndented = true })));
    }

    private static string DtypeName(ScalarType type) => type switch
    {
        ScalarType.BFloat16 => "bfloat16",
        ScalarType.Float16 => "float16",
        ScalarType.Float64 => "float64",
        _ => "float32",
    };
}
