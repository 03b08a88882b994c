using System.Reflection;
using Microsoft.ML;
using Microsoft.ML.Runtime;

namespace StepWiser.ML;

/// <summary>
/// What a stage takes from its <see cref="MLContext"/> besides schema shapes: stage messages through the context's
/// <see cref="MLContext.Log"/> (source "StepWiser.{stage}"), and cancellation by ML.NET's own cancellation of the context
/// (what AutoML calls on a trial's context) as well as by the caller's token.
/// </summary>
internal static class ContextServices
{

    /// <summary>
    /// ML.NET keeps its cancellation flag on the context's environment (the private field <c>_env</c>) behind an interface
    /// it keeps internal (<c>ICancelable.IsCanceled</c>; set by <c>MLContext.CancelExecution</c>, public in
    /// Microsoft.ML.Experimental and called by AutoML on a trial's context). Both are found by reflection, once; a test
    /// (JudgeTrainerFitTests) fails if a future ML.NET moves them.
    /// </summary>
    private static readonly FieldInfo? Environment = typeof(MLContext).GetField("_env", BindingFlags.NonPublic | BindingFlags.Instance);

    private static readonly PropertyInfo? CanceledFlag = Environment?.FieldType.GetInterfaces()
        .FirstOrDefault(i => i.FullName == "Microsoft.ML.Runtime.ICancelable")?.GetProperty("IsCanceled");

    /// <summary>How often a running stage looks at the context's cancellation flag.</summary>
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(50);

    /// <summary>Writes <paramref name="message"/> to the context's log as an Info message of <paramref name="stage"/>.</summary>
    public static void Info(MLContext? mlContext, string stage, string message)
    {
        if (mlContext is null) return;
        using var channel = ((IChannelProvider)mlContext).Start("StepWiser." + stage);
        channel.Info(MessageSensitivity.None, "{0}", message);
    }

    /// <summary>True once ML.NET cancelled the context's execution (false when ML.NET's flag cannot be read).</summary>
    public static bool IsCanceled(MLContext? mlContext) => mlContext is not null && CanceledFlag is not null && CanceledFlag.GetValue(Environment!.GetValue(mlContext)) is true;

    /// <summary>
    /// Runs <paramref name="work"/> with a token that fires when <paramref name="token"/> does or when the context is
    /// cancelled (looked at every 50 ms while the work runs); throws <see cref="OperationCanceledException"/> at once
    /// when the context is already cancelled.
    /// </summary>
    public static T Run<T>(MLContext? mlContext, CancellationToken token, CancellationToken other, Func<CancellationToken, T> work)
    {
        if (!other.CanBeCanceled) return Run(mlContext, token, work);
        if (!token.CanBeCanceled) return Run(mlContext, other, work);
        using var both = CancellationTokenSource.CreateLinkedTokenSource(token, other);
        return Run(mlContext, both.Token, work);
    }

    /// <summary>As above, with one token.</summary>
    public static T Run<T>(MLContext? mlContext, CancellationToken token, Func<CancellationToken, T> work)
    {
        token.ThrowIfCancellationRequested();
        if (mlContext is null) return work(token);
        if (IsCanceled(mlContext)) throw new OperationCanceledException("the MLContext's execution was cancelled (ML.NET cancelled it)");
        using var source = CancellationTokenSource.CreateLinkedTokenSource(token);
        using var timer = new Timer(_ =>
        {
            if (IsCanceled(mlContext))
                // On the timer's thread: nothing may escape (a callback's exception would end the process).
                try { source.Cancel(); } catch (Exception) { }
        }, null, PollInterval, PollInterval);
        try
        {
            return work(source.Token);
        }
        catch (OperationCanceledException) when (!token.IsCancellationRequested && IsCanceled(mlContext))
        {
            throw new OperationCanceledException("the MLContext's execution was cancelled (ML.NET cancelled it)");
        }
    }
}

/// <summary>What stops a stage's lazy transform: the catalog's token and the context's own cancellation.</summary>
internal readonly record struct StageCancellation(MLContext? MLContext, CancellationToken Token)
{
    /// <summary>Runs one batch of work under both.</summary>
    public T Run<T>(Func<CancellationToken, T> work) => ContextServices.Run(MLContext, Token, work);
}

/// <summary>A stage whose lazy transform obeys a <see cref="StageCancellation"/> (set by the catalog or the pipeline loader that made it).</summary>
internal interface ICancellableStage
{
    StageCancellation Cancellation { get; set; }
}
