using System.Text;
using System.Text.Json;

namespace StepWiser.ML.Annotation;

/// <summary>
/// Append-only, crash-safe store of Monte-Carlo rollout outcomes, one JSON line per prefix
/// (<c>{"key": …, "rewards": [1, 0, …]}</c>) in <c>*.rollouts.jsonl</c> files of a folder. Each writer (a run or a shard)
/// appends to its own file and flushes to disk after every batch; a line cut short by a crash is dropped when the
/// file is opened again, so a restarted run neither loses finished prefixes nor repeats them. Reading takes every
/// file of the folder, so merging shards is copying their files together (or <see cref="Merge"/>).
/// </summary>
public sealed class RolloutStore : IDisposable
{
    /// <summary>File-name suffix of store files.</summary>
    public const string Extension = ".rollouts.jsonl";

    private readonly Dictionary<string, byte[]> _entries = new(StringComparer.Ordinal);
    private readonly FileStream _writer;
    private readonly Lock _lock = new();

    /// <summary>Opens (or creates) the store in <paramref name="directory"/>, writing to file <paramref name="writerName"/>.</summary>
    public RolloutStore(string directory, string writerName = "main")
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        if (writerName.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0 || writerName.Contains('.'))
            throw new ArgumentException($"writer name '{writerName}' must be a plain file name without dots", nameof(writerName));
        System.IO.Directory.CreateDirectory(directory);
        Directory = directory;
        var own = Path.Combine(directory, writerName + Extension);
        foreach (var file in System.IO.Directory.GetFiles(directory, "*" + Extension).Order(StringComparer.Ordinal))
            if (file != own) Load(file, truncateTail: false);
        var existed = File.Exists(own);
        if (existed) Load(own, truncateTail: true);
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
            _writer.Write(Encoding.UTF8.GetBytes(sb.ToString()));
            _writer.Flush(flushToDisk: true);
        }
    }

    /// <summary>Combines the store files of several folders into <paramref name="target"/> (one file, duplicates dropped).</summary>
    public static int Merge(IEnumerable<string> sourceDirectories, string target)
    {
        using var merged = new RolloutStore(target, "merged");
        foreach (var source in sourceDirectories)
        {
            using var other = new RolloutStore(source, "merge-reader");
            merged.Append(other.Snapshot());
            other.DeleteOwnFileIfEmpty();
        }
        return merged.Count;
    }

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

    private void Load(string file, bool truncateTail)
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
            _entries.TryAdd(line.key, line.rewards.Select(r => (byte)r).ToArray());
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
