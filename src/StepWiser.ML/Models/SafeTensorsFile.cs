using System.Text.Json;
using static TorchSharp.torch;

namespace StepWiser.ML.Models;

/// <summary>
/// Reader for the safetensors format (8-byte little-endian header length, JSON header, raw data).
/// Every structural problem is reported as an <see cref="InvalidDataException"/> naming the file and tensor.
/// No pickle is ever read.
/// </summary>
public sealed class SafeTensorsFile
{
    /// <summary>Largest header accepted (the format's own limit).</summary>
    public const long MaxHeaderBytes = 100L * 1024 * 1024;

    internal const long ChunkBytes = 256L * 1024 * 1024;

    private static readonly Dictionary<string, (ScalarType Type, int Size)> DTypes = new()
    {
        ["F64"] = (ScalarType.Float64, 8), ["F32"] = (ScalarType.Float32, 4), ["F16"] = (ScalarType.Float16, 2),
        ["BF16"] = (ScalarType.BFloat16, 2), ["I64"] = (ScalarType.Int64, 8), ["I32"] = (ScalarType.Int32, 4),
        ["I16"] = (ScalarType.Int16, 2), ["I8"] = (ScalarType.Int8, 1), ["U8"] = (ScalarType.Byte, 1), ["BOOL"] = (ScalarType.Bool, 1),
    };

    private readonly long _dataStart;

    /// <summary>Path of the file.</summary>
    public string Path { get; }

    /// <summary>Tensors by name.</summary>
    public IReadOnlyDictionary<string, SafeTensorsEntry> Entries { get; }

    /// <summary>The optional <c>__metadata__</c> string map.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    private SafeTensorsFile(string path, long dataStart, Dictionary<string, SafeTensorsEntry> entries, Dictionary<string, string> metadata)
    {
        Path = path;
        _dataStart = dataStart;
        Entries = entries;
        Metadata = metadata;
    }

    /// <summary>
    /// Contiguous slices of a contiguous CPU tensor along its first axis, each at most <see cref="ChunkBytes"/>, so that
    /// no managed buffer or span exceeds that size (tensors over 2 GB cannot go through one span).
    /// </summary>
    internal static IEnumerable<Tensor> RowChunks(Tensor tensor)
    {
        var flat = tensor.dim() == 0 ? tensor.view(1) : tensor;
        long rows = flat.shape[0];
        if (rows == 0 || flat.NumberOfElements == 0) yield break;
        long rowBytes = flat.NumberOfElements * flat.ElementSize / rows;
        long rowsPerChunk = Math.Max(1, ChunkBytes / rowBytes);
        for (long r = 0; r < rows; r += rowsPerChunk)
            yield return flat.narrow(0, r, Math.Min(rowsPerChunk, rows - r));
    }

    /// <summary>The safetensors code of a TorchSharp dtype.</summary>
    public static string DTypeCode(ScalarType type) =>
        DTypes.FirstOrDefault(kv => kv.Value.Type == type).Key ?? throw new NotSupportedException($"dtype {type} cannot be stored in safetensors.");

    /// <summary>Bytes per element of a safetensors dtype code.</summary>
    public static int ElementSize(string code) => DTypes[code].Size;

