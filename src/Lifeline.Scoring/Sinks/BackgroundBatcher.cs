using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Lifeline.Scoring.Sinks;

/// <summary>
/// Moves records off the request path: a bounded channel drained by one background loop that appends everything
/// queued every flush interval, and everything left on graceful shutdown. <see cref="TryEnqueue"/> never waits:
/// when the channel is full the record is dropped and counted (<see cref="Dropped"/>, a metric and a warning),
/// because a scoring request must not wait on the lake. A failed append is retried with the same batch (nothing is
/// dropped on failure) until shutdown. After a crash, what was queued since the last flush (at most one flush
/// interval) is lost.
/// </summary>
internal sealed class BackgroundBatcher<T> : IHostedService, IDisposable
{
    private readonly Channel<T> _channel;
    private readonly Func<IReadOnlyList<T>, CancellationToken, Task> _append;
    private readonly TimeSpan _flushInterval;
    private readonly int _maxBatch;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly string _name;
    private long _dropped;
    private long _written;

    public BackgroundBatcher(
        string name, Func<IReadOnlyList<T>, CancellationToken, Task> append, int capacity, TimeSpan flushInterval, int maxBatch,
        TimeProvider timeProvider, ILogger logger)
    {
        _name = name;
        _append = append;
        _flushInterval = flushInterval;
        _maxBatch = maxBatch;
        _timeProvider = timeProvider;
        _logger = logger;
        _channel = Channel.CreateBounded<T>(new BoundedChannelOptions(capacity)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = true,
            SingleWriter = false,
        });
    }

    /// <summary>Records dropped because the queue was full (or the batcher had stopped).</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Records appended to the sink.</summary>
    public long Written => Interlocked.Read(ref _written);

    /// <summary>Records waiting in the queue.</summary>
    public int Queued => _channel.Reader.Count;

    /// <summary>Raised with the number of records dropped, for the metric.</summary>
    public event Action<long>? OnDropped;

    /// <summary>Queues a record without waiting; returns <c>false</c> (and counts a drop) when the queue is full.</summary>
    public bool TryEnqueue(T record)
    {
        if (_channel.Writer.TryWrite(record))
        {
            return true;
        }

        var dropped = Interlocked.Increment(ref _dropped);
        OnDropped?.Invoke(1);
        if ((dropped & (dropped - 1)) == 0)
        {
            Log.SinkDropped(_logger, _name, dropped);
        }

        return false;
    }

    /// <summary>Queues a record, waiting for room (for rare records that must not be dropped, e.g. audit).</summary>
    public ValueTask EnqueueAsync(T record, CancellationToken cancellationToken) => _channel.Writer.WriteAsync(record, cancellationToken);

    private readonly CancellationTokenSource _stopping = new();
    private PeriodicTimer? _timer;
    private Task? _loop;

    /// <summary>Starts the flush loop; the timer exists when this returns (so a fake clock can drive it at once).</summary>
    public Task StartAsync(CancellationToken cancellationToken)
    {
        _timer = new PeriodicTimer(_flushInterval, _timeProvider);
        _loop = RunAsync(_timer, _stopping.Token);
        return Task.CompletedTask;
    }

    /// <summary>Stops taking records and appends everything still queued; returns when it is written.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        if (_loop is null)
        {
            _channel.Writer.TryComplete();
            await FlushAsync(CancellationToken.None);
            return;
        }

        await _loop.WaitAsync(cancellationToken);
    }

    private async Task RunAsync(PeriodicTimer timer, CancellationToken stoppingToken)
    {
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                await FlushAsync(stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // graceful shutdown: fall through to the final drain
        }

        _channel.Writer.TryComplete();
        await FlushAsync(CancellationToken.None);
    }

    public void Dispose()
    {
        _timer?.Dispose();
        _stopping.Dispose();
    }

    /// <summary>
    /// Appends everything queued now, in batches of at most the maximum batch size: what is queued when the flush
    /// starts, not what arrives during its appends, which waits for the next tick (one append per flush interval
    /// under steady load, not one after another; see SpoolDrainer.DrainAsync).
    /// </summary>
    internal async Task FlushAsync(CancellationToken cancellationToken)
    {
        var pending = _channel.Reader.CanCount ? _channel.Reader.Count : int.MaxValue;
        var batch = new List<T>(Math.Min(_maxBatch, Math.Max(16, pending)));
        while (true)
        {
            batch.Clear();
            while (batch.Count < _maxBatch && pending > 0 && _channel.Reader.TryRead(out var record))
            {
                batch.Add(record);
                pending--;
            }

            if (batch.Count == 0)
            {
                return;
            }

            await AppendWithRetryAsync(batch, cancellationToken);
        }
    }

    private async Task AppendWithRetryAsync(List<T> batch, CancellationToken cancellationToken)
    {
        var delay = TimeSpan.FromMilliseconds(100);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                // The batch has left the queue: append it to the end even when shutdown starts meanwhile.
                await _append(batch, CancellationToken.None);
                Interlocked.Add(ref _written, batch.Count);
                return;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                Log.SinkAppendFailed(_logger, _name, batch.Count, attempt, ex);
                if (cancellationToken.IsCancellationRequested || attempt >= 10)
                {
                    Interlocked.Add(ref _dropped, batch.Count);
                    OnDropped?.Invoke(batch.Count);
                    return;
                }

                try
                {
                    await Task.Delay(delay, _timeProvider, cancellationToken);
                }
                catch (OperationCanceledException)
                {
                    // shutdown: one more attempt, then give up
                }

                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(5).Ticks));
            }
        }
    }
}
