using Lifeline.Lake;
using Lifeline.Lake.LeadScoring;
using Lifeline.Scoring.Lake;
using Lifeline.Scoring.Sinks;
using Lifeline.Storage;

namespace Lifeline.Scoring.Monitoring;

/// <summary>Where the service's monitoring samples go (a <c>monitoring_metrics</c> Delta table).</summary>
internal interface IMonitoringSink
{
    /// <summary>Appends the samples durably; throws on failure (they are then retried from the spool).</summary>
    Task AppendAsync(IReadOnlyList<MonitoringMetricRecord> batch, CancellationToken cancellationToken);
}

/// <summary>No recording (the default when no metrics table is configured).</summary>
internal sealed class NullMonitoringSink : IMonitoringSink
{
    public Task AppendAsync(IReadOnlyList<MonitoringMetricRecord> batch, CancellationToken cancellationToken) => Task.CompletedTask;
}

/// <summary>
/// Samples to a <c>monitoring_metrics</c> Delta table anywhere, created with the lake's schema when missing; one commit
/// per drained batch carrying a <c>txn</c> action (appId <c>lifeline-scoring/SPOOL-ID</c>, version = spool position),
/// so a batch replayed after a crash is never written twice.
/// </summary>
internal sealed class DeltaMonitoringSink(DeltaTable table) : IMonitoringSink, IPositionedSink<MonitoringMetricRecord>
{
    private volatile bool _created;

    public DeltaTable Table => table;

    /// <summary>The table at <paramref name="location"/> (a path, <c>s3://</c> or <c>azure://</c>; credentials from the environment).</summary>
    /// <exception cref="ArgumentException">The location is malformed or its credentials are missing (one line saying what to do).</exception>
    public static DeltaMonitoringSink Open(string location) =>
        new(new DeltaTable(ObjectStores.Open(location.Contains("://", StringComparison.Ordinal) ? location : Path.GetFullPath(location)), ""));

    public Task AppendAsync(IReadOnlyList<MonitoringMetricRecord> batch, CancellationToken cancellationToken) => AppendAsync(batch, null, cancellationToken);

    public Task AppendAsync(IReadOnlyList<MonitoringMetricRecord> batch, string spoolId, long endPosition, CancellationToken cancellationToken) =>
        AppendAsync(batch, new WriteOptions { AppId = DeltaSpoolPositions.AppId(spoolId), TxnVersion = endPosition }, cancellationToken);

    public async Task<long?> GetCommittedPositionAsync(string spoolId, CancellationToken cancellationToken)
    {
        await EnsureCreatedAsync(cancellationToken);
        return await DeltaSpoolPositions.GetAsync(table, spoolId, cancellationToken);
    }

    private async Task AppendAsync(IReadOnlyList<MonitoringMetricRecord> batch, WriteOptions? options, CancellationToken cancellationToken)
    {
        if (batch.Count == 0)
        {
            return;
        }

        await EnsureCreatedAsync(cancellationToken);
        await LeadScoringLake.AppendMonitoringMetricsAsync(table, batch, options, cancellationToken);
    }

    private async Task EnsureCreatedAsync(CancellationToken cancellationToken)
    {
        if (!_created)
        {
            await LeadScoringLake.EnsureCreatedAsync(table, "monitoring_metrics", cancellationToken);
            _created = true;
        }
    }
}
