using Lifeline.Recovery.Plan;

namespace Lifeline.Recovery.Audit;

/// <summary>The measured history of backups and restores, read from the audit log (what <c>plan check</c> and
/// <c>status</c> use). Records are read once, on first use.</summary>
public sealed class AuditBackupHistory : IBackupHistory
{
    private readonly IAuditLog _log;
    private IReadOnlyList<AuditRecord>? _records;

    /// <summary>A history over <paramref name="log"/>.</summary>
    public AuditBackupHistory(IAuditLog log) => _log = log;

    /// <summary>Every record, oldest first (read once).</summary>
    public async ValueTask<IReadOnlyList<AuditRecord>> RecordsAsync(CancellationToken cancellationToken)
    {
        if (_records is null)
        {
            var list = new List<AuditRecord>();
            await foreach (var r in _log.ReadAsync(cancellationToken))
            {
                list.Add(r);
            }

            _records = list;
        }

        return _records;
    }

    /// <inheritdoc/>
    public async ValueTask<IReadOnlyList<BackupMeasurement>> GetRecentBackupsAsync(string component, int limit, CancellationToken cancellationToken) =>
        (await RecordsAsync(cancellationToken))
            .Where(r => r.Action == AuditActions.Backup && r.Component == component && r.Outcome == AuditOutcomes.Ok)
            .OrderByDescending(r => r.Time)
            .Take(limit)
            .Select(r => new BackupMeasurement
            {
                StartedAt = r.Time,
                Backup = r.BackupDuration ?? r.Duration,
                Copy = r.CopyDuration ?? TimeSpan.Zero,
                Verification = r.VerifyDuration ?? TimeSpan.Zero,
                Bytes = r.Bytes ?? 0,
            })
            .ToList();

    /// <inheritdoc/>
    public async ValueTask<IReadOnlyList<RestoreMeasurement>> GetRecentRestoresAsync(string component, int limit, CancellationToken cancellationToken) =>
        (await RecordsAsync(cancellationToken))
            .Where(r => r.Action == AuditActions.Restore && r.Component == component && r.Outcome == AuditOutcomes.Ok && r.Bytes is > 0)
            .OrderByDescending(r => r.Time)
            .Take(limit)
            .Select(r => new RestoreMeasurement { StartedAt = r.Time, Bytes = r.Bytes!.Value, Duration = r.Duration })
            .ToList();
}
