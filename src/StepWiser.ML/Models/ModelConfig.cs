using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace StepWiser.ML.Models;

/// <summary>
/// Configuration of a Qwen2, Qwen3 or Llama decoder, read from and written to a Hugging Face
/// <c>config.json</c>. Property names follow the Hugging Face keys exactly.
/// </summary>
public sealed record ModelConfig
{
    /// <summary>Hugging Face architecture names, e.g. <c>Qwen2ForCausalLM</c>, <c>Qwen3ForCausalLM</c> or <c>LlamaForCausalLM</c>.</summary>
    [JsonPropertyName("architectures")] public IReadOnlyList<string> Architectures { get; init; } = ["Qwen2ForCausalLM"];

    /// <summary><c>qwen2</c>, <c>qwen3</c> or <c>llama</c>.</summary>
    [JsonPropertyName("model_type")] public string ModelType { get; init; } = "qwen2";

    /// <summary>Number of token embeddings (rows of <c>embed_tokens</c> and <c>lm_head</c>).</summary>
    [JsonPropertyName("vocab_size")] public int VocabSize { get; init; }

    /// <summary>Width of the residual stream.</summary>
    [JsonPropertyName("hidden_size")] public int HiddenSize { get; init; }

    /// <summary>Width of the SwiGLU hidden layer.</summary>
    [JsonPropertyName("intermediate_size")] public int IntermediateSize { get; init; }

    /// <summary>Number of decoder layers.</summary>
    [JsonPropertyName("num_hidden_layers")] public int NumHiddenLayers { get; init; }

    /// <summary>Number of query heads.</summary>
    [JsonPropertyName("num_attention_heads")] public int NumAttentionHeads { get; init; }

    /// <summary>Number of key/value heads (grouped-query attention); defaults to the query head count.</summary>
    [JsonPropertyName("num_key_value_heads")] public int? NumKeyValueHeads { get; init; }

    /// <summary>Per-head width; defaults to <c>hidden_size / num_attention_heads</c>.</summary>
    [JsonPropertyName("head_dim")] public int? HeadDimOverride { get; init; }

    /// <summary>Activation of the MLP; only <c>silu</c> is supported.</summary>
    [JsonPropertyName("hidden_act")] public string HiddenAct { get; init; } = "silu";

    /// <summary>Longest sequence the model is meant for.</summary>
    [JsonPropertyName("max_position_embeddings")] public int MaxPositionEmbeddings { get; init; } = 2048;

    /// <summary>Epsilon of RMSNorm.</summary>
    [JsonPropertyName("rms_norm_eps")] public double RmsNormEps { get; init; } = 1e-6;

    /// <summary>Base of the rotary position embedding.</summary>
    [JsonPropertyName("rope_theta")] public double RopeTheta { get; init; } = 10000.0;

    /// <summary>Whether <c>lm_head</c> shares the token embedding matrix.</summary>
    [JsonPropertyName("tie_word_embeddings")] public bool TieWordEmbeddings { get; init; }

    /// <summary>Llama's and Qwen3's switch for q/k/v/o biases. Qwen2 always has q/k/v biases and no o bias.</summary>
    [JsonPropertyName("attention_bias")] public bool? AttentionBias { get; init; }

    /// <summary>Llama's switch for MLP biases; only <c>false</c> is supported.</summary>
    [JsonPropertyName("mlp_bias")] public bool? MlpBias { get; init; }

    /// <summary>Data type the weights were saved in (<c>float32</c>, <c>bfloat16</c>, <c>float16</c>).</summary>
    [JsonPropertyName("torch_dtype")] public string? TorchDtype { get; init; } = "float32";

    /// <summary>Beginning-of-sequence token id, if any.</summary>
    [JsonPropertyName("bos_token_id")] public int? BosTokenId { get; init; }

    /// <summary>End-of-sequence token id(s): a number or an array in Hugging Face files.</summary>
    [JsonPropertyName("eos_token_id")] public JsonElement? EosTokenIdRaw { get; init; }

    /// <summary>
    /// RoPE scaling: null (none), or Llama 3.1/3.2's <c>{"rope_type": "llama3", "factor", "low_freq_factor",
    /// "high_freq_factor", "original_max_position_embeddings"}</c>; other scalings are refused.
    /// </summary>
    [JsonPropertyName("rope_scaling")] public JsonElement? RopeScaling { get; init; }

    /// <summary>Every other key of the file, kept so that a load/save round trip loses nothing.</summary>
    [JsonExtensionData] public Dictionary<string, JsonElement>? Extra { get; init; }

    /// <summary>Key/value head count with the default applied.</summary>
    [JsonIgnore] public int KeyValueHeads => NumKeyValueHeads ?? NumAttentionHeads;

    /// <summary>Per-head width with the default applied.</summary>
    [JsonIgnore] public int HeadDim => HeadDimOverride ?? HiddenSize / NumAttentionHeads;

    /// <summary>Whether q/k/v projections carry a bias (always for Qwen2; per <c>attention_bias</c> for Llama and Qwen3).</summary>
    [JsonIgnore] public bool QkvBias => AttentionBias ?? ModelType == Qwen2;

