using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Lifeline.Scoring.Sinks;

/// <summary>The prediction log: every served prediction, queued without waiting, written in the background.</summary>
internal sealed class PredictionLog : IHostedService
{
    private readonly BackgroundBatcher<PredictionRecord>? _batcher;

    public PredictionLog(IPredictionSink sink, ScoringOptions options, TimeProvider timeProvider, ScoringMetrics metrics, ILogger<PredictionLog> logger)
    {
        if (sink is NullPredictionSink)
        {
            return;
        }

        _batcher = new BackgroundBatcher<PredictionRecord>("predictions", sink.AppendAsync, options.SinkCapacity, options.SinkFlushInterval,
            options.SinkMaxBatch, timeProvider, logger);
        _batcher.OnDropped += n => metrics.SinkDropped.WithLabels("predictions").Inc(n);
    }

    public bool Enabled => _batcher is not null;

    public long Dropped => _batcher?.Dropped ?? 0;

    public long Written => _batcher?.Written ?? 0;

    public void Write(PredictionRecord record) => _batcher?.TryEnqueue(record);

    public Task StartAsync(CancellationToken cancellationToken) => _batcher?.StartAsync(cancellationToken) ?? Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => _batcher?.StopAsync(cancellationToken) ?? Task.CompletedTask;
}

/// <summary>The audit log: every admin or automatic action; queued with back-pressure (never dropped), written in the background.</summary>
internal sealed class AuditLog : IHostedService
{
    private readonly BackgroundBatcher<AuditRecord> _batcher;

    public AuditLog(IAuditSink sink, ScoringOptions options, TimeProvider timeProvider, ILogger<AuditLog> logger)
    {
        _batcher = new BackgroundBatcher<AuditRecord>("audit_logs", sink.AppendAsync, 10_000, options.SinkFlushInterval, 1000, timeProvider, logger);
    }

    public long Written => _batcher.Written;

    public ValueTask WriteAsync(AuditRecord record, CancellationToken cancellationToken) => _batcher.EnqueueAsync(record, cancellationToken);

    public Task StartAsync(CancellationToken cancellationToken) => _batcher.StartAsync(cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => _batcher.StopAsync(cancellationToken);
}

/// <summary>Audit records when no sink directory is configured: kept in memory (the last 1000) and visible in logs.</summary>
internal sealed class MemoryAuditSink : IAuditSink
{
    private readonly Lock _gate = new();
    private readonly Queue<AuditRecord> _records = new();

    public IReadOnlyList<AuditRecord> Records
    {
        get
        {
            lock (_gate)
            {
                return [.. _records];
            }
        }
    }

    public Task AppendAsync(IReadOnlyList<AuditRecord> batch, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            foreach (var record in batch)
            {
                _records.Enqueue(record);
                if (_records.Count > 1000)
                {
                    _records.Dequeue();
                }
            }
        }

        return Task.CompletedTask;
    }
}
