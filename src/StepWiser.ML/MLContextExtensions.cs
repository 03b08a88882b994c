using Microsoft.ML;

namespace StepWiser.ML;

/// <summary>Entry point of the StepWiser stages on an <see cref="MLContext"/>.</summary>
public static class MLContextExtensions
{
    /// <summary>The StepWiser catalog: <c>mlContext.StepWiser().Transforms.ChunkSteps(...)</c> and the other stages.</summary>
    public static StepWiserCatalog StepWiser(this MLContext mlContext)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        return new StepWiserCatalog(mlContext);
    }
}