    /// <summary>Whether o_proj carries a bias (Llama and Qwen3 with <c>attention_bias</c> only).</summary>
    [JsonIgnore] public bool OutputBias => ModelType is Llama or Qwen3 && AttentionBias == true;

    /// <summary>
    /// Whether each query and key head is RMS-normed (<c>self_attn.q_norm</c>, <c>self_attn.k_norm</c>, width
    /// <see cref="HeadDim"/>) before the rotary embedding: Qwen3.
    /// </summary>
    [JsonIgnore] public bool QueryKeyNorm => ModelType == Qwen3;

    /// <summary>The Llama 3 rope scaling of <see cref="RopeScaling"/>, or null for plain rotary embeddings.</summary>
    [JsonIgnore] internal Llama3RopeScaling? Llama3Scaling => Llama3RopeScaling.Parse(RopeScaling, "config");

    private const string Qwen2 = "qwen2", Qwen3 = "qwen3", Llama = "llama";

    /// <summary>The end-of-sequence ids as a list (empty when none is configured).</summary>
    [JsonIgnore]
    public IReadOnlyList<int> EosTokenIds => EosTokenIdRaw switch
    {
        { ValueKind: JsonValueKind.Number } e => [e.GetInt32()],
        { ValueKind: JsonValueKind.Array } a => a.EnumerateArray().Select(x => x.GetInt32()).ToArray(),
        _ => [],
    };

    /// <summary>Returns a copy with the given end-of-sequence id.</summary>
    public ModelConfig WithEos(int eosTokenId) => this with { EosTokenIdRaw = JsonSerializer.SerializeToElement(eosTokenId) };

    private static readonly JsonSerializerOptions WriteOptions = new() { WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    /// <summary>Reads and validates a Hugging Face <c>config.json</c>.</summary>
    /// <exception cref="InvalidDataException">The file is not valid JSON or describes an unsupported model.</exception>
    public static ModelConfig Load(string path)
    {
        ModelConfig? config;
        try
        {
            config = JsonSerializer.Deserialize<ModelConfig>(File.ReadAllText(path));
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: not a valid config.json ({e.Message})", e);
        }
        if (config is null) throw new InvalidDataException($"{path}: empty config.json");
        config.Validate(path);
        return config;
    }

    /// <summary>Writes this configuration as a Hugging Face <c>config.json</c> (atomically: a crash leaves the old file or the new one).</summary>
    public void Save(string path) => Data.AtomicFile.WriteText(path, writer => writer.Write(JsonSerializer.Serialize(this, WriteOptions)));

    /// <summary>Throws <see cref="InvalidDataException"/> naming <paramref name="source"/> and the field when the configuration cannot be run.</summary>
    public void Validate(string source = "config")
    {
        void Require(bool ok, string what)
        {
            if (!ok) throw new InvalidDataException($"{source}: {what}");
        }
        Require(ModelType is Qwen2 or Qwen3 or Llama, $"model_type '{ModelType}' is not supported (expected '{Qwen2}', '{Qwen3}' or '{Llama}')");
        Require(VocabSize > 0, "vocab_size must be positive");
        Require(HiddenSize > 0, "hidden_size must be positive");
        Require(IntermediateSize > 0, "intermediate_size must be positive");
        Require(NumHiddenLayers > 0, "num_hidden_layers must be positive");
        Require(NumAttentionHeads > 0, "num_attention_heads must be positive");
        Require(KeyValueHeads > 0 && NumAttentionHeads % KeyValueHeads == 0, $"num_attention_heads ({NumAttentionHeads}) must be a multiple of num_key_value_heads ({KeyValueHeads})");
        Require(HeadDimOverride is null or > 0, $"head_dim must be positive (got {HeadDimOverride})");
        Require(HeadDimOverride is not null || HiddenSize % NumAttentionHeads == 0, "hidden_size must be a multiple of num_attention_heads");
        Require(HeadDim % 2 == 0, $"head_dim ({HeadDim}) must be even for rotary embeddings");
        Require(MaxPositionEmbeddings > 0, $"max_position_embeddings must be positive (got {MaxPositionEmbeddings})");
        Require(double.IsFinite(RopeTheta) && RopeTheta > 0, string.Create(CultureInfo.InvariantCulture, $"rope_theta must be a positive number (got {RopeTheta}); rotary angles would be NaN or infinite"));
        Require(double.IsFinite(RmsNormEps) && RmsNormEps > 0, string.Create(CultureInfo.InvariantCulture, $"rms_norm_eps must be a positive number (got {RmsNormEps}); a zero-variance row would divide by zero"));
        Require(HiddenAct == "silu", $"hidden_act '{HiddenAct}' is not supported (expected 'silu')");
        Require(MlpBias != true, "mlp_bias = true is not supported");
        Llama3RopeScaling.Parse(RopeScaling, source);
        Require(!(Extra?.TryGetValue("use_sliding_window", out var sliding) == true && sliding.ValueKind == JsonValueKind.True),
            "use_sliding_window = true is not supported (sliding-window attention)");
    }
}
