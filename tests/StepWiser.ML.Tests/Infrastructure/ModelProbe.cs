using StepWiser.ML.Models;
using static TorchSharp.torch;

namespace StepWiser.ML.Tests.Infrastructure;

/// <summary>A fixed input whose logits tell two models' weights apart.</summary>
internal static class ModelProbe
{
    public static float[] Logits(CausalLM model)
    {
        using var noGrad = no_grad();
        using var ids = tensor(new long[] { 5, 17, 42, 99, 3 }).unsqueeze(0);
        return model.Forward(ids).data<float>().ToArray();
    }
}
