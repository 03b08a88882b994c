using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;

namespace StepWiser.ML.Native;

/// <summary>
/// Makes TorchSharp 0.107's native library load where the build step of the package cannot help: notebooks and
/// scripts that reference TorchSharp straight from the NuGet cache (<c>#r "nuget:TorchSharp-cpu"</c>), on Linux
/// distributions whose libstdc++ lacks <c>GLIBCXX_3.4.32</c> (Debian 12, Ubuntu 22.04, RHEL 9). Its
/// <c>libLibTorchSharp.so</c> asks for that version for one symbol that only forces iostream start-up; the loader
/// then refuses the library and TorchSharp reports a misleading "doesn't contain a reference to libtorch-cpu" error
/// (and copies ~480 MB of libtorch into the NuGet cache while trying).
/// <para>
/// <see cref="EnsureLoadable"/> runs once, automatically, when StepWiser.ML is first used (a module initializer), and
/// can be called explicitly before touching <c>TorchSharp.torch</c> directly. When the library loads as it is, it does
/// nothing else. Otherwise it writes a copy with that one version requirement marked weak into a cache folder
/// (<c>$XDG_CACHE_HOME/stepwiser-ml/libtorchsharp/&lt;key&gt;</c>, beside symbolic links to the libtorch libraries
/// it needs) and loads the copy by path; its soname is the original's, so TorchSharp's own loading binds to it. The
/// NuGet cache is never written. Set <c>STEPWISER_NATIVE_FIX=0</c> to turn it off. See docs/glibcxx.md.
/// </para>
/// </summary>
public static class TorchSharpNative
{
    private const string LibraryName = "libLibTorchSharp.so";
    private const string VersionName = "GLIBCXX_3.4.32";
    private const uint ShtGnuVerneed = 0x6ffffffe;
    private const ushort VerFlgWeak = 0x2;
    private static readonly object Gate = new();
    private static string? _status;

    /// <summary>What <see cref="EnsureLoadable"/> did (null before it ran).</summary>
    public static string? Status => _status;

#pragma warning disable CA2255 // a library module initializer on purpose: it must run before any TorchSharp call of the library
    [ModuleInitializer]
    internal static void Initialize()
#pragma warning restore CA2255
    {
        try { EnsureLoadable(); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or BadImageFormatException or DllNotFoundException)
        {
            _status = "not applied: " + e.Message; // TorchSharp reports its own error if it still cannot load
        }
    }

    /// <summary>Loads TorchSharp's native library, patched if needed (idempotent); returns a one-line status.</summary>
    public static string EnsureLoadable()
    {
        lock (Gate)
        {
            if (_status is not null) return _status;
            _status = Load();
            return _status;
        }
    }

