using Microsoft.ML;
using static TorchSharp.torch;

namespace StepWiser.ML.Models;

/// <summary>
/// Where a model runs when an ML.NET user chose it through the <see cref="MLContext"/>: the device given explicitly
/// first, then <see cref="MLContext.GpuDeviceId"/> (with <see cref="MLContext.FallbackToCpu"/>), then the CPU.
/// </summary>
internal static class ContextDevice
{
    /// <summary>
    /// The device <see cref="MLContext.GpuDeviceId"/> asks for: null when it is not set; <c>cuda:N</c> when that GPU is
    /// there; the CPU when it is not and <see cref="MLContext.FallbackToCpu"/> is set; otherwise an
    /// <see cref="InvalidOperationException"/> naming the setting (no work has started).
    /// </summary>
    public static Device? Of(MLContext? context)
    {
        if (context?.GpuDeviceId is not { } id) return null;
        if (id < 0) throw new InvalidOperationException($"MLContext.GpuDeviceId is {id}; a GPU id is 0 or more (null runs on the CPU)");
        var available = cuda.is_available() ? cuda.device_count() : 0;
        if (id < available) return new Device(TorchSharp.DeviceType.CUDA, id);
        if (context.FallbackToCpu) return CPU;
        throw new InvalidOperationException(available == 0
            ? $"MLContext.GpuDeviceId is {id} but CUDA is not available (the CPU build of TorchSharp, or no GPU); set MLContext.FallbackToCpu to run on the CPU instead"
            : $"MLContext.GpuDeviceId is {id} but this machine has {available} CUDA device(s), numbered from 0; set MLContext.FallbackToCpu to run on the CPU instead");
    }

    /// <summary>The device to use: <paramref name="given"/> when set, else the context's (<see cref="Of"/>), else the CPU.</summary>
    public static Device Choose(Device? given, MLContext? context) => given ?? Of(context) ?? CPU;
}
