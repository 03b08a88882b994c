using StepWiser.ML.Generation;
using StepWiser.ML.Models;

namespace StepWiser.ML.Samples.Commands;

/// <summary>A policy a command opened (<see cref="PolicyOptions.OpenAsync"/>): the generator, what identifies it, and what to dispose.</summary>
/// <param name="Generator">Generates: the local engine, one server's client, or a pool of servers.</param>
/// <param name="Identity">The policy's identity for stores and metadata: the checkpoint's fingerprint, or the served model and revision.</param>
/// <param name="Description">Where it runs, for the start-up line.</param>
/// <param name="Bundle">The local model, or null.</param>
/// <param name="Owned">Clients to dispose with it.</param>
internal sealed record OpenedPolicy(ITextGenerator Generator, string Identity, string Description, ModelBundle? Bundle, IReadOnlyList<IDisposable> Owned) : IDisposable
{
    /// <summary>The pool of servers, when there are several.</summary>
    public EndpointPool? Pool => Generator as EndpointPool;

    /// <inheritdoc />
    public void Dispose()
    {
        Bundle?.Dispose();
        foreach (var o in Owned) o.Dispose();
    }
}
