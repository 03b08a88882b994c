using System.Text;
using System.Text.Json;
using static TorchSharp.torch;

namespace StepWiser.ML.Models;

/// <summary>Writes tensors in the safetensors format, the data in the given order, the header padded to 8 bytes.</summary>
public static class SafeTensorsWriter
{
    /// <summary>
    /// Writes <paramref name="tensors"/> to <paramref name="path"/> (through a temporary file, so a crash never leaves a
    /// half-written checkpoint under the final name).
    /// </summary>
    public static void Write(string path, IReadOnlyList<(string Name, Tensor Tensor)> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var header = new Dictionary<string, object>(StringComparer.Ordinal);
        if (metadata is { Count: > 0 }) header["__metadata__"] = metadata;
        long offset = 0;
        foreach (var (name, tensor) in tensors)
        {
            long bytes = tensor.NumberOfElements * tensor.ElementSize;
            header[name] = new Dictionary<string, object>
            {
                ["dtype"] = SafeTensorsFile.DTypeCode(tensor.dtype),
                ["shape"] = tensor.shape,
                ["data_offsets"] = new[] { offset, offset + bytes },
            };
            offset += bytes;
        }
        var json = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(header));
        int padded = (json.Length + 7) / 8 * 8;

        // Through a temporary file renamed into place: a crash never leaves half a checkpoint where a whole one was.
        Data.AtomicFile.Write(path, stream =>
        {
            stream.Write(BitConverter.GetBytes((ulong)padded));
            stream.Write(json);
            for (int i = json.Length; i < padded; i++) stream.WriteByte((byte)' ');
            foreach (var (_, tensor) in tensors)
            {
                using var cpu = tensor.detach().cpu().contiguous();
                foreach (var slice in SafeTensorsFile.RowChunks(cpu))
                    using (slice) stream.Write(slice.bytes);
            }
        });
    }
}
