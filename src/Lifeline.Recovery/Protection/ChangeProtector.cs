using Lifeline.Recovery.Components.Jobs;
using Lifeline.Lake;
using Lifeline.Lake.Recovery;
using Lifeline.Recovery.Components.Lake;
using Lifeline.Recovery.Components.Registry;
using Lifeline.Recovery.Configuration;
using Lifeline.Recovery.Hosting;
using Lifeline.Recovery.Locations;
using Lifeline.Recovery.Plan;
using Lifeline.Registry;
using Lifeline.Registry.Backup;
using Lifeline.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Lifeline.Recovery.Protection;

/// <summary>Options of <see cref="ChangeProtector"/>. Every property has a documented default.</summary>
public sealed record ChangeProtectorOptions
{
    /// <summary>The clock; default the system clock.</summary>
    public TimeProvider? Time { get; init; }

    /// <summary>Where it logs; default none.</summary>
    public ILogger? Logger { get; init; }

    /// <summary>The configuration adapters' options (as given to <see cref="RecoveryService.BuiltInAdapters"/>); default theirs.</summary>
    public ConfigurationOptions? Configuration { get; init; }

    /// <summary>The registry adapter's options (its data directory is watched); default theirs.</summary>
    public RegistryAdapterOptions? Registry { get; init; }

    /// <summary>The lake adapters' options (the tables, and the lake root the heartbeat table is in); default theirs.</summary>
    public LakeAdapterOptions? Lake { get; init; }

    /// <summary>The jobs adapter's options (the plan file, its job-definition files and the job store are watched); default theirs.</summary>
    public JobsAdapterOptions? Jobs { get; init; }