    /// <summary>Reads and validates the header of <paramref name="path"/>.</summary>
    /// <exception cref="InvalidDataException">The header is truncated, malformed or inconsistent with the file.</exception>
    public static SafeTensorsFile Open(string path)
    {
        using var stream = File.OpenRead(path);
        long fileLength = stream.Length;
        if (fileLength < 8) throw new InvalidDataException($"{path}: truncated safetensors file ({fileLength} bytes, no header length).");
        Span<byte> lengthBytes = stackalloc byte[8];
        stream.ReadExactly(lengthBytes);
        ulong headerLength = BitConverter.ToUInt64(lengthBytes);
        if (headerLength > (ulong)(fileLength - 8))
            throw new InvalidDataException($"{path}: header length {headerLength} goes beyond the end of the file ({fileLength} bytes).");
        if (headerLength > MaxHeaderBytes) throw new InvalidDataException($"{path}: header length {headerLength} exceeds the {MaxHeaderBytes}-byte limit.");
        var header = new byte[headerLength];
        stream.ReadExactly(header);
        long dataStart = 8 + (long)headerLength;
        long dataLength = fileLength - dataStart;

        JsonDocument doc;
        try { doc = JsonDocument.Parse(header); }
        catch (JsonException e) { throw new InvalidDataException($"{path}: header is not valid JSON ({e.Message}).", e); }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new InvalidDataException($"{path}: header is not a JSON object.");
            var entries = new Dictionary<string, SafeTensorsEntry>(StringComparer.Ordinal);
            var metadata = new Dictionary<string, string>();
            foreach (var prop in doc.RootElement.EnumerateObject())
            {
                if (prop.Name == "__metadata__")
                {
                    if (prop.Value.ValueKind == JsonValueKind.Object)
                        foreach (var m in prop.Value.EnumerateObject()) metadata[m.Name] = m.Value.ToString();
                    continue;
                }
                entries[prop.Name] = ParseEntry(path, prop.Name, prop.Value, dataLength);
            }
            return new SafeTensorsFile(path, dataStart, entries, metadata);
        }
    }

    private static SafeTensorsEntry ParseEntry(string path, string name, JsonElement value, long dataLength)
    {
        string Where() => $"{path}: tensor '{name}'";
        if (value.ValueKind != JsonValueKind.Object) throw new InvalidDataException($"{Where()}: entry is not an object.");
        if (!value.TryGetProperty("dtype", out var dtypeEl) || dtypeEl.ValueKind != JsonValueKind.String)
            throw new InvalidDataException($"{Where()}: missing 'dtype'.");
        string dtype = dtypeEl.GetString()!;
        if (!DTypes.TryGetValue(dtype, out var info))
            throw new InvalidDataException($"{Where()}: unknown dtype '{dtype}' (expected one of {string.Join(", ", DTypes.Keys)}).");
        if (!value.TryGetProperty("shape", out var shapeEl) || shapeEl.ValueKind != JsonValueKind.Array)
            throw new InvalidDataException($"{Where()}: missing 'shape'.");
        var shape = shapeEl.EnumerateArray().Select(s => s.ValueKind == JsonValueKind.Number && s.TryGetInt64(out var d) && d >= 0
            ? d : throw new InvalidDataException($"{Where()}: shape entry '{s}' is not a non-negative integer.")).ToArray();
        if (!value.TryGetProperty("data_offsets", out var offEl) || offEl.ValueKind != JsonValueKind.Array || offEl.GetArrayLength() != 2)
            throw new InvalidDataException($"{Where()}: 'data_offsets' must be [begin, end].");
        if (!offEl[0].TryGetInt64(out long begin) || !offEl[1].TryGetInt64(out long end) || begin < 0 || end < begin)
            throw new InvalidDataException($"{Where()}: invalid data_offsets {offEl}.");
        if (end > dataLength)
            throw new InvalidDataException($"{Where()}: data_offsets [{begin}, {end}) out of range; the data section has {dataLength} bytes (file truncated?).");
        long elements = 1;
        foreach (var d in shape) elements = checked(elements * d);
        if (elements * info.Size != end - begin)
            throw new InvalidDataException($"{Where()}: shape [{string.Join(", ", shape)}] of {dtype} needs {elements * info.Size} bytes but data_offsets span {end - begin}.");
        return new SafeTensorsEntry(name, dtype, shape, begin, end);
    }

    /// <summary>Reads tensor <paramref name="name"/> onto the CPU, converted to <paramref name="dtype"/> when given.</summary>
    public Tensor Read(string name, ScalarType? dtype = null)
    {
        if (!Entries.TryGetValue(name, out var entry)) throw new KeyNotFoundException($"{Path}: no tensor named '{name}'.");
        var stored = DTypes[entry.DType];
        var tensor = empty(entry.Shape, dtype: stored.Type);
        using (var stream = File.OpenRead(Path))
        {
            stream.Seek(_dataStart + entry.Begin, SeekOrigin.Begin);
            if (entry.End > entry.Begin)
            {
                foreach (var slice in RowChunks(tensor))
                    using (slice)
                    {
                        var buffer = new byte[slice.NumberOfElements * slice.ElementSize];
                        stream.ReadExactly(buffer);
                        slice.bytes = buffer;
                    }
            }
        }
        if (dtype is { } target && target != stored.Type)
        {
            var converted = tensor.to(target);
            tensor.Dispose();
            return converted;
        }
        return tensor;
    }
}
