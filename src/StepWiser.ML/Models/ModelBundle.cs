using Microsoft.ML.Tokenizers;
using StepWiser.ML.Data;
using StepWiser.ML.Tokenization;
using static TorchSharp.torch;

namespace StepWiser.ML.Models;

/// <summary>
/// A model with what it needs to read and write text: the decoder, its tokenizer (and the <c>tokenizer.json</c> text it
/// was built from, which a saved judge carries), and the chat template of its <c>tokenizer_config.json</c> when it has
/// one. Every stage that trains or runs a model takes one. The bundle owns the model: <see cref="Dispose"/> frees it.
/// </summary>
public sealed class ModelBundle : IDisposable
{
    private bool _disposed;

    /// <summary>
    /// Bundles <paramref name="model"/> with the tokenizer built from <paramref name="tokenizerJson"/> (the bundle takes
    /// ownership of the model). Throws <see cref="InvalidDataException"/> when the tokenizer has a token id the model
    /// has no embedding for.
    /// </summary>
    public ModelBundle(CausalLM model, string tokenizerJson, ChatTemplate? chatTemplate = null)
        : this(model, tokenizerJson, chatTemplate, "tokenizer.json")
    {
    }

    private ModelBundle(CausalLM model, string tokenizerJson, ChatTemplate? chatTemplate, string source)
    {
        Model = model ?? throw new ArgumentNullException(nameof(model));
        TokenizerJson = tokenizerJson ?? throw new ArgumentNullException(nameof(tokenizerJson));
        var tokenizer = HuggingFaceTokenizer.Load(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(tokenizerJson)), source);
        RequireVocabularyFits(tokenizer, model.Config, source);
        Tokenizer = tokenizer;
        ChatTemplate = chatTemplate;
    }

    /// <summary>The decoder.</summary>
    public CausalLM Model { get; }

    /// <summary>The tokenizer.</summary>
    public Tokenizer Tokenizer { get; }

    /// <summary>The <c>tokenizer.json</c> text the tokenizer was built from (saved beside the weights).</summary>
    public string TokenizerJson { get; }

    /// <summary>The chat template of the checkpoint's <c>tokenizer_config.json</c>, or null (the built-in world's models have none).</summary>
    public ChatTemplate? ChatTemplate { get; }

    /// <summary>Where the weights live.</summary>
    public Device Device => Model.Device;

    /// <summary>A built-in world model (random or trained) with the built-in tokenizer.</summary>
    public static ModelBundle BuiltIn(CausalLM model) => new(model, BuiltInTokenizer.ToJson());

    /// <summary>
    /// Loads a checkpoint in Hugging Face layout: <c>config.json</c> + safetensors, <c>tokenizer.json</c> (required) and
    /// the chat template of <c>tokenizer_config.json</c> when there is one this library can render.
    /// </summary>
    public static ModelBundle Load(string directory, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(directory);
        var tokenizerPath = Path.Combine(directory, "tokenizer.json");
        if (!File.Exists(tokenizerPath)) throw new FileNotFoundException($"{directory}: no tokenizer.json beside the weights", tokenizerPath);
        var tokenizerJson = File.ReadAllText(tokenizerPath);
        var chat = ChatTemplate.FromCheckpoint(directory);
        var model = HuggingFaceCheckpoint.Load(directory, device);
        try { return new ModelBundle(model, tokenizerJson, chat, tokenizerPath); }
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

    /// <summary>Writes the weights (Hugging Face layout) and <c>tokenizer.json</c> to <paramref name="directory"/>.</summary>
    public void Save(string directory)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        HuggingFaceCheckpoint.Save(Model, directory);
        AtomicFile.WriteText(Path.Combine(directory, "tokenizer.json"), w => w.Write(TokenizerJson));
    }

    /// <summary>Frees the model (once; later calls do nothing).</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        Model.Dispose();
    }
}
