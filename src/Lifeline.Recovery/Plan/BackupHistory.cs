namespace Lifeline.Recovery.Plan;

/// <summary>One measured backup of a component.</summary>
public sealed record BackupMeasurement
{
    /// <summary>When the backup started.</summary>
    public required DateTimeOffset StartedAt { get; init; }

    /// <summary>Taking the snapshot into the first location.</summary>
    public required TimeSpan Backup { get; init; }

    /// <summary>Copying it to every other location of its policy, all copies together.</summary>
    public TimeSpan Copy { get; init; }

    /// <summary>Verifying it in every location.</summary>
    public TimeSpan Verification { get; init; }

    /// <summary>The size of the component's data (what a restore has to write).</summary>
    public long Bytes { get; init; }
}

/// <summary>One measured restore of a component.</summary>
public sealed record RestoreMeasurement
{
    /// <summary>When the restore started.</summary>
    public required DateTimeOffset StartedAt { get; init; }

    /// <summary>How much it restored.</summary>
    public required long Bytes { get; init; }

    /// <summary>How long it took.</summary>
    public required TimeSpan Duration { get; init; }
}

/// <summary>What the history of backups and restores says about a component; <see cref="PlanChecker"/> uses it
/// instead of its estimates where there is some. Only successful runs are returned.</summary>
public interface IBackupHistory
{
    /// <summary>The newest <paramref name="limit"/> successful backups of <paramref name="component"/>, newest first.</summary>
    ValueTask<IReadOnlyList<BackupMeasurement>> GetRecentBackupsAsync(string component, int limit, CancellationToken cancellationToken);

    /// <summary>The newest <paramref name="limit"/> successful restores (or restore tests) of <paramref name="component"/>, newest first.</summary>
    ValueTask<IReadOnlyList<RestoreMeasurement>> GetRecentRestoresAsync(string component, int limit, CancellationToken cancellationToken);
}

/// <summary>A history with nothing in it: every number is an estimate.</summary>
public sealed class EmptyBackupHistory : IBackupHistory
{
    /// <summary>The one instance.</summary>
    public static readonly EmptyBackupHistory Instance = new();

    private EmptyBackupHistory()
    {
    }

    /// <inheritdoc/>
    public ValueTask<IReadOnlyList<BackupMeasurement>> GetRecentBackupsAsync(string component, int limit, CancellationToken cancellationToken) => new([]);

    /// <inheritdoc/>
    public ValueTask<IReadOnlyList<RestoreMeasurement>> GetRecentRestoresAsync(string component, int limit, CancellationToken cancellationToken) => new([]);
}

/// <summary>Options of <see cref="PlanChecker"/>.</summary>
public sealed record PlanCheckOptions
{
    /// <summary>Locations each policy must name (default 3: primary, secondary, tertiary).</summary>
    public int RequiredLocations { get; init; } = 3;

    /// <summary>Backup time assumed when there is no history (default 5 minutes).</summary>
    public TimeSpan BackupEstimate { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Copy time assumed per location copied to when there is no history (default 5 minutes).</summary>
    public TimeSpan CopyEstimate { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Verification time assumed when there is no history (default 5 minutes).</summary>
    public TimeSpan VerificationEstimate { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>How long an on-change policy gathers changes when it says no <c>coalesce</c> (default 1 minute).</summary>
    public TimeSpan DefaultCoalesce { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>How many recent runs the history is asked for (default 20); the worst of them counts.</summary>
    public int HistoryDepth { get; init; } = 20;

    /// <summary>How far ahead cron schedules are walked to find their longest gap (default 366 days).</summary>
    public TimeSpan ScheduleHorizon { get; init; } = TimeSpan.FromDays(366);

    /// <summary>The environment <c>${VAR}</c> references of the sources are looked up in (default the process environment).</summary>
    public IReadOnlyDictionary<string, string?>? Environment { get; init; }
}
