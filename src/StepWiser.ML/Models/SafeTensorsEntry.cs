namespace StepWiser.ML.Models;

/// <summary>One tensor's entry in a safetensors header.</summary>
/// <param name="Name">Tensor name, e.g. <c>model.norm.weight</c>.</param>
/// <param name="DType">Safetensors dtype code (<c>F32</c>, <c>BF16</c>, ...).</param>
/// <param name="Shape">Tensor shape.</param>
/// <param name="Begin">Start of the data, relative to the data section.</param>
/// <param name="End">End (exclusive) of the data, relative to the data section.</param>
public sealed record SafeTensorsEntry(string Name, string DType, long[] Shape, long Begin, long End);
