using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;

namespace StepWiser.ML.Tokenization;

/// <summary>
/// Loads a Hugging Face <c>tokenizer.json</c> holding a byte-level BPE model (Qwen2/Qwen2.5/Qwen3, GPT-2 style,
/// Llama-3 style) into a Microsoft.ML.Tokenizers <see cref="BpeTokenizer"/>: vocabulary, merges (as "a b"
/// strings or as ["a", "b"] pairs), the Split-regex pre-tokeniser, byte-level mapping, NFC normaliser and the
/// added/special tokens, which are never split. Anything else is refused with a clear error rather than
/// loaded as a silently different tokenizer.
/// </summary>
public static class HuggingFaceTokenizer
{
    /// <summary>The GPT-2 pre-tokenisation pattern, used by a ByteLevel pre-tokeniser with <c>use_regex: true</c>.</summary>
    public const string Gpt2Pattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    /// <summary>Loads <paramref name="path"/> (a <c>tokenizer.json</c> file, or a directory holding one).</summary>
    /// <exception cref="InvalidDataException">The file is malformed or uses a tokenizer type that is not supported.</exception>
    public static BpeTokenizer Load(string path)
    {
        if (Directory.Exists(path)) path = Path.Combine(path, "tokenizer.json");
        if (!File.Exists(path)) throw new FileNotFoundException($"tokenizer.json not found: {path}", path);
        using var stream = File.OpenRead(path);
        return Load(stream, path);
    }

