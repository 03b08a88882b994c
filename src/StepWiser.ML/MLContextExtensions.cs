using Microsoft.ML;

namespace StepWiser.ML;

/// <summary>Entry point of the StepWiser stages on an <see cref="MLContext"/>.</summary>
public static class MLContextExtensions
{
    /// <summary>The StepWiser catalog: <c>mlContext.StepWiser().Transforms.ChunkSteps(...)</c> and the other stages.</summary>
    public static StepWiserCatalog StepWiser(this MLContext mlContext)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        return new StepWiserCatalog(mlContext, CancellationToken.None);
    }

    /// <summary>
    /// The StepWiser stages of this context, whose every fit and transform stops when <paramref name="cancellationToken"/>
    /// fires (between two training steps, or before the next batch of model calls finishes) with an
    /// <see cref="OperationCanceledException"/>. A lazy transform's token is the one of the catalog that made its stage.
    /// </summary>
    public static StepWiserCatalog StepWiser(this MLContext mlContext, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        return new StepWiserCatalog(mlContext, cancellationToken);
    }
}
