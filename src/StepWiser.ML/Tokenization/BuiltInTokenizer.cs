using System.Text;
using System.Text.Json;
using Microsoft.ML.Tokenizers;

namespace StepWiser.ML.Tokenization;

/// <summary>
/// The tokenizer of the built-in small models: byte-level with one token per byte (256 entries, no merges)
/// plus the special tokens <c>&lt;|endoftext|&gt;</c>, <c>&lt;|im_start|&gt;</c>, <c>&lt;|im_end|&gt;</c> and the chunk tags
/// <c>&lt;chunk&gt;</c>, <c>&lt;/chunk&gt;</c> (added tokens that are never split and decode to their text). It is written as a
/// Hugging Face <c>tokenizer.json</c> and loaded through <see cref="HuggingFaceTokenizer"/>, so it is saved and
/// loaded with the model exactly like a real checkpoint's tokenizer.
/// </summary>
public static class BuiltInTokenizer
{
    /// <summary>End-of-text token.</summary>
    public const string EndOfText = "<|endoftext|>";

    /// <summary>Id of <see cref="EndOfText"/>.</summary>
    public const int EndOfTextId = 256;

    /// <summary>Vocabulary size (bytes plus special tokens).</summary>
    public const int VocabularySize = 261;

    // The ChatML markers, then the chunk tags of the policy format: one token each, so a chunk boundary costs the
    // small models two tokens instead of fifteen bytes.
    private static readonly string[] Specials = [EndOfText, "<|im_start|>", "<|im_end|>", "<chunk>", "</chunk>"];

    /// <summary>The <c>tokenizer.json</c> document of the built-in tokenizer.</summary>
    public static string ToJson()
    {
        var vocab = new Dictionary<string, int>();
        var byteChars = ByteLevelAlphabet();
        for (int b = 0; b < 256; b++) vocab[byteChars[b].ToString()] = b;
        var added = Specials.Select((s, i) => new Dictionary<string, object>
        {
            ["id"] = EndOfTextId + i, ["content"] = s, ["single_word"] = false, ["lstrip"] = false,
            ["rstrip"] = false, ["normalized"] = false, ["special"] = i < 3,
        }).ToArray();
        var doc = new Dictionary<string, object?>
        {
            ["version"] = "1.0",
            ["added_tokens"] = added,
            ["normalizer"] = null,
            ["pre_tokenizer"] = new Dictionary<string, object> { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = true, ["use_regex"] = true },
            ["decoder"] = new Dictionary<string, object> { ["type"] = "ByteLevel", ["add_prefix_space"] = true, ["trim_offsets"] = true, ["use_regex"] = true },
            ["model"] = new Dictionary<string, object?> { ["type"] = "BPE", ["dropout"] = null, ["unk_token"] = null, ["vocab"] = vocab, ["merges"] = Array.Empty<string>() },
        };
        return JsonSerializer.Serialize(doc, new JsonSerializerOptions { WriteIndented = true });
    }

    /// <summary>Creates the built-in tokenizer.</summary>
    public static BpeTokenizer Create() => HuggingFaceTokenizer.Load(new MemoryStream(Encoding.UTF8.GetBytes(ToJson())), "built-in tokenizer");

    /// <summary>The plain ChatML Jinja chat template written into <c>tokenizer_config.json</c>.</summary>
    public const string ChatTemplateJinja =
        "{%- for message in messages %}{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{%- endfor %}" +
        "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}";

    /// <summary>
    /// Writes <c>tokenizer.json</c> and <c>tokenizer_config.json</c> (with the ChatML chat template and the special
    /// tokens) into <paramref name="directory"/>, so vLLM or transformers can serve a built-in model as it is.
    /// </summary>
    public static void Save(string directory)
    {
        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, "tokenizer.json"), ToJson());
        var config = new Dictionary<string, object?>
        {
            ["tokenizer_class"] = "PreTrainedTokenizerFast",
            ["bos_token"] = null,
            ["eos_token"] = EndOfText,
            ["pad_token"] = EndOfText,
            ["unk_token"] = null,
            ["additional_special_tokens"] = Specials[1..3],
            ["clean_up_tokenization_spaces"] = false,
            ["model_max_length"] = 4096,
            ["chat_template"] = ChatTemplateJinja,
        };
        File.WriteAllText(Path.Combine(directory, "tokenizer_config.json"), JsonSerializer.Serialize(config, new JsonSerializerOptions { WriteIndented = true }));
    }

    /// <summary>GPT-2's reversible byte → printable character map used by byte-level BPE vocabularies.</summary>
    public static char[] ByteLevelAlphabet()
    {
        var map = new char[256];
        int next = 256;
        for (int b = 0; b < 256; b++)
        {
            bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            map[b] = printable ? (char)b : (char)next++;
        }
        return map;
    }
}
