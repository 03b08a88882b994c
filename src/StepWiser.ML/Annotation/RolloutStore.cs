using System.Text;
using System.Text.Json;

namespace StepWiser.ML.Annotation;

/// <summary>
/// Append-only, crash-safe store of Monte-Carlo rollout outcomes, one JSON line per prefix
/// (<c>{"key": …, "rewards": [1, 0, …]}</c>) in <c>*.rollouts.jsonl</c> files of a folder. Each writer (a run or a shard)
/// appends to its own file and flushes to disk after every batch; a line cut short by a crash is dropped when the
/// file is opened again, so a restarted run neither loses finished prefixes nor repeats them. Reading takes every
/// file of the folder. A writer given its settings (the policy, prompts and sampling of its run;
/// <see cref="MonteCarloAnnotator.Metadata"/>) records them beside its file (<c>NAME.settings.json</c>) before its first
/// record, so <see cref="Merge"/> can refuse to combine stores of different runs.
/// </summary>
public sealed class RolloutStore : IDisposable
{
    /// <summary>File-name suffix of store files.</summary>
    public const string Extension = ".rollouts.jsonl";

    /// <summary>File-name suffix of the settings a store file's records were sampled with.</summary>
    public const string SettingsExtension = ".settings.json";

    private const string MergedWriter = "merged";
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };
    private readonly Dictionary<string, byte[]> _entries = new(StringComparer.Ordinal);
    private readonly FileStream _writer;
    private readonly Lock _lock = new();
    private readonly IReadOnlyDictionary<string, string>? _settings;
    private bool _settingsRecorded;

    /// <summary>
    /// Opens (or creates) the store in <paramref name="directory"/>, writing to file <paramref name="writerName"/>; with
    /// <paramref name="settings"/>, the settings this writer's records are sampled with, recorded before the first of them.
    /// </summary>
    public RolloutStore(string directory, string writerName = "main", IReadOnlyDictionary<string, string>? settings = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        if (writerName.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0 || writerName.Contains('.'))
            throw new ArgumentException($"writer name '{writerName}' must be a plain file name without dots", nameof(writerName));
        System.IO.Directory.CreateDirectory(directory);
        Directory = directory;
        _settings = settings;
        var own = Path.GetFullPath(Path.Combine(directory, writerName + Extension));
        foreach (var file in Files(directory))
            if (file != own) Load(_entries, file, truncateTail: false);
        var existed = File.Exists(own);
        if (existed) Load(_entries, own, truncateTail: true);
        _writer = new FileStream(own, FileMode.Append, FileAccess.Write, FileShare.Read);
        // The new file's name must reach the disk too, or a power loss could drop records already flushed into it.
        if (!existed) Data.FileSync.Folder(directory);
        FilePath = own;
    }

    /// <summary>The store folder.</summary>
    public string Directory { get; }

    /// <summary>The file this instance appends to.</summary>
    public string FilePath { get; }

    /// <summary>Number of prefixes stored.</summary>
    public int Count { get { lock (_lock) return _entries.Count; } }

    /// <summary>The stored rewards of a prefix, if any.</summary>
    public bool TryGet(string key, out byte[] rewards)
    {
        lock (_lock) return _entries.TryGetValue(key, out rewards!);
    }

    /// <summary>Appends prefixes and their rewards and flushes them to disk before returning.</summary>
    public void Append(IEnumerable<(string Key, byte[] Rewards)> records)
    {
        var sb = new StringBuilder();
        lock (_lock)
        {
            foreach (var (key, rewards) in records)
            {
                if (!_entries.TryAdd(key, rewards)) continue;
                sb.Append(JsonSerializer.Serialize(new Line(key, rewards.Select(r => (int)r).ToArray()))).Append('\n');
            }
            if (sb.Length == 0) return;
            if (_settings is not null && !_settingsRecorded)
            {
                RecordSettings(FilePath, _settings);
                _settingsRecorded = true;
            }
            _writer.Write(Encoding.UTF8.GetBytes(sb.ToString()));
            _writer.Flush(flushToDisk: true);
        }
    }

    /// <summary>
    /// Combines the store files of several folders into <paramref name="target"/> (one file, duplicates dropped) and
    /// returns the number of prefixes the target then holds. Every file, the target's own included, must have recorded
    /// settings and all of them must be the same (one run's shards: the same policy, prompts and sampling), else an
    /// <see cref="InvalidDataException"/> names the two files and the first setting that differs; every source is
    /// read and checked before anything is written, and the sources are only read.
    /// </summary>
    public static int Merge(IEnumerable<string> sourceDirectories, string target)
    {
        ArgumentNullException.ThrowIfNull(sourceDirectories);
        ArgumentException.ThrowIfNullOrEmpty(target);
        var sources = sourceDirectories.ToArray();
        if (sources.Length == 0) throw new ArgumentException("no store to merge", nameof(sourceDirectories));
        var files = new List<string>();
        foreach (var source in sources)
        {
            if (!System.IO.Directory.Exists(source)) throw new DirectoryNotFoundException($"{source}: no such rollout store folder");
            var own = Files(source);
            if (own.Count == 0) throw new InvalidDataException($"{source}: holds no rollout files (*{Extension}); not a rollout store");
            files.AddRange(own);
        }
        if (System.IO.Directory.Exists(target)) files.AddRange(Files(target));
        var settings = CommonSettings(files);
        var records = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var file in files.Where(f => sources.Any(s => Path.GetDirectoryName(f) == Path.GetFullPath(s).TrimEnd(Path.DirectorySeparatorChar))))
            Load(records, file, truncateTail: false);
        using var merged = new RolloutStore(target, MergedWriter, settings);
        merged.Append(records.Select(kv => (kv.Key, kv.Value)));
        return merged.Count;
    }

    /// <summary>The settings recorded for a store file (several when runs of different settings appended to it), or null when none were.</summary>
    public static IReadOnlyList<IReadOnlyDictionary<string, string>>? ReadSettings(string storeFile)
    {
        ArgumentException.ThrowIfNullOrEmpty(storeFile);
        var path = SettingsPath(storeFile);
        if (!File.Exists(path)) return null;
        try
        {
            return JsonSerializer.Deserialize<List<Dictionary<string, string>>>(File.ReadAllText(path)) is { Count: > 0 } list
                ? list : throw new InvalidDataException($"{path}: no settings in the file");
        }
        catch (JsonException e) { throw new InvalidDataException($"{path}: not a list of settings ({e.Message})", e); }
    }

    private static string SettingsPath(string storeFile) => storeFile[..^Extension.Length] + SettingsExtension;

    private static void RecordSettings(string storeFile, IReadOnlyDictionary<string, string> settings)
    {
        var known = ReadSettings(storeFile) ?? [];
        if (known.Any(k => SameSettings(k, settings))) return;
        var all = known.Append(settings).Select(d => new SortedDictionary<string, string>(d.ToDictionary(), StringComparer.Ordinal)).ToArray();
        Data.AtomicFile.WriteText(SettingsPath(storeFile), w => w.Write(JsonSerializer.Serialize(all, Indented)));
    }

    /// <summary>The one set of settings every file was written with; an <see cref="InvalidDataException"/> naming the first difference otherwise.</summary>
    private static IReadOnlyDictionary<string, string> CommonSettings(IReadOnlyList<string> files)
    {
        (string File, IReadOnlyDictionary<string, string> Settings)? first = null;
        foreach (var file in files)
        {
            var recorded = ReadSettings(file) ?? throw new InvalidDataException(
                $"{file}: no record of the settings its rollouts were sampled with ({Path.GetFileName(SettingsPath(file))}), so merging cannot check that it belongs with the others; annotate records them, or copy store files together yourself if you are sure they belong to one run");
            foreach (var settings in recorded)
            {
                first ??= (file, settings);
                if (!SameSettings(first.Value.Settings, settings))
                    throw new InvalidDataException($"{first.Value.File} and {file} hold rollouts of different runs ({Difference(first.Value.Settings, settings)}); merge the stores of one annotation run only (the same policy, prompts and sampling)");
            }
        }
        return first!.Value.Settings;
    }

    private static bool SameSettings(IReadOnlyDictionary<string, string> a, IReadOnlyDictionary<string, string> b) =>
        a.Count == b.Count && a.All(kv => b.TryGetValue(kv.Key, out var v) && v == kv.Value);

    private static string Difference(IReadOnlyDictionary<string, string> a, IReadOnlyDictionary<string, string> b)
    {
        var key = a.Keys.Concat(b.Keys).Order(StringComparer.Ordinal).First(k => !a.TryGetValue(k, out var x) || !b.TryGetValue(k, out var y) || x != y);
        string Show(IReadOnlyDictionary<string, string> d) => d.TryGetValue(key, out var v) ? $"'{Data.TextPreview.Shorten(v)}'" : "not set";
        return $"{key} {Show(a)} vs {Show(b)}";
    }

    private static IReadOnlyList<string> Files(string directory) =>
        System.IO.Directory.GetFiles(directory, "*" + Extension).Select(Path.GetFullPath).Order(StringComparer.Ordinal).ToArray();

    /// <summary>Every stored prefix.</summary>
    public IReadOnlyList<(string Key, byte[] Rewards)> Snapshot()
    {
        lock (_lock) return _entries.Select(kv => (kv.Key, kv.Value)).ToArray();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _writer.Dispose();
        DeleteOwnFileIfEmpty();
    }

    private void DeleteOwnFileIfEmpty()
    {
        if (File.Exists(FilePath) && new FileInfo(FilePath).Length == 0)
        {
            _writer.Dispose();
            File.Delete(FilePath);
        }
    }

    private static void Load(Dictionary<string, byte[]> entries, string file, bool truncateTail)
    {
        var bytes = File.ReadAllBytes(file);
        var goodEnd = 0;
        var start = 0;
        var lineNumber = 0;
        for (var i = 0; i < bytes.Length; i++)
        {
            if (bytes[i] != (byte)'\n') continue;
            lineNumber++;
            var text = Encoding.UTF8.GetString(bytes, start, i - start);
            start = i + 1;
            if (text.Length == 0) { goodEnd = start; continue; }
            Line line;
            try { line = JsonSerializer.Deserialize<Line>(text) ?? throw new JsonException("null"); }
            catch (JsonException e) { throw new InvalidDataException($"{file}:{lineNumber}: corrupt rollout record ({e.Message})", e); }
            if (string.IsNullOrEmpty(line.key) || line.rewards is null || line.rewards.Length == 0)
                throw new InvalidDataException($"{file}:{lineNumber}: corrupt rollout record (needs a \"key\" and a non-empty \"rewards\" list)");
            if (Array.FindIndex(line.rewards, r => r is not (0 or 1)) is var at and >= 0)
                throw new InvalidDataException($"{file}:{lineNumber}: corrupt rollout record (reward {line.rewards[at]}; rewards are 0 or 1)");
            entries.TryAdd(line.key, line.rewards.Select(r => (byte)r).ToArray());
            goodEnd = start;
        }
        // Bytes after the last newline are a record cut short by a crash: drop them (in our own file, physically).
        if (truncateTail && goodEnd < bytes.Length)
        {
            using var f = new FileStream(file, FileMode.Open, FileAccess.Write);
            f.SetLength(goodEnd);
        }
    }

    // Lower-case names keep the on-disk format compact and stable.
#pragma warning disable IDE1006
    private sealed record Line(string key, int[] rewards);
#pragma warning restore IDE1006
}