    private static string Load()
    {
        if (!OperatingSystem.IsLinux()) return "not Linux: nothing to do";
        if (Environment.GetEnvironmentVariable("STEPWISER_NATIVE_FIX") == "0") return "turned off by STEPWISER_NATIVE_FIX=0";
        var torchSharp = typeof(TorchSharp.torch).Assembly; // typeof does not run torch's static constructor
        var rid = RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? "linux-arm64" : "linux-x64";
        var assemblyDir = Path.GetDirectoryName(torchSharp.Location);
        if (string.IsNullOrEmpty(assemblyDir)) return "TorchSharp has no file location: nothing to do";
        var source = new[] { assemblyDir, Path.Combine(assemblyDir, "runtimes", rid, "native"), Path.GetFullPath(Path.Combine(assemblyDir, "..", "..", "runtimes", rid, "native")) }
            .Select(d => Path.Combine(d, LibraryName)).FirstOrDefault(File.Exists);
        if (source is null) return $"{LibraryName} not found near {assemblyDir}: left to TorchSharp";
        if (NativeLibrary.TryLoad(source, out _)) return $"{source} loads as it is";

        // In the NuGet cache layout libtorch sits in the libtorch-cpu-<rid> package, not beside the library.
        var sourceDir = Path.GetDirectoryName(source)!;
        var dirs = new List<string> { sourceDir };
        if (!File.Exists(Path.Combine(sourceDir, "libtorch_cpu.so")))
        {
            var version = (string?)torchSharp.GetType("TorchSharp.torch")?.GetField("libtorchPackageVersion", BindingFlags.NonPublic | BindingFlags.Static)?.GetRawConstantValue();
            var packages = Path.GetFullPath(Path.Combine(assemblyDir, "..", "..", "..", ".."));
            var candidates = version is null ? [] : new[] { version, string.Join('.', version.Split('.').Take(3)) };
            var libtorch = candidates.Select(v => Path.Combine(packages, "libtorch-cpu-" + rid, v, "runtimes", rid, "native")).FirstOrDefault(d => File.Exists(Path.Combine(d, "libtorch_cpu.so")));
            if (libtorch is not null) dirs.Add(libtorch);
        }

        var info = new FileInfo(source);
        var key = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes($"{source}|{info.Length}|{info.LastWriteTimeUtc.Ticks}")))[..16].ToLowerInvariant();
        var cache = Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { Length: > 0 } xdg ? xdg : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
        var target = Path.Combine(cache, "stepwiser-ml", "libtorchsharp", key);
        Directory.CreateDirectory(target);
        foreach (var file in dirs.SelectMany(Directory.EnumerateFiles).Where(f => Path.GetFileName(f).Contains(".so", StringComparison.Ordinal) && Path.GetFileName(f) != LibraryName))
        {
            var link = Path.Combine(target, Path.GetFileName(file));
            if (File.Exists(link)) continue;
            try { File.CreateSymbolicLink(link, file); }
            catch (IOException) when (File.Exists(link)) { } // another process made it
        }
        // The copy is written once per source file (the key changes with it); later processes only load it.
        var patched = Path.Combine(target, LibraryName);
        var state = "patched copy from an earlier run";
        if (!File.Exists(patched))
        {
            var bytes = File.ReadAllBytes(source);
            state = Weaken(bytes, VersionName) ? $"{VersionName} marked weak" : $"no {VersionName} requirement";
            var temp = $"{patched}.{Environment.ProcessId}.tmp";
            File.WriteAllBytes(temp, bytes);
            File.Move(temp, patched, overwrite: true);
        }
        NativeLibrary.Load(patched);
        return $"loaded {patched} ({state}; libtorch from {string.Join(", ", dirs)})";
    }

    /// <summary>
    /// Sets VER_FLG_WEAK on every version-need entry named <paramref name="versionName"/> of a 64-bit little-endian
    /// ELF image (in place); returns whether anything changed. The same edit as the package's build step.
    /// </summary>
    public static bool Weaken(byte[] elf, string versionName)
    {
        ArgumentNullException.ThrowIfNull(elf);
        ArgumentException.ThrowIfNullOrEmpty(versionName);
        if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != 'E' || elf[2] != 'L' || elf[3] != 'F' || elf[4] != 2 || elf[5] != 1)
            throw new BadImageFormatException("not a 64-bit little-endian ELF image");
        var span = elf.AsSpan();
        var shoff = checked((int)BitConverter.ToUInt64(elf, 0x28));
        int shentsize = BitConverter.ToUInt16(elf, 0x3A), shnum = BitConverter.ToUInt16(elf, 0x3C);
        if (shoff <= 0 || (long)shoff + (long)shentsize * shnum > elf.Length) throw new BadImageFormatException("section header table out of range");
        var wanted = Encoding.ASCII.GetBytes(versionName);
        var changed = false;
        for (var s = 0; s < shnum; s++)
        {
            var sh = shoff + s * shentsize;
            if (BitConverter.ToUInt32(elf, sh + 4) != ShtGnuVerneed) continue;
            var offset = checked((int)BitConverter.ToUInt64(elf, sh + 0x18));
            var link = (int)BitConverter.ToUInt32(elf, sh + 0x28);
            var count = (int)BitConverter.ToUInt32(elf, sh + 0x2C);
            var strtab = checked((int)BitConverter.ToUInt64(elf, shoff + link * shentsize + 0x18));
            var vn = offset;
            for (var n = 0; n < count; n++)
            {
                var aux = vn + (int)BitConverter.ToUInt32(elf, vn + 8);
                for (int a = 0, auxCount = BitConverter.ToUInt16(elf, vn + 2); a < auxCount; a++)
                {
                    var name = strtab + (int)BitConverter.ToUInt32(elf, aux + 8);
                    var end = Array.IndexOf(elf, (byte)0, name);
                    if (end > name && span[name..end].SequenceEqual(wanted))
                    {
                        var flags = BitConverter.ToUInt16(elf, aux + 4);
                        if ((flags & VerFlgWeak) == 0)
                        {
                            BitConverter.TryWriteBytes(span.Slice(aux + 4, 2), (ushort)(flags | VerFlgWeak));
                            changed = true;
                        }
                    }
                    var next = (int)BitConverter.ToUInt32(elf, aux + 12);
                    if (next == 0) break;
                    aux += next;
                }
                var nextNeed = (int)BitConverter.ToUInt32(elf, vn + 12);
                if (nextNeed == 0) break;
                vn += nextNeed;
            }
        }
        return changed;
    }
}
