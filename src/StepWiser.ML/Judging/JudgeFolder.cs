using System.Text.Json;
using StepWiser.ML.Data;
using StepWiser.ML.Tokenization;

namespace StepWiser.ML.Judging;

/// <summary>The manifest and template handling both saved judges share (generative and discriminative).</summary>
internal static class JudgeFolder
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    /// <summary>Writes <paramref name="manifest"/> as <paramref name="file"/> in <paramref name="directory"/>, atomically.</summary>
    public static void WriteManifest<T>(string directory, string file, T manifest) =>
        AtomicFile.WriteText(Path.Combine(directory, file), w => w.Write(JsonSerializer.Serialize(manifest, Indented)));

    /// <summary>Reads the manifest, naming the folder when it is missing and the file when it is malformed.</summary>
    public static T ReadManifest<T>(string directory, string file, string what) where T : class
    {
        var path = Path.Combine(directory, file);
        if (!File.Exists(path)) throw new FileNotFoundException($"{directory}: no {file}; not a saved {what}", path);
        try { return JsonSerializer.Deserialize<T>(File.ReadAllText(path)) ?? throw new InvalidDataException($"{path}: empty manifest"); }
        catch (JsonException e) { throw new InvalidDataException($"{path}: malformed manifest ({e.Message})", e); }
    }

    /// <summary>
    /// The template a judge was saved with: <paramref name="given"/> (checked by name), the built-in one of that name, or
    /// for a chat template the built-in ones do not name (Llama 3's) the chat template of the folder's own
    /// <c>tokenizer_config.json</c> when it gives that name.
    /// </summary>
    public static JudgeTemplate Template(string saved, JudgeTemplate? given, string directory)
    {
        given ??= JudgeTemplate.FromName(saved) ?? FolderChat(saved, directory)
            ?? throw new InvalidDataException($"{directory}: template '{saved}' is not built in; pass it to Load");
        return given.Name == saved ? given : throw new ArgumentException($"the judge was saved with template '{saved}', not '{given.Name}'", "template");
    }

    private static JudgeTemplate? FolderChat(string saved, string directory) =>
        saved.StartsWith("chat-", StringComparison.Ordinal) && Directory.Exists(directory) && ChatTemplate.FromCheckpoint(directory) is { } chat
        && JudgeTemplate.Chat(chat) is var template && template.Name == saved ? template : null;
}
