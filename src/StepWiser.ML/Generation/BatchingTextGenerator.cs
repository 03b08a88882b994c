using System.Threading.Channels;

namespace StepWiser.ML.Generation;

/// <summary>
/// Serialises concurrent callers of a generator that must not run in parallel (a local model) and coalesces their
/// requests into batches: calls arriving within <paramref name="maxWait"/> of each other, up to
/// <paramref name="maxBatchRequests"/> requests, go to the inner generator as one call. This is what lets a local
/// server answer many HTTP clients with batched decoding. When a shared batch fails, each caller's requests run again
/// alone, so one caller's bad request fails that caller only; when every caller of a batch has cancelled, the batch is
/// cancelled too.
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
        // A caller that gives up gets its cancellation at once; the batch it shared with others runs on, and stops
        // only when every caller in it has given up (so an abandoned large request does not hold up the next one).
        using var allGone = new CancellationTokenSource();
        var gone = 0;
        var registrations = batch.Select(p => p.CancellationToken.Register(() => { if (Interlocked.Increment(ref gone) == batch.Count) allGone.Cancel(); })).ToArray();
        try
        {
            var results = await inner.GenerateAsync(all, allGone.Token).ConfigureAwait(false);
            var offset = 0;
            foreach (var p in batch)
            {
                p.Completion.TrySetResult(results.Skip(offset).Take(p.Requests.Count).ToArray());
                offset += p.Requests.Count;
            }
        }
        catch (OperationCanceledException) when (allGone.IsCancellationRequested)
        {
            foreach (var p in batch) p.Completion.TrySetCanceled(p.CancellationToken);
        }
        catch (Exception e)
        {
            if (batch.Count == 1) { batch[0].Completion.TrySetException(e); return; }
            // One caller's bad request must not fail the others: run each caller alone, so only the bad one fails.
            foreach (var p in batch)
            {
                if (p.Completion.Task.IsCompleted) continue;
                try { p.Completion.TrySetResult(await inner.GenerateAsync(p.Requests, p.CancellationToken).ConfigureAwait(false)); }
                catch (OperationCanceledException) when (p.CancellationToken.IsCancellationRequested) { p.Completion.TrySetCanceled(p.CancellationToken); }
                catch (Exception alone) { p.Completion.TrySetException(alone); }
            }
        }
        finally
        {
            foreach (var r in registrations) r.Dispose();
        }
    }

    private sealed record Pending(IReadOnlyList<GenerationRequest> Requests, CancellationToken CancellationToken)
    {
        public TaskCompletionSource<IReadOnlyList<GenerationResult>> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
