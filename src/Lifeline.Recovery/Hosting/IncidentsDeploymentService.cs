using Lifeline.Recovery.Audit;
using Lifeline.Recovery.Incidents;
using Lifeline.Recovery.Notifications;
using Lifeline.Recovery.Plan;
using Lifeline.Recovery.Scheduling;
using Lifeline.Recovery.Status;
using Microsoft.Extensions.Logging;

namespace Lifeline.Recovery.Hosting;

/// <summary>
/// The incidents of <c>lifeline up</c> as a service (docs/incidents.md): the incident store in
/// <c>DATA/incidents/incidents.db</c>, the manager (also the <see cref="IIncidentSignals"/> other services and drills
/// raise signals through) and the plan's timeline. Every <see cref="DeploymentOptions.IncidentPollInterval"/> one
/// round reads the sources (<see cref="IncidentSources"/>: the scheduler's jobs, the scoring counters, and at most every
/// <see cref="DeploymentOptions.IncidentStatusInterval"/> the status, the audit and the read-back evidence, which list every
/// location and fetch only the records written since the last round) and
/// sends the due notices; nothing runs between rounds. Without the plan's locations (no plan file or password) the status
/// and audit sources are skipped and the state says so.
/// </summary>
internal sealed class IncidentsDeploymentService(DeploymentContext context) : IDeploymentService, IIncidentSignals, IAsyncDisposable
{
    private readonly ILogger _logger = context.LoggerFactory.CreateLogger("Lifeline.Incidents");
    private readonly CancellationTokenSource _stopping = new();
    private readonly SemaphoreSlim _round = new(1, 1);
    // what the rounds have read of the audit and the evidence: each round fetches only the records written since. The
    // sources need the newest records of each component, action and outcome (the status: the newest backups and the
    // history's depth; the locations and read-back incidents: the newest per component), so the caches keep that many
    // of each and let go of the rest: bounded however long up runs and however often it backs up.
    internal const int KeepPerGroup = 64;
    private readonly RecordLogCache<AuditRecord> _audit = new(r => $"{r.Action}\n{r.Component}\n{r.Outcome}", KeepPerGroup);
    private readonly RecordLogCache<Verification.EvidenceRecord> _evidence =
        new(r => $"{Verification.VerificationRunner.CauseOf(r)}\n{r.Check}\n{r.Passed}", KeepPerGroup);
    private IncidentManager? _manager;
    private IncidentTimeline? _timeline;
    private Task? _loop;
    private HttpClient? _http;
    private SchedulerJobs? _jobs;
    private DateTimeOffset? _statusAt;
    private double _rollbacksSeen;
    private double _failoversSeen;
    private volatile int _open;
    private volatile string? _degraded;
    private volatile DeploymentServiceState _state = new(DeploymentServiceStatus.Pending);

    public string Name => "incidents";

    public DeploymentServiceState State => _state.Status is DeploymentServiceStatus.Running or DeploymentServiceStatus.Degraded
        ? new(_degraded is null ? DeploymentServiceStatus.Running : DeploymentServiceStatus.Degraded,
            Detail: $"{_open} open incident{(_open == 1 ? "" : "s")}{(_degraded is { } d ? $"; {d}" : "")}")
        : _state;

