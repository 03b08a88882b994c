using System.Text.Json;
using System.Text.Json.Nodes;
using StepWiser.ML.Tokenization;

namespace StepWiser.ML.Models;

/// <summary>
/// The <c>tokenizer_config.json</c> a saved <see cref="ModelBundle"/> carries, so Hugging Face transformers and vLLM load
/// the folder's tokenizer and chat template as they are: the checkpoint's own file with every key kept (its chat
/// template added when it had none and the bundle has one), or, for a bundle that came without one, a file naming the
/// fast tokenizer of <c>tokenizer.json</c>, its special tokens, the context length and the chat template.
/// </summary>
internal static class TokenizerConfigFile
{
    /// <summary>The file's name.</summary>
    public const string FileName = "tokenizer_config.json";

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    /// <summary>The file's text for a bundle of <paramref name="config"/>, <paramref name="tokenizerJson"/> and <paramref name="chat"/>.</summary>
    /// <param name="original">The checkpoint's own <c>tokenizer_config.json</c> text, or null.</param>
    /// <param name="chat">The bundle's chat template, or null.</param>
    /// <param name="config">The model's configuration (end-of-sequence and beginning-of-sequence ids, context length).</param>
    /// <param name="tokenizerJson">The <c>tokenizer.json</c> text (for the special tokens' text).</param>
    public static string Compose(string? original, ChatTemplate? chat, ModelConfig config, string tokenizerJson)
    {
        if (original is not null)
        {
            var own = JsonNode.Parse(original) as JsonObject ?? throw new InvalidDataException($"{FileName}: not a JSON object");
            if (chat is not null && own["chat_template"] is null) own["chat_template"] = chat.Jinja;
            return own.ToJsonString(Indented);
        }
        var tokens = TokenTexts(tokenizerJson);
        string? Text(int? id) => id is { } i && tokens.TryGetValue(i, out var text) ? text : null;
        var eos = Text(config.EosTokenIds.Count > 0 ? config.EosTokenIds[0] : null);
        var file = new JsonObject
        {
            ["tokenizer_class"] = "PreTrainedTokenizerFast",
            ["bos_token"] = Text(config.BosTokenId),
            ["eos_token"] = eos,
            ["pad_token"] = eos,
            ["unk_token"] = null,
            ["add_bos_token"] = false,
            ["clean_up_tokenization_spaces"] = false,
            ["model_max_length"] = config.MaxPositionEmbeddings,
        };
        if (chat is not null) file["chat_template"] = chat.Jinja;
        return file.ToJsonString(Indented);
    }

    /// <summary>Token id → text of every added token and vocabulary entry of a <c>tokenizer.json</c>.</summary>
    private static Dictionary<int, string> TokenTexts(string tokenizerJson)
    {
        var result = new Dictionary<int, string>();
        using var doc = JsonDocument.Parse(tokenizerJson);
        if (doc.RootElement.TryGetProperty("model", out var model) && model.TryGetProperty("vocab", out var vocab) && vocab.ValueKind == JsonValueKind.Object)
            foreach (var entry in vocab.EnumerateObject())
                if (entry.Value.TryGetInt32(out var id)) result[id] = entry.Name;
        if (doc.RootElement.TryGetProperty("added_tokens", out var added) && added.ValueKind == JsonValueKind.Array)
            foreach (var token in added.EnumerateArray())
                if (token.TryGetProperty("id", out var id) && id.TryGetInt32(out var i) && token.TryGetProperty("content", out var content))
                    result[i] = content.GetString() ?? "";
        return result;
    }
}
