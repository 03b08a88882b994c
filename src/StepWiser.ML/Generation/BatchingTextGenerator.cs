using System.Threading.Channels;

namespace StepWiser.ML.Generation;

/// <summary>
/// Serialises concurrent callers of a generator that must not run in parallel (a local model) and coalesces their
/// requests into batches: calls arriving within <paramref name="maxWait"/> of each other, up to
/// <paramref name="maxBatchRequests"/> requests, go to the inner generator as one call. This is what lets a local
/// server answer many HTTP clients with batched decoding.
/// </summary>
/// <param name="inner">The generator to batch for; it sees one call at a time.</param>
/// <param name="maxBatchRequests">Most requests per inner call.</param>
/// <param name="maxWait">How long the first waiting call waits for company.</param>
public sealed class BatchingTextGenerator(ITextGenerator inner, int maxBatchRequests = 64, TimeSpan? maxWait = null) : ITextGenerator, IAsyncDisposable
{
    private readonly Channel<Pending> _queue = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleReader = true });
    private readonly TimeSpan _maxWait = maxWait ?? TimeSpan.FromMilliseconds(5);
    private readonly int _maxBatch = maxBatchRequests >= 1 ? maxBatchRequests : throw new ArgumentOutOfRangeException(nameof(maxBatchRequests), maxBatchRequests, "must be at least 1");
    private Task? _worker;
    private readonly Lock _start = new();

    /// <inheritdoc />
    public Task<IReadOnlyList<GenerationResult>> GenerateAsync(IReadOnlyList<GenerationRequest> requests, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(requests);
        lock (_start) _worker ??= Task.Run(RunAsync);
        var pending = new Pending(requests, cancellationToken);
        if (cancellationToken.CanBeCanceled)
        {
            var registration = cancellationToken.Register(() => pending.Completion.TrySetCanceled(cancellationToken));
            pending.Completion.Task.ContinueWith(_ => registration.Dispose(), TaskScheduler.Default);
        }
        if (!_queue.Writer.TryWrite(pending)) throw new ObjectDisposedException(nameof(BatchingTextGenerator));
        return pending.Completion.Task;
    }

    /// <summary>Stops accepting calls and waits for the ones already queued.</summary>
    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        if (_worker is not null) await _worker.ConfigureAwait(false);
    }

    private async Task RunAsync()
    {
        var reader = _queue.Reader;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            var batch = new List<Pending>();
            var count = 0;
            using var window = new CancellationTokenSource(_maxWait);
            try
            {
                while (count < _maxBatch)
                {
                    if (!reader.TryRead(out var next))
                    {
                        if (!await reader.WaitToReadAsync(window.Token).ConfigureAwait(false)) break;
                        continue;
                    }
                    if (next.Completion.Task.IsCompleted) continue; // cancelled while queued
                    batch.Add(next);
                    count += next.Requests.Count;
                }
            }
            catch (OperationCanceledException) when (window.IsCancellationRequested)
            {
                // The batching window closed; run what we have.
            }
            if (batch.Count > 0) await RunBatchAsync(batch).ConfigureAwait(false);
        }
    }

    private async Task RunBatchAsync(List<Pending> batch)
    {
        var all = batch.SelectMany(p => p.Requests).ToArray();
        try
        {
            // A caller that gives up gets its cancellation at once; the batch it shared with others runs on.
            var results = await inner.GenerateAsync(all, CancellationToken.None).ConfigureAwait(false);
            var offset = 0;
            foreach (var p in batch)
            {
                p.Completion.TrySetResult(results.Skip(offset).Take(p.Requests.Count).ToArray());
                offset += p.Requests.Count;
            }
        }
        catch (Exception e)
        {
            foreach (var p in batch) p.Completion.TrySetException(e);
        }
    }

    private sealed record Pending(IReadOnlyList<GenerationRequest> Requests, CancellationToken CancellationToken)
    {
        public TaskCompletionSource<IReadOnlyList<GenerationResult>> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
