using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Lifeline.Lake;

/// <summary>When and how <see cref="TableCompactor"/> compacts.</summary>
public sealed record TableCompactionOptions
{
    /// <summary>How often the tables are looked at. Default: 10 minutes.</summary>
    public TimeSpan Interval { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>A table is compacted when it has at least this many files smaller than <see cref="MinFileSize"/>. Default: 50 (Delta's auto-compaction minimum).</summary>
    public int SmallFileThreshold { get; init; } = 50;

    /// <summary>The size compacted files aim for. Default: 128 MiB.</summary>
    public long TargetFileSize { get; init; } = OptimizeOptions.DefaultTargetFileSize;

    /// <summary>Files at or above this size are left alone, so that a file is rewritten only until it reaches it. Default: 32 MiB.</summary>
    public long MinFileSize { get; init; } = 32L * 1024 * 1024;

    /// <summary>
    /// After each table's compaction, its expired log files are cleaned up (<see cref="DeltaTable.CleanupLogAsync"/>,
    /// <c>delta.logRetentionDuration</c>) and then the files it no longer references are vacuumed
    /// (<see cref="DeltaTable.VacuumAsync"/>, <c>delta.deletedFileRetentionDuration</c>), each by the table's own
    /// retention. Default: true.
    /// </summary>
    public bool Vacuum { get; init; } = true;
}

/// <summary>What one round of <see cref="TableCompactor"/> did for one table: the compaction (<paramref name="Result"/>,
/// null when under the threshold or failed) and the retention pass (<paramref name="LogFilesDeleted"/> by log
/// clean-up, <paramref name="Vacuum"/>: null when off or failed).</summary>
public sealed record CompactionOutcome(string Table, int SmallFiles, OptimizeResult? Result, string? Error, int LogFilesDeleted = 0, VacuumResult? Vacuum = null);

/// <summary>
/// Unattended compaction of tables that are appended to often (the scoring service's predictions, one commit a
/// second): every <see cref="TableCompactionOptions.Interval"/>, each table with at least
/// <see cref="TableCompactionOptions.SmallFileThreshold"/> small files is optimized (<see cref="DeltaTable.OptimizeAsync"/>)
/// and a checkpoint of the new version is written at once, so the next reader and the next checkpoint hold the few
/// compacted files instead of the many small ones. Then (<see cref="TableCompactionOptions.Vacuum"/>) each table's
/// retention pass runs: log clean-up first, VACUUM after, each by the table's own retention properties, so the files
/// a compaction removed leave the disk once <c>delta.deletedFileRetentionDuration</c> has passed (a replica copies
/// what the source still has: <see cref="Recovery.TableReplicator"/>). A round that does not complete for
/// one table is logged and tried again the next round (a concurrent commit that conflicts at Information, event
/// 3011; a store error or a damaged table at Warning, event 3010; a retention pass that fails at Warning, event 3012);
/// the other tables go on. A checkpoint that fails after the compaction committed is event 3001: the compaction stands.
/// </summary>
public sealed class TableCompactor : IAsyncDisposable
{
    private readonly IReadOnlyList<KeyValuePair<string, DeltaTable>> _tables;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private CancellationTokenSource? _stop;
    private Task? _loop;
    private int _rounds;

    /// <summary>Creates the compactor (nothing runs until <see cref="Start"/>).</summary>
    public TableCompactor(IEnumerable<KeyValuePair<string, DeltaTable>> tables, TableCompactionOptions? options = null, TimeProvider? time = null, ILogger? logger = null)
    {
        _tables = [.. tables];
        Options = options ?? new TableCompactionOptions();
        if (Options.Interval <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(options), Options.Interval, "the compaction interval must be positive");
        }

        _time = time ?? TimeProvider.System;
        _logger = logger ?? NullLogger.Instance;
    }

    /// <summary>The options.</summary>
    public TableCompactionOptions Options { get; }

    /// <summary>Rounds completed.</summary>
    public int Rounds => Volatile.Read(ref _rounds);

    /// <summary>The last round's outcomes, one per table.</summary>
    public IReadOnlyList<CompactionOutcome> LastRound { get; private set; } = [];

    /// <summary>Raised after each round (from the compactor's task).</summary>
    public event Action<IReadOnlyList<CompactionOutcome>>? RoundCompleted;

    /// <summary>Starts the timer: the first round runs one interval from now.</summary>
    public void Start()
    {
        if (_loop is not null)
        {
            return;
        }

        _stop = new CancellationTokenSource();
        var timer = new PeriodicTimer(Options.Interval, _time); // created here: the interval counts from Start
        _loop = Task.Run(() => LoopAsync(timer, _stop.Token));
    }

    private async Task LoopAsync(PeriodicTimer timer, CancellationToken ct)
    {
        using var _ = timer;
        try
        {
            while (await timer.WaitForNextTickAsync(ct))
            {
                await RunOnceAsync(ct);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // stopping
        }
    }

    /// <summary>One round: compacts (and checkpoints) every table over the threshold.</summary>
    public async Task<IReadOnlyList<CompactionOutcome>> RunOnceAsync(CancellationToken cancellationToken = default)
    {
        var outcomes = new List<CompactionOutcome>();
        foreach (var (name, table) in _tables)
        {
            var small = 0;
            try
            {
                small = await table.CountSmallFilesAsync(Options.MinFileSize, cancellationToken);
                if (small < Options.SmallFileThreshold)
                {
                    outcomes.Add(await RetainAsync(table, new CompactionOutcome(name, small, null, null), cancellationToken));
                    continue;
                }

                var result = await table.OptimizeAsync(new OptimizeOptions { TargetFileSize = Options.TargetFileSize, MinFileSize = Options.MinFileSize }, cancellationToken);
                if (result.Version is { } version)
                {
                    await CheckpointAsync(table, result, version, cancellationToken);
                }

                outcomes.Add(await RetainAsync(table, new CompactionOutcome(name, small, result, null), cancellationToken));
            }
            catch (DeltaConcurrentModificationException e)
            {
                // a concurrent commit removed an input file or changed the metadata (appends OPTIMIZE merges itself):
                // its new files are deleted, the table is as before, and the next round counts the small files again
                Log.CompactionLostRace(_logger, table.Location, e.Message);
                outcomes.Add(new CompactionOutcome(name, small, null, e.Message));
            }
            catch (Exception e) when (IsRoundFailure(e))
            {
                Log.CompactionFailed(_logger, table.Location, e.Message);
                outcomes.Add(new CompactionOutcome(name, small, null, e.Message));
            }
        }

        LastRound = outcomes;
        Interlocked.Increment(ref _rounds);
        RoundCompleted?.Invoke(outcomes);
        return outcomes;
    }

    /// <summary>The checkpoint of the compacted version. The compaction is committed whatever happens here: a failed
    /// checkpoint is only the readers replaying the commits since the previous one until the next (event 3001).</summary>
    private async Task CheckpointAsync(DeltaTable table, OptimizeResult result, long version, CancellationToken cancellationToken)
    {
        try
        {
            await table.WriteCheckpointAsync(await table.GetSnapshotAsync(null, cancellationToken), cancellationToken);
            Log.Compacted(_logger, table.Location, result.FilesRemoved, result.FilesAdded, version);
        }
        catch (Exception e) when (IsRoundFailure(e))
        {
            Log.CheckpointSkipped(_logger, table.Location, version, e.Message);
        }
    }

    /// <summary>The retention pass: log clean-up, then VACUUM, by the table's own retention. A failure is logged (event
    /// 3012) and the round goes on: nothing is lost, the files wait for the next round.</summary>
    private async Task<CompactionOutcome> RetainAsync(DeltaTable table, CompactionOutcome outcome, CancellationToken cancellationToken)
    {
        if (!Options.Vacuum)
        {
            return outcome;
        }

        try
        {
            var logFiles = await table.CleanupLogAsync(cancellationToken);
            outcome = outcome with { LogFilesDeleted = logFiles };
            return outcome with { Vacuum = await table.VacuumAsync(null, false, false, cancellationToken) };
        }
        catch (Exception e) when (IsRoundFailure(e))
        {
            Log.RetentionFailed(_logger, table.Location, e.Message);
            return outcome;
        }
    }

    private static bool IsRoundFailure(Exception e) => e is DeltaProtocolException or IOException or TimeoutException or UnauthorizedAccessException;

    /// <summary>Stops the timer and waits for a round in progress to end (cancelled).</summary>
    public async Task StopAsync()
    {
        if (_stop is null || _loop is null)
        {
            return;
        }

        await _stop.CancelAsync();
        await _loop;
        _stop.Dispose();
        _stop = null;
        _loop = null;
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync() => await StopAsync();
}