    /// <summary>How often the tables' logs and the registry's files are polled; default 250 ms.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>How often a heartbeat is written; default 1 s. <see cref="TimeSpan.Zero"/> writes none.</summary>
    public TimeSpan HeartbeatInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Quiet time after a configuration or registry change before its backup starts; default 500 ms.</summary>
    public TimeSpan Debounce { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>The longest a configuration or registry change waits for quiet (the policy's <c>coalesce</c> when
    /// shorter); default 5 s.</summary>
    public TimeSpan MaxGather { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Least time between the starts of two backups of a registry, configuration or jobs component under
    /// continuous change: a change after a quiet spell is backed up after the debounce, changes within this interval
    /// of the last backup wait for its end and go in one backup. Default the policy's <c>coalesce</c>, else 1 minute
    /// (what the plan checker counts in the component's recovery point).</summary>
    public TimeSpan? BackupInterval { get; init; }

    /// <summary>The safety-net rescan of the configuration files (a watcher can miss events); default 5 s.</summary>
    public TimeSpan ConfigurationRescan { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>How often the change query of a registry on PostgreSQL runs (<see cref="PostgresChangeStamp"/>). Default 1 s.</summary>
    public TimeSpan PostgresPollInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Least time between two vault snapshots of a table (its commits reach the secondary meanwhile by
    /// replication); default the policy's <c>coalesce</c>, else 1 minute.</summary>
    public TimeSpan? SnapshotInterval { get; init; }

    /// <summary>How often retention, cut compaction and the heartbeat table's compaction run; default 10 minutes.</summary>
    public TimeSpan MaintenanceInterval { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>How the cut records are compacted; default <see cref="PointCompaction.Default"/>.</summary>
    public PointCompaction Compaction { get; init; } = PointCompaction.Default;

    /// <summary>The host name written in heartbeats; default <see cref="Environment.MachineName"/>.</summary>
    public string? Host { get; init; }

    /// <summary>The least number of thread-pool worker threads the process keeps ready once the protector starts
    /// (raised, never lowered; <c>0</c> leaves the pool alone); default 16. The replication shares the process's pool
    /// with the vault snapshots and the writers: on 2 cores the pool keeps about 3 threads, and a round's file I/O
    /// queued behind their work waited 1-2.5 s (docs/protection.md, "What stalled a round").</summary>
    public int MinThreadPoolThreads { get; init; } = 16;

    /// <summary>Whether a watcher on each local table's <c>_delta_log</c> starts a round as soon as a commit lands
    /// (the poll catches what it misses); default true. False: the poll alone, one round per interval at most.</summary>
    public bool WatchTableLogs { get; init; } = true;

    /// <summary>Told each stage of every replication round (<see cref="ReplicationRound"/>: started, polled, copied,
    /// ended), on the round's own thread: it must be quick and must not throw. For diagnosing the loss window
    /// (bench/rpo writes them to a file); default none.</summary>
    public Action<ReplicationRound>? RoundObserver { get; init; }
}

/// <summary>
/// One stage of one replication round, as <see cref="ChangeProtectorOptions.RoundObserver"/> is told it: what the round
/// did so far and what it may have waited on. A round reports <c>started</c>, <c>polled</c> (the tables' and the
/// heartbeat's new commits found), <c>copied</c> (the tables replicated) and <c>ended</c>; a round that a kill cut
/// short has only its first stages.
/// </summary>
/// <param name="Sequence">The round's number in this process, from 1.</param>
/// <param name="Trigger">What started it: <c>start</c> (in StartAsync), <c>poll</c> (the interval), <c>watch</c> (a
/// log watcher saw a commit), <c>stop</c> (StopAsync's last round).</param>
/// <param name="Stage"><c>started</c>, <c>polled</c>, <c>copied</c> or <c>ended</c>.</param>
/// <param name="Started">When the round started.</param>
/// <param name="Elapsed">Time since it started.</param>
/// <param name="Late">How much later than due it started: after the poll interval (or the watcher's signal), the
/// time the loop's wake-up took beyond it (a starved thread pool, a sleeping timer).</param>
/// <param name="VersionsCopied">Commits copied so far (tables and heartbeat).</param>
/// <param name="FilesCopied">Data and checkpoint files copied so far.</param>
/// <param name="BytesCopied">Bytes copied so far.</param>
/// <param name="Polling">Time spent finding new commits (a stat per table, per new commit).</param>
/// <param name="Copying">Time spent replicating the tables.</param>
/// <param name="HeartbeatCopying">Time spent replicating the heartbeat.</param>
/// <param name="VaultWork">What the vault worker was doing when the round started (a snapshot, a backup, the
/// maintenance, and for how long), or null when idle.</param>
/// <param name="PoolThreads">Thread-pool threads when the round started.</param>
/// <param name="PoolPending">Work items queued in the thread pool when the round started.</param>
/// <param name="GcPause">Time the process spent paused for garbage collection during the round so far.</param>
/// <param name="JitTime">Time the process spent compiling methods (JIT) during the round so far.</param>
/// <param name="Error">The first failure of the round, one line, or null.</param>
public sealed record ReplicationRound(long Sequence, string Trigger, string Stage, DateTimeOffset Started, TimeSpan Elapsed, TimeSpan Late,
    int VersionsCopied, int FilesCopied, long BytesCopied, TimeSpan Polling, TimeSpan Copying, TimeSpan HeartbeatCopying,
    string? VaultWork, int PoolThreads, long PoolPending, TimeSpan GcPause, TimeSpan JitTime, string? Error);

/// <summary>Where one on-change component's protection stands, live.</summary>
/// <param name="Component">The component.</param>
/// <param name="Kind">Its kind.</param>
/// <param name="Location">The location its recovery point is measured in (the policy's secondary).</param>
/// <param name="Version">For a table: the newest version replicated there; else null.</param>
/// <param name="Point">For the registry and configuration: the newest vault point written by the protector; else null.</param>
/// <param name="Time">The recovery point's time: a table's, the newest heartbeat in the location; others', their
/// last successful backup's start.</param>
/// <param name="Error">The last failure, one line, until the next success.</param>
public sealed record ProtectedPosition(string Component, ComponentKind Kind, string Location, long? Version, string? Point, DateTimeOffset? Time, string? Error);

/// <summary>Counters of the protector's work, for tests and metrics.</summary>
/// <param name="ReplicationRounds">Rounds that copied at least one commit.</param>
/// <param name="SnapshotRounds">Vault snapshots of tables taken.</param>
/// <param name="RegistryBackups">Registry backups taken.</param>
/// <param name="ConfigurationBackups">Configuration and jobs backups taken.</param>
/// <param name="Cuts">Cut records written.</param>
/// <param name="Heartbeats">Heartbeats written.</param>
public sealed record ProtectionCounters(long ReplicationRounds, long SnapshotRounds, long RegistryBackups, long ConfigurationBackups, long Cuts, long Heartbeats);

/// <summary>
/// Protection on every change, for the components whose policy is <c>on-change</c> (see docs/protection.md):
/// every Delta table is polled (one stat of its next commit every <see cref="ChangeProtectorOptions.PollInterval"/>)
/// and each new commit is replicated, commit by commit, to the policy's secondary location
/// (<see cref="TableReplicator"/>), with vault snapshots at the coarser <see cref="ChangeProtectorOptions.SnapshotInterval"/>
/// through <see cref="RecoveryService"/>; a configuration change (watcher plus rescan) and a registry write (its SQLite
/// file or WAL changed) trigger a debounced, coalesced backup through <see cref="RecoveryService"/> into the primary
/// and onward. A heartbeat table written every second travels the same path, so the recovery point's age is measured
/// (<see cref="HeartbeatInSecondary"/>). Each round records a cut (<see cref="CutRecord"/>).
/// </summary>
public sealed class ChangeProtector : IDeploymentService, IAsyncDisposable
{
    private readonly LifelinePlan _plan;
    private readonly LocationSet _locations;
    private readonly RecoveryService _recovery;
    private readonly ChangeProtectorOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly List<TableState> _tables = [];
    private readonly List<Watched> _watched = [];
    private readonly Dictionary<string, Target> _targets = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private DeltaTable? _heartbeat;
    private long _heartbeatKnown = -1;
    private CancellationTokenSource? _stop;
    private readonly List<Task> _loops = [];
    private DeploymentServiceState _state = new(DeploymentServiceStatus.Pending);
    private long _replicationRounds, _snapshotRounds, _registryBackups, _configurationBackups, _cuts, _heartbeats;
    private string? _lastRegistryPoint;
    private long _roundSequence;
    private long _signalledAt;
    private readonly AutoResetEvent _commitSeen = new(false);
    private readonly List<FileSystemWatcher> _logWatchers = [];
    private string? _vaultWork;
    private long _vaultWorkSince;
    private DateTimeOffset _lastMaintenance;

    /// <summary>Creates the protector of <paramref name="plan"/>'s on-change components; <paramref name="recovery"/>
    /// is the service over the same plan and <paramref name="locations"/> (backups go through it).</summary>
    public ChangeProtector(LifelinePlan plan, LocationSet locations, RecoveryService recovery, ChangeProtectorOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(locations);
        ArgumentNullException.ThrowIfNull(recovery);
        _plan = plan;
        _locations = locations;
        _recovery = recovery;
        _options = options ?? new ChangeProtectorOptions();
        _time = _options.Time ?? TimeProvider.System;
        _logger = _options.Logger ?? NullLogger.Instance;
        foreach (var c in plan.Components)
        {
            var policy = plan.FindPolicy(c.Policy);
            if (policy is not { Schedule.OnChange: true })
            {
                continue;
            }

            var named = locations.For(policy);
            if (named.Count == 0)
            {
                continue;
            }

            var secondary = named.FirstOrDefault(n => n.Role == "secondary").Location ?? named[0].Location;
            var gather = Min(policy.Coalesce ?? _options.MaxGather, _options.MaxGather);
            var interval = _options.BackupInterval ?? policy.Coalesce ?? TimeSpan.FromMinutes(1);
            switch (PlanChecker.KindOf(c))
            {
                case ComponentKind.LakeTable:
                    var lake = new LakeTableComponent(c, _options.Lake);
                    _tables.Add(new TableState(c.Name, lake.Location, secondary.Name,
                        _options.SnapshotInterval ?? policy.Coalesce ?? TimeSpan.FromMinutes(1)));
                    _targets.TryAdd(secondary.Name, new Target(secondary.Name));
                    break;
                case ComponentKind.Registry:
                    var registry = _options.Registry?.Registry ?? new RegistryOptions();
                    if (_options.Registry?.ApiUrl is null && string.IsNullOrEmpty(registry.PostgresConnectionString))
                    {
                        var db = Path.GetFullPath(Path.Combine(registry.DataDirectory, NativeBackup.DatabaseFile));
                        _watched.Add(new Watched(c.Name, ComponentKind.Registry, secondary.Name, gather, interval, () => RegistryStamp(db), null, TimeSpan.Zero));
                    }
                    else if (_options.Registry?.ApiUrl is null && registry.PostgresConnectionString is { Length: > 0 } postgres)
                    {
                        // PostgreSQL metadata: a cheap query every second (streaming replication is the real tool: docs/protection.md)
                        var stamp = new PostgresChangeStamp(postgres);
                        _watched.Add(new Watched(c.Name, ComponentKind.Registry, secondary.Name, gather, interval, stamp.Stamp, null, _options.PostgresPollInterval));
                    }

                    break;
                case ComponentKind.Jobs:
                    // job definitions and schedules: the plan file, the component's files and the scheduler's job store
                    var jobsBase = Path.GetFullPath(_options.Jobs?.BaseDirectory ?? Directory.GetCurrentDirectory());
                    var planFile = _options.Jobs?.PlanFile is { } pf ? Path.GetFullPath(Path.Combine(jobsBase, pf)) : null;
                    var store = _options.Jobs?.JobStore is { } js ? Path.GetFullPath(Path.Combine(jobsBase, js)) : null;
                    _watched.Add(new Watched(c.Name, ComponentKind.Jobs, secondary.Name, gather, interval, () => JobsStamp(c, jobsBase, planFile, store), null, _options.ConfigurationRescan));
                    break;
                case ComponentKind.Configuration:
                    var config = new ConfigurationComponent(c, _options.Configuration);
                    _watched.Add(new Watched(c.Name, ComponentKind.Configuration, secondary.Name, gather, interval, () => ConfigurationStamp(config),
                        WatchDirectories(c, _options.Configuration), _options.ConfigurationRescan));
                    break;
            }
        }

        if (_options.HeartbeatInterval > TimeSpan.Zero && _tables.Count > 0)
        {
            var root = _options.Lake?.Root ?? LakeTableComponent.DefaultRoot;
            var location = LakeTableVault.IsUrl(root) ? root.TrimEnd('/') + "/" + ProtectionLayout.HeartbeatTable : Path.Combine(root, ProtectionLayout.HeartbeatTable);
            _heartbeat = OpenTable(LakeTableVault.NormalizeLocation(location), create: true);
        }
    }

    /// <inheritdoc/>
    public string Name => "protection";

    /// <inheritdoc/>
    public DeploymentServiceState State => _state;

    /// <summary>The on-change components this protector covers.</summary>
    public IReadOnlyList<string> Components => [.. _tables.Select(t => t.Name).Concat(_watched.Select(w => w.Name))];

    /// <summary>The newest heartbeat seen in the secondary (the oldest across secondaries when there are several):
    /// every table commit acknowledged before it is there. Null before the first one arrived.</summary>
    public DateTimeOffset? HeartbeatInSecondary
    {
        get
        {
            lock (_gate)
            {
                return _targets.Count == 0 || _targets.Values.Any(t => t.Heartbeat is null) ? null : _targets.Values.Min(t => t.Heartbeat);
            }
        }
    }

    /// <summary>Now minus <see cref="HeartbeatInSecondary"/>: the measured age of the tables' recovery point (a
    /// Prometheus gauge in seconds); null before the first heartbeat arrived.</summary>
    public TimeSpan? RecoveryPointAge => HeartbeatInSecondary is { } t ? _time.GetUtcNow() - t : null;

    /// <summary>Every on-change component's position.</summary>
    public IReadOnlyList<ProtectedPosition> Positions
    {
        get
        {
            lock (_gate)
            {
                var list = _tables.Select(t => new ProtectedPosition(t.Name, ComponentKind.LakeTable, t.Secondary,
                    t.Replicated < 0 ? null : t.Replicated, null, _targets[t.Secondary].Heartbeat, t.Error)).ToList();
                list.AddRange(_watched.Select(w => new ProtectedPosition(w.Name, w.Kind, w.Secondary, null, w.Point, w.PointTime, w.Error)));
                return list;
            }
        }
    }

    /// <summary>What the protector has done so far.</summary>
    public ProtectionCounters Counters => new(Interlocked.Read(ref _replicationRounds), Interlocked.Read(ref _snapshotRounds),
        Interlocked.Read(ref _registryBackups), Interlocked.Read(ref _configurationBackups), Interlocked.Read(ref _cuts), Interlocked.Read(ref _heartbeats));

    /// <inheritdoc/>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (_stop is not null)
        {
            throw new InvalidOperationException("the change protector is already started");
        }

        _state = new DeploymentServiceState(DeploymentServiceStatus.Starting);
        _stop = new CancellationTokenSource();
        _lastMaintenance = _time.GetUtcNow();
        try
        {
            if (_heartbeat is not null)
            {
                await Heartbeat.EnsureAsync(_heartbeat, cancellationToken);
            }

            foreach (var w in _watched)
            {
                w.StartWatching();
                w.MarkChanged(_time.GetUtcNow()); // a start backs up what changed while nothing watched
            }

            await ReplicateRoundAsync("start", TimeSpan.Zero, cancellationToken); // the first round: resumes what a crash interrupted
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            _state = new DeploymentServiceState(DeploymentServiceStatus.Failed, Detail: OneLine(e));
            throw new RecoveryException($"change protection could not start: {OneLine(e)}", e);
        }

        Log.ProtectionStarted(_logger, _tables.Count, _watched.Any(w => w.Kind == ComponentKind.Registry), _watched.Count(w => w.Kind == ComponentKind.Configuration),
            string.Join(", ", _targets.Keys));
        var stop = _stop.Token;
        EnsureThreadPool(_options.MinThreadPoolThreads);
        StartLogWatchers();
        _loops.Add(StartReplicationThread(stop));
        _loops.Add(Task.Run(() => LoopAsync(BackupRoundAsync, _options.PollInterval, stop), CancellationToken.None));
        if (_heartbeat is not null)
        {
            _loops.Add(Task.Run(() => LoopAsync(BeatAsync, _options.HeartbeatInterval, stop), CancellationToken.None));
        }

        UpdateState();
    }

    /// <inheritdoc/>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_stop is null)
        {
            return;
        }

        await _stop.CancelAsync();
        foreach (var w in _watched)
        {
            w.Dispose();
        }

        foreach (var w in _logWatchers)
        {
            w.Dispose();
        }

        _logWatchers.Clear();

        try
        {
            await Task.WhenAll(_loops).WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // the loops' own cancellation
        }

        // what was acknowledged before the stop reaches the secondary: one last round, with the caller's deadline
        try
        {
            await ReplicateRoundAsync("stop", TimeSpan.Zero, cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Log.ProtectionFailed(_logger, "tables", OneLine(e));
        }

        _loops.Clear();
        _stop.Dispose();
        _stop = null;
        _state = new DeploymentServiceState(DeploymentServiceStatus.Stopped);
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        await StopAsync(CancellationToken.None);
        _commitSeen.Dispose();
    }

    /// <summary>The replication loop runs on a thread of its own, not the pool: it wakes on a commit a log watcher saw
    /// or after the poll interval without waiting for a pool thread (the vault worker and the writers keep the pool
    /// busy on a small machine), then runs its round.</summary>
    private Task StartReplicationThread(CancellationToken stop)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                ReplicationLoop(stop);
                done.TrySetResult();
            }
            catch (Exception e)
            {
                done.TrySetException(e);
            }
        })
        {
            IsBackground = true,
            Name = "lifeline replication",
        };
        thread.Start();
        return done.Task;
    }

    private void ReplicationLoop(CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            // StartAsync has just run a round: wait first
            var asleep = _time.GetTimestamp();
            var trigger = WaitForRound(stop);
            if (trigger is null)
            {
                return;
            }

            var late = trigger == "watch"
                ? _time.GetElapsedTime(Volatile.Read(ref _signalledAt))
                : _time.GetElapsedTime(asleep) - _options.PollInterval;
            try
            {
                ReplicateRoundAsync(trigger, late < TimeSpan.Zero ? TimeSpan.Zero : late, stop).GetAwaiter().GetResult();
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                Log.ProtectionFailed(_logger, "protection", OneLine(e));
            }

            UpdateState();
        }
    }