    /// <summary>The store (after the start).</summary>
    public IncidentStore? Store => _manager?.Store;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var store = IncidentStore.ForData(context.Layout.Root);
        await store.MigrateAsync(cancellationToken);
        var sink = context.Options.Notices ?? context.Started.OfType<INoticeSink>().FirstOrDefault() ?? new LoggingNoticeSink(_logger);
        _timeline = new IncidentTimeline(store, context.Plan, sink, context.Time, _logger);
        _manager = new IncidentManager(store, context.Plan, context.Time, _timeline, _logger);
        _http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        _open = (await store.ListAsync(openOnly: true, cancellationToken)).Count;
        _state = new(DeploymentServiceStatus.Running);
        _loop = Task.Run(() => LoopAsync(_stopping.Token), CancellationToken.None);
    }

    public Task RaiseAsync(IncidentSignal signal, CancellationToken cancellationToken = default) =>
        (_manager ?? throw new InvalidOperationException("the incidents service has not started")).RaiseAsync(signal, cancellationToken);

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        if (_loop is { } loop)
        {
            await loop.WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        _state = new(DeploymentServiceStatus.Stopped);
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        if (_loop is { } loop)
        {
            await loop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        _stopping.Dispose();
        _round.Dispose();
        _http?.Dispose();
    }

    private async Task LoopAsync(CancellationToken ct)
    {
        using var timer = new PeriodicTimer(context.Options.IncidentPollInterval, context.Time);
        try
        {
            do
            {
                await RoundAsync(ct);
            }
            while (await timer.WaitForNextTickAsync(ct));
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // stopping
        }
    }

    /// <summary>One round: every source, then the due notices. A failing source is logged and retried next round.</summary>
    internal async Task RoundAsync(CancellationToken ct)
    {
        await _round.WaitAsync(ct);
        try
        {
            await RoundOnceAsync(ct);
        }
        finally
        {
            _round.Release();
        }
    }

    private async Task RoundOnceAsync(CancellationToken ct)
    {
        var manager = _manager!;
        var now = context.Time.GetUtcNow();
        string? degraded = null;
        if (context.Options.Recovery is { } recovery && (_statusAt is not { } last || now - last >= context.Options.IncidentStatusInterval))
        {
            _statusAt = now;
            await SourceAsync("status and audit", async () =>
            {
                var runtime = await recovery(ct);
                var records = await ReadAuditAsync(runtime.Service.Audit, ct);
                var report = await new StatusCalculator(context.Plan, runtime.Locations, new AuditBackupHistory(new ListedAuditLog(records)), context.Time).ComputeAsync(ct);
                await RaiseAllAsync(manager, IncidentSources.Rpo(report), ct);
                await RaiseAllAsync(manager, IncidentSources.Locations(context.Plan, records, now), ct);
                await RaiseAllAsync(manager, IncidentSources.ReadBack(await ReadEvidenceAsync(runtime.Service.Evidence, ct), records, now), ct);
            });
        }
        else if (context.Options.Recovery is null)
        {
            degraded = "not watching the status and the backups: up runs without a plan file or a vault password";
        }

        var jobStore = Path.Combine(context.Layout.Root, ComponentSources.JobStoreFile);
        if (File.Exists(jobStore) && (context.Plan.Policies.Count > 0 || context.Plan.Jobs.Count > 0))
        {
            await SourceAsync("scheduler", async () =>
            {
                _jobs ??= new SchedulerJobs(context.Plan, new PlanSchedulerOptions { Store = SchedulerStoreOptions.Sqlite(jobStore), Time = context.Time });
                var list = await _jobs.ListAsync(ct);
                await RaiseAllAsync(manager, IncidentSources.Jobs(JobStatusCalculator.Compute(list, now), now), ct);
            });
        }

        if (context.EndpointOf("scoring") is { } scoring)
        {
            await SourceAsync("scoring", () => ScoringAsync(manager, scoring, now, ct));
        }

        await SourceAsync("timeline", () => _timeline!.RunDueAsync(ct));
        _open = (await manager.Store.ListAsync(openOnly: true, ct)).Count;
        _degraded = degraded;
    }

    /// <summary>The audit, fetching only the records the earlier rounds did not read (a log other than the object
    /// store's is read whole).</summary>
    private async Task<IReadOnlyList<AuditRecord>> ReadAuditAsync(IAuditLog audit, CancellationToken ct)
    {
        if (audit is ObjectStoreAuditLog log)
        {
            return await log.ReadAsync(_audit, ct);
        }

        var records = new List<AuditRecord>();
        await foreach (var r in audit.ReadAsync(ct))
        {
            records.Add(r);
        }

        return records;
    }

    private async Task<IReadOnlyList<Verification.EvidenceRecord>> ReadEvidenceAsync(Verification.IEvidenceLog evidence, CancellationToken ct)
    {
        if (evidence is Verification.ObjectStoreEvidenceLog log)
        {
            return await log.ReadAsync(_evidence, ct);
        }

        var records = new List<Verification.EvidenceRecord>();
        await foreach (var r in evidence.ReadAsync(ct))
        {
            records.Add(r);
        }

        return records;
    }

    private async Task ScoringAsync(IncidentManager manager, Uri scoring, DateTimeOffset now, CancellationToken ct)
    {
        var text = await _http!.GetStringAsync(new Uri(scoring, "/metrics"), ct);
        var rollbacks = IncidentSources.Counter(text, "lifeline_scoring_rollbacks_total") ?? 0;
        var failovers = IncidentSources.Counter(text, "lifeline_scoring_failovers_total") ?? 0;
        var manual = (rollbacks - failovers) - (_rollbacksSeen - _failoversSeen);
        if (manual > 0)
        {
            await manager.RaiseAsync(new IncidentSignal
            {
                Cause = $"model:{context.Options.ModelName}",
                Kind = SignalKinds.ModelRollback,
                Severity = Severities.Warning,
                Summary = $"the scoring service rolled {context.Options.ModelName} back to its previous Production version ({rollbacks - failovers:0} rollbacks since up started)",
                Time = now,
            }, ct);
        }

        if (failovers > _failoversSeen)
        {
            await manager.RaiseAsync(new IncidentSignal
            {
                Cause = "failover:scoring",
                Kind = SignalKinds.Failover,
                Severity = Severities.Error,
                Summary = $"the scoring service failed over: it rolled {context.Options.ModelName} back automatically on a failing model ({failovers:0} failovers since up started)",
                Time = now,
            }, ct);
        }

        (_rollbacksSeen, _failoversSeen) = (rollbacks, failovers);
    }

    private async Task SourceAsync(string name, Func<Task> round)
    {
        try
        {
            await round();
        }
        catch (Exception e) when (e is not OperationCanceledException || !_stopping.IsCancellationRequested)
        {
            Log.IncidentSourceFailed(_logger, name, Configuration.Secrets.RedactText(Locations.LocationSet.FirstLine(e.Message)));
        }
    }

    private static async Task RaiseAllAsync(IncidentManager manager, IEnumerable<IncidentSignal> signals, CancellationToken ct)
    {
        foreach (var signal in signals)
        {
            await manager.RaiseAsync(signal, ct);
        }
    }

    /// <summary>The audit records already read, as a log (the status is computed from them, not read twice).</summary>
    private sealed class ListedAuditLog(IReadOnlyList<AuditRecord> records) : IAuditLog
    {
        public Task<AuditRecord> AppendAsync(AuditRecord record, CancellationToken cancellationToken = default) =>
            throw new NotSupportedException("read only");

        public async IAsyncEnumerable<AuditRecord> ReadAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            foreach (var r in records)
            {
                cancellationToken.ThrowIfCancellationRequested();
                yield return r;
            }

            await Task.CompletedTask;
        }
    }
}

/// <summary>Until the durable outbox is wired into <c>up</c>: a notice is logged (summary only, never a secret).</summary>
internal sealed class LoggingNoticeSink(ILogger logger) : INoticeSink
{
    public Task EnqueueAsync(Notice notice, CancellationToken cancellationToken = default)
    {
        Log.NoticeOnlyLogged(logger, notice.Id, notice.IncidentId, notice.Summary);
        return Task.CompletedTask;
    }
}
