namespace StepWiser.ML.Samples.Commands;

/// <summary>
/// Checks before any work that no output of a command can overwrite one of its inputs or another of its outputs: an
/// output may not be an input, lie inside an input folder (a model, judge, base or store) or hold an input, and two
/// outputs may not be the same path or one inside the other. Paths are compared after symbolic links are resolved, so
/// a link into a model folder is the model folder. A collision is a <see cref="CliException"/> naming both options.
/// </summary>
internal sealed class PathGuard
{
    private const int MaxLinkDepth = 40;
    private const string Input = "an input";
    private const string Output = "another output";
    private static readonly StringComparison Comparison = OperatingSystem.IsWindows() || OperatingSystem.IsMacOS() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;
    private readonly List<Entry> _inputs = [];
    private readonly List<Entry> _outputs = [];

    /// <summary>An input file.</summary>
    public PathGuard InputFile(string option, string path) => Add(_inputs, option, path, folder: false);

    /// <summary>An input folder: no output may be written inside it.</summary>
    public PathGuard InputFolder(string option, string path) => Add(_inputs, option, path, folder: true);

    /// <summary>An output file.</summary>
    public PathGuard OutputFile(string option, string path) => Add(_outputs, option, path, folder: false);

    /// <summary>An output folder: it may hold no input and no other output.</summary>
    public PathGuard OutputFolder(string option, string path) => Add(_outputs, option, path, folder: true);

    /// <summary>A folder that is read and written (a rollout store): an input to every output, an output to every input.</summary>
    public PathGuard InputOutputFolder(string option, string path)
    {
        InputFolder(option, path);
        return OutputFolder(option, path);
    }

    /// <summary>Throws a <see cref="CliException"/> for the first output that collides with an input or an earlier output.</summary>
    public void Check()
    {
        for (var o = 0; o < _outputs.Count; o++)
        {
            var output = _outputs[o];
            foreach (var input in _inputs.Where(i => i.Option != output.Option))
                if (Collision(output, input, Input) is { } message) throw new CliException(message);
            foreach (var earlier in _outputs.Take(o).Where(e => e.Option != output.Option))
                if (Collision(output, earlier, Output) is { } message) throw new CliException(message);
        }
    }

    private static string? Collision(Entry output, Entry other, string role)
    {
        var where = $"{output.Option} {output.Path}";
        if (string.Equals(output.Canonical, other.Canonical, Comparison))
            return role == Input
                ? $"{where}: is also an input ({other.Option} {other.Path}); write the output elsewhere"
                : $"{where}: names the same {(output.Folder ? "folder" : "file")} as {other.Option} {other.Path}; give each output its own path";
        if (other.Folder && IsInside(output.Canonical, other.Canonical))
            return $"{where}: is inside {other.Option} {other.Path}, {role}; write the output elsewhere";
        if (output.Folder && IsInside(other.Canonical, output.Canonical))
            return $"{where}: holds {other.Option} {other.Path}, {role}, which writing it would replace; write the output elsewhere";
        return null;
    }

    private static bool IsInside(string path, string folder) =>
        path.StartsWith(folder.EndsWith(Path.DirectorySeparatorChar) ? folder : folder + Path.DirectorySeparatorChar, Comparison);

    private PathGuard Add(List<Entry> list, string option, string path, bool folder)
    {
        list.Add(new Entry(option, path, Canonical(option, path), folder));
        return this;
    }

    /// <summary>The full path with every symbolic link in its existing part resolved.</summary>
    private static string Canonical(string option, string path, int depth = 0)
    {
        if (depth > MaxLinkDepth) throw new CliException($"{option} {path}: too many levels of symbolic links");
        var full = Path.GetFullPath(path);
        var root = Path.GetPathRoot(full)!;
        var current = root;
        var parts = full[root.Length..].Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries);
        for (var i = 0; i < parts.Length; i++)
        {
            var next = Path.Combine(current, parts[i]);
            FileSystemInfo info = Directory.Exists(next) ? new DirectoryInfo(next) : new FileInfo(next);
            if (info.Exists && info.LinkTarget is not null)
            {
                FileSystemInfo? target;
                try { target = info.ResolveLinkTarget(returnFinalTarget: true); }
                catch (IOException e) { throw new CliException($"{option} {path}: cannot resolve the symbolic link {next} ({e.Message})"); }
                next = target is null ? next : Canonical(option, target.FullName, depth + 1);
            }
            current = next;
        }
        return current.Length > root.Length ? current.TrimEnd(Path.DirectorySeparatorChar) : current;
    }

    private sealed record Entry(string Option, string Path, string Canonical, bool Folder);
}