    /// <summary>Waits for a log watcher's signal or the poll interval; returns the trigger, or null when stopping.</summary>
    private string? WaitForRound(CancellationToken stop)
    {
        if (_time == TimeProvider.System)
        {
            return WaitHandle.WaitAny([_commitSeen, stop.WaitHandle], _options.PollInterval) switch
            {
                0 => "watch",
                1 => null,
                _ => "poll",
            };
        }

        // another clock (tests): its timer sets the tick
        using var tick = new ManualResetEventSlim();
        using var timer = _time.CreateTimer(_ => tick.Set(), null, _options.PollInterval, Timeout.InfiniteTimeSpan);
        return WaitHandle.WaitAny([_commitSeen, stop.WaitHandle, tick.WaitHandle]) switch
        {
            0 => "watch",
            1 => null,
            _ => "poll",
        };
    }

    /// <summary>A watcher on each local table's <c>_delta_log</c>: a new commit file starts a round at once (the poll
    /// stays, for the stores without one, for a table created later, and for the events a watcher misses).</summary>
    private void StartLogWatchers()
    {
        foreach (var t in _options.WatchTableLogs ? _tables : [])
        {
            if (LakeTableVault.IsUrl(t.Location) && !t.Location.StartsWith("file://", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            var full = LakeTableVault.IsUrl(t.Location) ? new Uri(t.Location).LocalPath : Path.GetFullPath(t.Location);
            var log = Path.Combine(full, "_delta_log");
            if (!Directory.Exists(log))
            {
                continue;
            }

            try
            {
                var w = new FileSystemWatcher(log, "*.json") { NotifyFilter = NotifyFilters.FileName | NotifyFilters.LastWrite };
                w.Created += (_, _) => SignalCommit();
                w.Renamed += (_, _) => SignalCommit();
                w.Changed += (_, _) => SignalCommit();
                w.EnableRaisingEvents = true;
                _logWatchers.Add(w);
            }
            catch (Exception e) when (e is IOException or ArgumentException or PlatformNotSupportedException)
            {
                // out of inotify watches, or none on this system: the poll alone
            }
        }
    }

    private void SignalCommit()
    {
        Volatile.Write(ref _signalledAt, _time.GetTimestamp());
        _commitSeen.Set();
    }

    /// <summary>Raises the pool's minimum worker threads to <paramref name="least"/> (see <see cref="ChangeProtectorOptions.MinThreadPoolThreads"/>).</summary>
    private static void EnsureThreadPool(int least)
    {
        ThreadPool.GetMinThreads(out var workers, out var io);
        if (least > workers)
        {
            ThreadPool.SetMinThreads(least, io);
        }
    }

    private async Task LoopAsync(Func<CancellationToken, Task> round, TimeSpan every, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await round(stop);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                Log.ProtectionFailed(_logger, "protection", OneLine(e));
            }

            UpdateState();
            try
            {
                await Task.Delay(every, _time, stop);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>One replication round: note the newest heartbeat, find each table's newest commit (a stat per new
    /// commit), replicate every table that moved to its secondary, then the heartbeat up to the noted version, only
    /// where every table succeeded: a heartbeat in the secondary vouches for every commit made before it. After the
    /// first successful round of a table no log is listed: the replication starts from the version it left the replica at
    /// (<see cref="TableReplicator.ReplicateFromAsync"/>).</summary>
    private async Task ReplicateRoundAsync(string trigger, TimeSpan late, CancellationToken ct)
    {
        var probe = new RoundProbe(this, Interlocked.Increment(ref _roundSequence), trigger, late);
        probe.Report("started");
        var beat = _heartbeat is null ? -1 : _heartbeatKnown = await ProtectionLayout.AdvanceAsync(_heartbeat.Store, _heartbeat.Root, _heartbeatKnown, ct);
        var failed = new HashSet<string>(StringComparer.Ordinal);
        var copied = false;
        var polled = false;
        foreach (var t in _tables)
        {
            try
            {
                var mark = _time.GetTimestamp();
                t.Source ??= OpenTable(t.Location, create: false);
                if (t.Source is not { } source)
                {
                    continue; // not created yet: looked for again next round
                }

                t.Known = await ProtectionLayout.AdvanceAsync(source.Store, source.Root, t.Known, ct);
                probe.Polling += _time.GetElapsedTime(mark);
                if (t.Known > t.Replicated)
                {
                    if (!polled)
                    {
                        polled = true;
                        probe.Report("polled");
                    }

                    mark = _time.GetTimestamp();
                    var replica = ReplicaOf(t.Secondary, t.Name);
                    var result = await TableReplicator.ReplicateFromAsync(source, replica, t.Replicated, t.Known, ct); // incremental once a round has succeeded
                    probe.Copying += _time.GetElapsedTime(mark);
                    probe.Add(result);
                    copied |= result.VersionsCopied > 0;
                    lock (_gate)
                    {
                        t.Replicated = result.TargetVersion;
                        t.Error = null;
                    }
                }
            }
            catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
            {
                failed.Add(t.Secondary);
                lock (_gate)
                {
                    t.Error = OneLine(e);
                }

                probe.Error ??= t.Error;
                Log.ReplicationFailed(_logger, t.Name, t.Secondary, t.Error);
            }
        }

        if (copied)
        {
            Interlocked.Increment(ref _replicationRounds);
            probe.Report("copied");
        }

        if (_heartbeat is not null && beat >= 0)
        {
            foreach (var target in _targets.Values.Where(x => !failed.Contains(x.Location) && x.HeartbeatVersion < beat))
            {
                var mark = _time.GetTimestamp();
                try
                {
                    var replica = ReplicaOf(target.Location, ProtectionLayout.HeartbeatTable);
                    var result = await TableReplicator.ReplicateFromAsync(_heartbeat, replica, target.HeartbeatVersion, beat, ct);
                    var time = await Heartbeat.ReadBeatAsync(replica.Store, replica.Root, result.TargetVersion, ct);
                    probe.Add(result);
                    lock (_gate)
                    {
                        target.HeartbeatVersion = result.TargetVersion;
                        target.Heartbeat = time ?? target.Heartbeat;
                        target.Error = null;
                    }
                }
                catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
                {
                    lock (_gate)
                    {
                        target.Error = OneLine(e);
                    }

                    probe.Error ??= target.Error;
                    Log.ReplicationFailed(_logger, ProtectionLayout.HeartbeatTable, target.Location, target.Error);
                }

                probe.HeartbeatCopying += _time.GetElapsedTime(mark);
            }
        }

        probe.Report("ended");
    }

    private async Task BeatAsync(CancellationToken ct)
    {
        var heartbeat = _heartbeat!;
        var sequence = Interlocked.Increment(ref _heartbeats);
        var compactEvery = Math.Max(1, (long)(_options.MaintenanceInterval / _options.HeartbeatInterval));
        var compact = sequence % compactEvery == 0;
        try
        {
            await Heartbeat.BeatAsync(heartbeat, _time.GetUtcNow(), sequence, _options.Host ?? Environment.MachineName, overwrite: compact, ct);
            if (compact)
            {
                await Heartbeat.CompactAsync(heartbeat, ct);
            }
        }
        catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            Log.HeartbeatFailed(_logger, OneLine(e));
        }
    }

    /// <summary>One round of the vault worker (one backup at a time): a configuration or registry change once quiet
    /// (or gathered long enough), the tables' coarse snapshots when due, the maintenance when due.</summary>
    private async Task BackupRoundAsync(CancellationToken ct)
    {
        var now = _time.GetUtcNow();
        foreach (var w in _watched)
        {
            w.Poll(now);
            if (!w.Due(now, _options.Debounce))
            {
                continue;
            }

            var stamp = w.Stamp();
            w.ClearChange();
            if (stamp == w.BackedUp)
            {
                continue;
            }

            w.LastBackup = now;

            Log.ChangeDetected(_logger, w.Name);
            var versions = _tables.ToDictionary(t => t.Name, t => t.Known); // read before the registry is captured
            try
            {
                using var busy = BusyWith("backup " + w.Name);
                var result = await _recovery.BackupComponentAsync(w.Name, cancellationToken: ct);
                lock (_gate)
                {
                    w.BackedUp = stamp;
                    w.Point = result.Point?.Id;
                    w.PointTime = now;
                    w.Error = result.Outcome == Audit.AuditOutcomes.Ok ? null : result.Message;
                }

                if (w.Kind == ComponentKind.Registry)
                {
                    _lastRegistryPoint = result.Point?.Id;
                    await WriteCutAsync(now, w.Name, versions, ct);
                    Interlocked.Increment(ref _registryBackups); // counted once its cut is recorded
                }
                else
                {
                    Interlocked.Increment(ref _configurationBackups);
                }
            }
            catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
            {
                lock (_gate)
                {
                    w.Error = OneLine(e);
                }

                w.MarkChanged(now); // tried again once the interval since this attempt has passed
                Log.ProtectionFailed(_logger, w.Name, w.Error);
            }
        }

        var snapshotted = false;
        var before = _tables.ToDictionary(t => t.Name, t => t.Known);
        foreach (var t in _tables.Where(t => t.Known > t.Snapshotted && now - t.LastSnapshot >= t.SnapshotInterval))
        {
            try
            {
                using var busy = BusyWith("snapshot " + t.Name);
                var result = await _recovery.BackupComponentAsync(t.Name, cancellationToken: ct);
                t.Snapshotted = result.Point?.Tags.Version ?? t.Known;
                t.SnapshotPoint = result.Point?.Id;
                t.LastSnapshot = now;
                snapshotted = true;
                Interlocked.Increment(ref _snapshotRounds);
            }
            catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
            {
                t.LastSnapshot = now; // not again before the interval
                Log.ProtectionFailed(_logger, t.Name, OneLine(e));
            }
        }

        if (snapshotted)
        {
            await WriteCutAsync(now, _watched.FirstOrDefault(w => w.Kind == ComponentKind.Registry)?.Name, before, ct);
        }

        if (now - _lastMaintenance >= _options.MaintenanceInterval)
        {
            _lastMaintenance = now;
            using var busy = BusyWith("maintenance");
            await MaintainAsync(now, ct);
        }
    }

    private async Task WriteCutAsync(DateTimeOffset time, string? registry, IReadOnlyDictionary<string, long> versions, CancellationToken ct)
    {
        var cut = new CutRecord
        {
            Time = time,
            Registry = registry,
            RegistryPoint = registry is null ? null : _lastRegistryPoint,
            Tables = _tables.ToDictionary(t => t.Name, t => new CutTable(versions.GetValueOrDefault(t.Name, t.Known), t.SnapshotPoint), StringComparer.Ordinal),
            Heartbeat = HeartbeatInSecondary,
        };
        foreach (var location in CutLocations())
        {
            try
            {
                await CutLog.AppendAsync(_locations.Store(location), cut, ct);
                Interlocked.Increment(ref _cuts);
                Log.CutRecorded(_logger, location, cut.RegistryPoint ?? "none", cut.Tables.Count);
            }
            catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
            {
                Log.ProtectionFailed(_logger, "cut", OneLine(e));
            }
        }
    }

    private async Task MaintainAsync(DateTimeOffset now, CancellationToken ct)
    {
        var removed = 0;
        foreach (var location in CutLocations())
        {
            try
            {
                removed += await CutLog.CompactAsync(_locations.Store(location), _options.Compaction, now, ct);
            }
            catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
            {
                Log.ProtectionFailed(_logger, "cut compaction", OneLine(e));
            }
        }

        // the vault points of on-change components: their policy's retention (RecoveryService reports a missing one)
        var components = Components.ToList();
        if (components.Count > 0)
        {
            try
            {
                await _recovery.ForgetAsync(components, dryRun: false, ct);
            }
            catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
            {
                Log.ProtectionFailed(_logger, "retention", OneLine(e));
            }
        }

        if (_heartbeat is not null)
        {
            foreach (var target in _targets.Values)
            {
                try
                {
                    await Heartbeat.CompactAsync(ReplicaOf(target.Location, ProtectionLayout.HeartbeatTable), ct);
                }
                catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
                {
                    Log.ProtectionFailed(_logger, "heartbeat compaction", OneLine(e));
                }
            }
        }

        Log.ProtectionMaintenance(_logger, removed);
    }

    private IEnumerable<string> CutLocations() => _targets.Keys.Concat(_watched.Where(w => w.Kind == ComponentKind.Registry).Select(w => w.Secondary)).Distinct(StringComparer.Ordinal);

    /// <summary>A table by location; a local directory that does not exist is null (a table not created yet) or,
    /// with <paramref name="create"/>, made (the heartbeat's).</summary>
    private DeltaTable? OpenTable(string location, bool create)
    {
        if (!LakeTableVault.IsUrl(location) || location.StartsWith("file://", StringComparison.OrdinalIgnoreCase))
        {
            var full = LakeTableVault.IsUrl(location) ? new Uri(location).LocalPath : Path.GetFullPath(location);
            if (!Directory.Exists(full))
            {
                if (!create)
                {
                    return null;
                }

                Directory.CreateDirectory(full);
            }
        }

        return LakeTableVault.OpenTable(location, _options.Lake?.Environment);
    }

    private DeltaTable ReplicaOf(string location, string component) =>
        new(_locations.Store(location), ProtectionLayout.ReplicaRoot(component), new DeltaTableOptions { TimeProvider = _time });

    private void UpdateState()
    {
        if (_stop is null)
        {
            return;
        }

        string? problem;
        lock (_gate)
        {
            problem = _tables.Select(t => t.Error is null ? null : $"{t.Name} → {t.Secondary}: {t.Error}")
                .Concat(_watched.Select(w => w.Error is null ? null : $"{w.Name}: {w.Error}"))
                .Concat(_targets.Values.Select(t => t.Error is null ? null : $"heartbeat → {t.Location}: {t.Error}"))
                .FirstOrDefault(p => p is not null);
        }

        var age = RecoveryPointAge;
        var detail = (age is { } a ? $"recovery point {a.TotalSeconds:0.0} s old (heartbeat in {string.Join(", ", _targets.Keys)})" : "no heartbeat in the secondary yet")
            + $"; {_tables.Count} tables, {_watched.Count} watched";
        _state = problem is null
            ? new DeploymentServiceState(DeploymentServiceStatus.Running, Detail: detail)
            : new DeploymentServiceState(DeploymentServiceStatus.Degraded, Detail: problem + "; " + detail);
    }

    private static string RegistryStamp(string db) => FileStamp(db) + "|" + WalStamp(db + "-wal");

    private static string FileStamp(string path)
    {
        var f = new FileInfo(path);
        return f.Exists ? $"{f.Length}@{f.LastWriteTimeUtc.Ticks}" : "-";
    }

    /// <summary>
    /// A SQLite WAL's stamp. An empty WAL holds no change, whenever it was emptied: the last connection to close (the
    /// native backup's own, the registry's pool) truncates it and moves its mtime without any write, and counting that
    /// backed the registry up about once a second while nothing wrote to it (a backup's close triggering the next). A
    /// write either grows the WAL or, after a checkpoint, rewrites it or the database file: all seen.
    /// </summary>
    internal static string WalStamp(string path)
    {
        var f = new FileInfo(path);
        return !f.Exists ? "-" : f.Length == 0 ? "0" : $"{f.Length}@{f.LastWriteTimeUtc.Ticks}";
    }

    private static string JobsStamp(PlanComponent c, string baseDirectory, string? planFile, string? store)
    {
        static string Of(string path)
        {
            var f = new FileInfo(path);
            return f.Exists ? $"{path} {f.Length}@{f.LastWriteTimeUtc.Ticks}" : path + " -";
        }

        var files = c.Files.SelectMany(pattern => Globs.Expand(pattern, baseDirectory)).Order(StringComparer.Ordinal);
        return string.Join("\n", (planFile is null ? [] : new[] { Of(planFile) })
            .Concat(files.Select(Of))
            .Concat(store is null ? [] : [Of(store), store + "-wal " + WalStamp(store + "-wal")]));
    }

    private static string ConfigurationStamp(ConfigurationComponent config) =>
        string.Join("\n", config.ListLive().Select(e => e.Kind + " " + e.Name + " " + e.Fingerprint));

    private static IReadOnlyList<(string Directory, bool Recursive)> WatchDirectories(PlanComponent c, ConfigurationOptions? options)
    {
        var baseDir = Path.GetFullPath(options?.BaseDirectory ?? Directory.GetCurrentDirectory());
        var list = new List<(string, bool)>();
        foreach (var pattern in c.Files)
        {
            var full = Path.Combine(baseDir, pattern);
            var firstGlob = full.IndexOfAny(['*', '?', '[']);
            var fixedPart = firstGlob < 0 ? full : full[..firstGlob];
            var dir = firstGlob < 0 ? Path.GetDirectoryName(full)! : fixedPart.EndsWith(Path.DirectorySeparatorChar) ? fixedPart.TrimEnd(Path.DirectorySeparatorChar) : Path.GetDirectoryName(fixedPart)!;
            var recursive = firstGlob >= 0 && full[firstGlob..].Contains(Path.DirectorySeparatorChar, StringComparison.Ordinal);
            list.Add((dir, recursive));
        }

        return [.. list.Distinct()];
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    private static string OneLine(Exception e) => LocationSet.FirstLine(Secrets.RedactText(e.Message));

    /// <summary>Marks the vault worker busy with <paramref name="what"/> until disposed (reported by each round).</summary>
    private VaultWorkScope BusyWith(string what)
    {
        Volatile.Write(ref _vaultWorkSince, _time.GetTimestamp());
        Volatile.Write(ref _vaultWork, what);
        return new VaultWorkScope(this);
    }

    private readonly struct VaultWorkScope(ChangeProtector owner) : IDisposable
    {
        public void Dispose() => Volatile.Write(ref owner._vaultWork, null);
    }

    /// <summary>What one replication round did and waited on, reported stage by stage to the observer.</summary>
    private sealed class RoundProbe
    {
        private readonly ChangeProtector _owner;
        private readonly long _sequence;
        private readonly string _trigger;
        private readonly TimeSpan _late;
        private readonly DateTimeOffset _started;
        private readonly long _mark;
        private readonly string? _vaultWork;
        private readonly int _poolThreads;
        private readonly long _poolPending;
        private readonly TimeSpan _gc;
        private readonly TimeSpan _jit;
        private int _versions, _files;
        private long _bytes;

        public RoundProbe(ChangeProtector owner, long sequence, string trigger, TimeSpan late)
        {
            _owner = owner;
            _sequence = sequence;
            _trigger = trigger;
            _late = late;
            _started = owner._time.GetUtcNow();
            _mark = owner._time.GetTimestamp();
            if (owner._options.RoundObserver is null)
            {
                return;
            }

            var work = Volatile.Read(ref owner._vaultWork);
            _vaultWork = work is null ? null : $"{work} for {owner._time.GetElapsedTime(Volatile.Read(ref owner._vaultWorkSince)).TotalSeconds:0.000} s";
            _poolThreads = ThreadPool.ThreadCount;
            _poolPending = ThreadPool.PendingWorkItemCount;
            _gc = GC.GetTotalPauseDuration();
            _jit = System.Runtime.JitInfo.GetCompilationTime();
        }

        public TimeSpan Polling { get; set; }

        public TimeSpan Copying { get; set; }

        public TimeSpan HeartbeatCopying { get; set; }

        public string? Error { get; set; }

        public void Add(ReplicationResult result)
        {
            _versions += result.VersionsCopied;
            _files += result.FilesCopied;
            _bytes += result.BytesCopied;
        }

        public void Report(string stage)
        {
            if (_owner._options.RoundObserver is not { } observer)
            {
                return;
            }

            observer(new ReplicationRound(_sequence, _trigger, stage, _started, _owner._time.GetElapsedTime(_mark), _late, _versions, _files, _bytes,
                Polling, Copying, HeartbeatCopying, _vaultWork, _poolThreads, _poolPending, GC.GetTotalPauseDuration() - _gc,
                System.Runtime.JitInfo.GetCompilationTime() - _jit, Error));
        }
    }

    private sealed class TableState(string name, string location, string secondary, TimeSpan snapshotInterval)
    {
        public string Name { get; } = name;
        public string Location { get; } = location;
        public DeltaTable? Source { get; set; }
        public string Secondary { get; } = secondary;
        public TimeSpan SnapshotInterval { get; } = snapshotInterval;
        public long Known { get; set; } = -1;
        public long Replicated { get; set; } = -1;
        public long Snapshotted { get; set; } = -1;
        public string? SnapshotPoint { get; set; }
        public DateTimeOffset LastSnapshot { get; set; } = DateTimeOffset.MinValue;
        public string? Error { get; set; }
    }

    private sealed class Target(string location)
    {
        public string Location { get; } = location;
        public long HeartbeatVersion { get; set; } = -1;
        public DateTimeOffset? Heartbeat { get; set; }
        public string? Error { get; set; }
    }

    /// <summary>A component whose change is detected by a stamp (files' sizes and times, or the configuration's
    /// fingerprints): a watcher or a poll marks it changed; it is due once quiet for the debounce or gathered for
    /// its maximum, and no sooner than its interval after the last backup started.</summary>
    private sealed class Watched(string name, ComponentKind kind, string secondary, TimeSpan maxGather, TimeSpan interval, Func<string> stamp, IReadOnlyList<(string Directory, bool Recursive)>? directories, TimeSpan rescanEvery) : IDisposable
    {
        private readonly List<FileSystemWatcher> _watchers = [];
        private readonly Lock _lock = new();
        private DateTimeOffset? _firstChange;
        private DateTimeOffset _lastChange;
        private DateTimeOffset _lastPoll = DateTimeOffset.MinValue;
        private string? _polled;
        private volatile bool _signalled;

        public string Name { get; } = name;
        public ComponentKind Kind { get; } = kind;
        public string Secondary { get; } = secondary;
        public string? BackedUp { get; set; }
        public string? Point { get; set; }
        public DateTimeOffset? PointTime { get; set; }
        public string? Error { get; set; }

        /// <summary>When the last backup started (null before the first: a start backs up at once).</summary>
        public DateTimeOffset? LastBackup { get; set; }

        public string Stamp() => stamp();

        public void StartWatching()
        {
            foreach (var (dir, recursive) in directories ?? [])
            {
                if (!Directory.Exists(dir))
                {
                    continue; // the rescan still sees files appearing there
                }

                var w = new FileSystemWatcher(dir)
                {
                    IncludeSubdirectories = recursive,
                    NotifyFilter = NotifyFilters.FileName | NotifyFilters.DirectoryName | NotifyFilters.LastWrite | NotifyFilters.Size,
                };
                w.Changed += (_, _) => _signalled = true;
                w.Created += (_, _) => _signalled = true;
                w.Deleted += (_, _) => _signalled = true;
                w.Renamed += (_, _) => _signalled = true;
                w.EnableRaisingEvents = true;
                _watchers.Add(w);
            }
        }

        /// <summary>Watcher events since the last poll; for a polled component (the registry) every round, for a
        /// watched one (configuration) the safety-net rescan every few seconds.</summary>
        public void Poll(DateTimeOffset now)
        {
            if (_signalled)
            {
                _signalled = false;
                MarkChanged(now);
            }

            if (now - _lastPoll < rescanEvery)
            {
                return;
            }

            _lastPoll = now;
            string current;
            try
            {
                current = stamp();
            }
            catch (IOException)
            {
                return; // mid-write: the next poll sees it
            }

            if (_polled is not null && current != _polled)
            {
                MarkChanged(now);
            }

            _polled = current;
        }

        public void MarkChanged(DateTimeOffset now)
        {
            lock (_lock)
            {
                _firstChange ??= now;
                _lastChange = now;
            }
        }

        public bool Due(DateTimeOffset now, TimeSpan debounce)
        {
            lock (_lock)
            {
                return _firstChange is { } first && (now - _lastChange >= debounce || now - first >= maxGather)
                    && (LastBackup is not { } last || now - last >= interval);
            }
        }

        public void ClearChange()
        {
            lock (_lock)
            {
                _firstChange = null;
            }
        }

        public void Dispose()
        {
            foreach (var w in _watchers)
            {
                w.Dispose();
            }

            _watchers.Clear();
        }
    }
}