    /// <summary>Loads a <c>tokenizer.json</c> document from <paramref name="stream"/>; <paramref name="source"/> names it in errors.</summary>
    public static BpeTokenizer Load(Stream stream, string source = "tokenizer.json")
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(stream, new JsonDocumentOptions { MaxDepth = 256 }); }
        catch (JsonException e) { throw new InvalidDataException($"{source}: not valid JSON ({e.Message}).", e); }
        using (doc)
        {
            var root = doc.RootElement;
            if (!root.TryGetProperty("model", out var model) || model.ValueKind != JsonValueKind.Object)
                throw new InvalidDataException($"{source}: missing 'model'.");
            string type = model.TryGetProperty("type", out var t) ? t.GetString() ?? "" : "";
            if (type != "BPE")
                throw new InvalidDataException($"{source}: model type '{type}' is not supported (only byte-level 'BPE').");

            var vocab = ReadVocabulary(model, source);
            var merges = ReadMerges(model, source);
            var special = ReadAddedTokens(root, source);
            var (pattern, byteLevel) = ReadPreTokenizer(root, source);
            if (!byteLevel)
                throw new InvalidDataException($"{source}: only byte-level BPE is supported (no ByteLevel pre-tokenizer found).");
            var normalizer = ReadNormalizer(root, source, special.Keys);

            foreach (var (token, id) in special) vocab.TryAdd(token, id);
            var options = new BpeOptions(vocab)
            {
                Merges = merges,
                SpecialTokens = special,
                ByteLevel = true,
                PreTokenizer = new UnicodeRegexPreTokenizer(new Regex(pattern, RegexOptions.Compiled), special),
                Normalizer = normalizer,
            };
            return BpeTokenizer.Create(options);
        }
    }

    private static Dictionary<string, int> ReadVocabulary(JsonElement model, string source)
    {
        if (!model.TryGetProperty("vocab", out var vocabEl) || vocabEl.ValueKind != JsonValueKind.Object)
            throw new InvalidDataException($"{source}: model.vocab must be an object of token → id.");
        var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var entry in vocabEl.EnumerateObject())
        {
            if (!entry.Value.TryGetInt32(out int id)) throw new InvalidDataException($"{source}: vocab entry '{entry.Name}' has a non-integer id.");
            vocab[entry.Name] = id;
        }
        return vocab;
    }

    private static List<string> ReadMerges(JsonElement model, string source)
    {
        var merges = new List<string>();
        if (!model.TryGetProperty("merges", out var mergesEl) || mergesEl.ValueKind == JsonValueKind.Null) return merges;
        if (mergesEl.ValueKind != JsonValueKind.Array) throw new InvalidDataException($"{source}: model.merges must be an array.");
        int index = 0;
        foreach (var merge in mergesEl.EnumerateArray())
        {
            switch (merge.ValueKind)
            {
                case JsonValueKind.String:
                    merges.Add(merge.GetString()!);
                    break;
                case JsonValueKind.Array when merge.GetArrayLength() == 2:
                    merges.Add($"{merge[0].GetString()} {merge[1].GetString()}");
                    break;
                default:
                    throw new InvalidDataException($"{source}: model.merges[{index}] is neither \"a b\" nor [\"a\", \"b\"].");
            }
            index++;
        }
        return merges;
    }

    private static Dictionary<string, int> ReadAddedTokens(JsonElement root, string source)
    {
        var special = new Dictionary<string, int>(StringComparer.Ordinal);
        if (!root.TryGetProperty("added_tokens", out var added) || added.ValueKind != JsonValueKind.Array) return special;
        foreach (var token in added.EnumerateArray())
        {
            if (!token.TryGetProperty("content", out var content) || !token.TryGetProperty("id", out var id))
                throw new InvalidDataException($"{source}: an added_tokens entry lacks 'content' or 'id'.");
            special[content.GetString()!] = id.GetInt32();
        }
        return special;
    }

    private static (string Pattern, bool ByteLevel) ReadPreTokenizer(JsonElement root, string source)
    {
        if (!root.TryGetProperty("pre_tokenizer", out var pre) || pre.ValueKind == JsonValueKind.Null)
            throw new InvalidDataException($"{source}: no pre_tokenizer; a byte-level BPE without one would silently mangle spaces and newlines.");
        string? pattern = null;
        bool byteLevel = false;
        void Visit(JsonElement node)
        {
            string type = node.TryGetProperty("type", out var t) ? t.GetString() ?? "" : "";
            switch (type)
            {
                case "Sequence":
                    foreach (var child in node.GetProperty("pretokenizers").EnumerateArray()) Visit(child);
                    break;
                case "Split":
                    if (pattern is not null) throw new InvalidDataException($"{source}: more than one Split pre-tokenizer is not supported.");
                    var p = node.GetProperty("pattern");
                    pattern = p.TryGetProperty("Regex", out var regex) ? regex.GetString()
                        : p.TryGetProperty("String", out var literal) ? Regex.Escape(literal.GetString()!)
                        : throw new InvalidDataException($"{source}: Split pattern must be a Regex or a String.");
                    string behavior = node.TryGetProperty("behavior", out var b) ? b.GetString() ?? "" : "";
                    if (behavior != "Isolated") throw new InvalidDataException($"{source}: Split behavior '{behavior}' is not supported (only 'Isolated').");
                    if (node.TryGetProperty("invert", out var inv) && inv.GetBoolean()) throw new InvalidDataException($"{source}: inverted Split is not supported.");
                    break;
                case "ByteLevel":
                    byteLevel = true;
                    if (node.TryGetProperty("add_prefix_space", out var aps) && aps.GetBoolean())
                        throw new InvalidDataException($"{source}: ByteLevel add_prefix_space = true is not supported.");
                    if (!node.TryGetProperty("use_regex", out var useRegex) || useRegex.GetBoolean())
                    {
                        if (pattern is not null) throw new InvalidDataException($"{source}: ByteLevel use_regex together with a Split pre-tokenizer is not supported.");
                        pattern = Gpt2Pattern;
                    }
                    break;
                default:
                    throw new InvalidDataException($"{source}: pre_tokenizer type '{type}' is not supported.");
            }
        }
        Visit(pre);
        return (pattern ?? throw new InvalidDataException($"{source}: no splitting pattern in pre_tokenizer."), byteLevel);
    }

    private static Normalizer? ReadNormalizer(JsonElement root, string source, IEnumerable<string> addedTokens)
    {
        if (!root.TryGetProperty("normalizer", out var norm) || norm.ValueKind == JsonValueKind.Null) return null;
        string type = norm.TryGetProperty("type", out var t) ? t.GetString() ?? "" : "";
        return type switch
        {
            "NFC" => new NfcNormalizer(addedTokens),
            "Sequence" when norm.GetProperty("normalizers").GetArrayLength() == 0 => null,
            _ => throw new InvalidDataException($"{source}: normalizer type '{type}' is not supported (only NFC)."),
        };
    }
}
