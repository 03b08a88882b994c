using Microsoft.ML.Tokenizers;
using StepWiser.ML.Data;
using StepWiser.ML.Tokenization;
using static TorchSharp.torch;

namespace StepWiser.ML.Models;

/// <summary>
/// A model with what it needs to read and write text: the decoder, its tokenizer (and the <c>tokenizer.json</c> text it
/// was built from, which a saved judge carries), and the chat template of its <c>tokenizer_config.json</c> when it has
/// one. Every stage that trains or runs a model takes one. The bundle owns the model: <see cref="Dispose"/> frees it.
/// A saved bundle is a Hugging Face model folder that transformers and vLLM load as it is (<see cref="Save"/>).
/// </summary>
public sealed class ModelBundle : IDisposable
{
    private bool _disposed;

    /// <summary>
    /// Bundles <paramref name="model"/> with the tokenizer built from <paramref name="tokenizerJson"/> (the bundle takes
    /// ownership of the model). Throws <see cref="InvalidDataException"/> when the tokenizer has a token id the model
    /// has no embedding for.
    /// </summary>
    /// <param name="model">The decoder.</param>
    /// <param name="tokenizerJson">The <c>tokenizer.json</c> text.</param>
    /// <param name="chatTemplate">The chat template, or null for a model without one.</param>
    /// <param name="tokenizerConfigJson">The checkpoint's own <c>tokenizer_config.json</c> text, kept so a save writes it back; null for none.</param>
    public ModelBundle(CausalLM model, string tokenizerJson, ChatTemplate? chatTemplate = null, string? tokenizerConfigJson = null)
        : this(model, tokenizerJson, chatTemplate, tokenizerConfigJson, "tokenizer.json")
    {
    }

    private ModelBundle(CausalLM model, ModelBundle like)
    {
        Model = model;
        TokenizerJson = like.TokenizerJson;
        Tokenizer = like.Tokenizer;
        ChatTemplate = like.ChatTemplate;
        TokenizerConfigJson = like.TokenizerConfigJson;
    }

    private ModelBundle(CausalLM model, string tokenizerJson, ChatTemplate? chatTemplate, string? tokenizerConfigJson, string source)
    {
        Model = model ?? throw new ArgumentNullException(nameof(model));
        TokenizerJson = tokenizerJson ?? throw new ArgumentNullException(nameof(tokenizerJson));
        var tokenizer = HuggingFaceTokenizer.Load(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(tokenizerJson)), source);
        RequireVocabularyFits(tokenizer, model.Config, source);
        Tokenizer = tokenizer;
        ChatTemplate = chatTemplate;
        TokenizerConfigJson = tokenizerConfigJson;
    }

    /// <summary>The decoder.</summary>
    public CausalLM Model { get; }

    /// <summary>The tokenizer.</summary>
    public Tokenizer Tokenizer { get; }

    /// <summary>The <c>tokenizer.json</c> text the tokenizer was built from (saved beside the weights).</summary>
    public string TokenizerJson { get; }

    /// <summary>The chat template of the checkpoint's <c>tokenizer_config.json</c>, or null (the built-in world's models have none).</summary>
    public ChatTemplate? ChatTemplate { get; }

    /// <summary>The checkpoint's own <c>tokenizer_config.json</c> text, or null when it had none (the built-in world's models).</summary>
    public string? TokenizerConfigJson { get; }

    /// <summary>Where the weights live.</summary>
    public Device Device => Model.Device;

    /// <summary>A built-in world model (random or trained) with the built-in tokenizer.</summary>
    public static ModelBundle BuiltIn(CausalLM model) => new(model, BuiltInTokenizer.ToJson());

    /// <summary>
    /// Loads a checkpoint in Hugging Face layout: <c>config.json</c> + safetensors, <c>tokenizer.json</c> (required) and
    /// the chat template of <c>tokenizer_config.json</c> when there is one this library can render; the weights onto
    /// <paramref name="device"/> (the CPU by default) in <paramref name="dtype"/> (float32 by default, or bfloat16 or
    /// float16; see <see cref="HuggingFaceCheckpoint.Load"/>).
    /// </summary>
    public static ModelBundle Load(string directory, Device? device = null, ScalarType dtype = ScalarType.Float32)
    {
        ArgumentNullException.ThrowIfNull(directory);
        var tokenizerPath = Path.Combine(directory, "tokenizer.json");
        if (!File.Exists(tokenizerPath)) throw new FileNotFoundException($"{directory}: no tokenizer.json beside the weights", tokenizerPath);
        var tokenizerJson = File.ReadAllText(tokenizerPath);
        var chat = ChatTemplate.FromCheckpoint(directory);
        var configPath = Path.Combine(directory, TokenizerConfigFile.FileName);
        var tokenizerConfig = File.Exists(configPath) ? File.ReadAllText(configPath) : null;
        var model = HuggingFaceCheckpoint.Load(directory, device, dtype);
        try { return new ModelBundle(model, tokenizerJson, chat, tokenizerConfig, tokenizerPath); }
        catch { model.Dispose(); throw; }
    }

    /// <summary>
    /// Every id the tokenizer can produce (its vocabulary and added tokens) must index a row of the model's embedding;
    /// otherwise the first text holding such a token fails in the middle of sampling, or reads another token's row.
    /// </summary>
    private static void RequireVocabularyFits(BpeTokenizer tokenizer, ModelConfig config, string source)
    {
        var largest = tokenizer.Vocabulary.Values.Concat(tokenizer.SpecialTokens?.Values ?? []).DefaultIfEmpty(-1).Max();
        if (largest >= config.VocabSize)
            throw new InvalidDataException($"{source}: the tokenizer has token ids up to {largest}, but the model's config.json says vocab_size = {config.VocabSize}; the tokenizer does not belong to this model.");
    }

    /// <summary>
    /// Writes a Hugging Face model folder to <paramref name="directory"/>: <c>config.json</c>, <c>generation_config.json</c>,
    /// the safetensors weights in the model's own type (a bfloat16 model saves bfloat16; see
    /// <see cref="HuggingFaceCheckpoint.Save"/>), <c>tokenizer.json</c> and <c>tokenizer_config.json</c>: the checkpoint's
    /// own (every key kept) or one naming the fast tokenizer and its special tokens, with the chat template when the
    /// bundle has one.
    /// </summary>
    public void Save(string directory)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var tokenizerConfig = TokenizerConfigFile.Compose(TokenizerConfigJson, ChatTemplate, Model.Config, TokenizerJson);   // a bad one fails before anything is written
        HuggingFaceCheckpoint.Save(Model, directory);
        AtomicFile.WriteText(Path.Combine(directory, "tokenizer.json"), w => w.Write(TokenizerJson));
        AtomicFile.WriteText(Path.Combine(directory, TokenizerConfigFile.FileName), w => w.Write(tokenizerConfig));
    }

    /// <summary>
    /// A deep copy that owns its own weights: the model's weights copied, bit for bit and in the model's type, onto
    /// <paramref name="device"/> (the model's own by default), with the same tokenizer, chat template and tokenizer
    /// config. No random number is drawn. The judge trainers start from such a copy unless told to train in place.
    /// </summary>
    public ModelBundle Copy(Device? device = null)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return new ModelBundle(Model.Copy(device), this);
    }

    /// <summary>Frees the model (once; later calls do nothing).</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        Model.Dispose();
    }
}
