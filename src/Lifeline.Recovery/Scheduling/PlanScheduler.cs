
using Lifeline.Recovery.Hosting;
using Lifeline.Recovery.Plan;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Quartz;
using Quartz.Extensibility;

namespace Lifeline.Recovery.Scheduling;

/// <summary>Options of <see cref="PlanScheduler"/>. Every property has a documented default.</summary>
public sealed record PlanSchedulerOptions
{
    /// <summary>Where the schedule and the run history are kept (required).</summary>
    public required SchedulerStoreOptions Store { get; init; }

    /// <summary>The clock Quartz and the runner use; default the system clock (tests pass a FakeTimeProvider).</summary>
    public TimeProvider? Time { get; init; }

    /// <summary>Where the scheduler logs; default none.</summary>
    public ILogger? Logger { get; init; }

    /// <summary>The recovery service backups run through, for a plan; the caller owns its lifetime. Default none: a
    /// backup job then fails and says so.</summary>
    public Func<LifelinePlan, CancellationToken, ValueTask<RecoveryService>>? Recovery { get; init; }

    /// <summary>How a built-in batch job starts <c>lifeline</c>: the program and leading arguments; default this
    /// process's executable when it is <c>lifeline</c>, else <c>lifeline</c> on the PATH.</summary>
    public IReadOnlyList<string>? LifelineCommand { get; init; }

    /// <summary>The working directory of batch jobs; default the current directory (the CLI passes the plan's).</summary>
    public string? WorkingDirectory { get; init; }

    /// <summary>How many jobs may run at once (Quartz's thread pool); default 4, so one stuck job never blocks the others.</summary>
    public int MaxConcurrentJobs { get; init; } = 4;

    /// <summary>How late a slot may fire and still count as on time (Quartz's misfire threshold); default 1 minute.</summary>
    public TimeSpan MisfireThreshold { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>Where Quartz itself logs (its firing rounds, store errors, misfires); default none.</summary>
    public ILoggerFactory? QuartzLogging { get; init; }

    /// <summary>The scheduler's name in the store (<c>SCHED_NAME</c>); default <c>lifeline</c>.</summary>
    public string InstanceName { get; init; } = "lifeline";

    /// <summary>The checks a verification job runs; default <see cref="Verification.VerificationRunner.BuiltIn"/>.</summary>
    public Verification.VerificationRunner? Verification { get; init; }

    /// <summary>Where verification failures raise their incident signals; default none.</summary>
    public Incidents.IIncidentSignals? Signals { get; init; }

    /// <summary>The scratch area of verification checks (restore tests); default <c>TEMP/lifeline-verify</c>.</summary>
    public string? ScratchDirectory { get; init; }
}

/// <summary>What a reload did.</summary>
/// <param name="Applied">False when the plan was refused and the running schedules were kept.</param>
/// <param name="Added">Jobs added.</param>
/// <param name="Changed">Jobs whose schedule, time zone or misfire policy changed (their trigger was replaced).</param>
/// <param name="Removed">Jobs no longer in the plan, deleted.</param>
/// <param name="Error">Why the plan was refused, one line.</param>
public sealed record ScheduleReloadResult(bool Applied, IReadOnlyList<string> Added, IReadOnlyList<string> Changed, IReadOnlyList<string> Removed, string? Error = null);

/// <summary>One job as <c>lifeline jobs ls</c> and <c>status</c> show it.</summary>
/// <param name="Job">Its definition.</param>
/// <param name="NextRun">Its next slot (Quartz's trigger when the scheduler runs, else computed from the schedule); null when paused indefinitely or never again.</param>
/// <param name="Pause">Its pause, if one holds.</param>
/// <param name="LastRun">Its newest attempt, if any.</param>
/// <param name="PauseWarning">When the pause takes a component past its RPO maximum: which and by how much.</param>
public sealed record ScheduledJobInfo(ScheduledJob Job, DateTimeOffset? NextRun, JobPause? Pause, JobRunRecord? LastRun, string? PauseWarning)
{
    /// <summary>True when the store's Quartz tables hold the job's trigger (a scheduler reconciled it), false when
    /// they do not, null when not looked at.</summary>
    public bool? Scheduled { get; init; }
}

/// <summary>
/// Runs the plan's schedules unattended on Quartz.NET with a persistent job store (SQLite by default, PostgreSQL):
/// one job per backup policy schedule, per verification check, per drill and per batch job under <c>jobs:</c>
/// (<see cref="PlanJobs"/>). <c>lifeline.yaml</c> owns the schedules: Quartz's jobs and triggers are reconciled to
/// the plan at start and on every reload (added, changed, removed) and nothing else edits them; a plan that cannot be
/// scheduled is refused and the running schedules stay. Misfires, timeouts, retries, pauses and the durable run
/// history are docs/scheduling.md. <c>lifeline up</c> runs it as an <see cref="IDeploymentService"/>.
/// </summary>
public sealed class PlanScheduler : IDeploymentService, IAsyncDisposable
{
    internal const string Group = "lifeline";
    internal const string CauseKey = "lifeline.cause";

    private readonly PlanSchedulerOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly SchedulerStore _store;
    private readonly JobRunner _runner;
    private readonly CancellationTokenSource _stopping = new();
    private readonly SemaphoreSlim _gate = new(1, 1);
    private LifelinePlan _plan;
    private IScheduler? _quartz;
    private volatile DeploymentServiceState _state = new(DeploymentServiceStatus.Pending);
    private string? _reloadError;

    /// <summary>Creates the scheduler for <paramref name="plan"/>; nothing runs before <see cref="StartAsync"/>.</summary>
    public PlanScheduler(LifelinePlan plan, PlanSchedulerOptions options)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(options);
        _plan = plan;
        _options = options;
        _time = options.Time ?? TimeProvider.System;
        _logger = options.Logger ?? NullLogger.Instance;
        _store = new SchedulerStore(options.Store, _time);
        _runner = new JobRunner(_store, options, _time, _logger);
    }

    /// <inheritdoc/>
    public string Name => "scheduler";

    /// <inheritdoc/>
    public DeploymentServiceState State => _state;

    /// <summary>The plan the schedules follow now.</summary>
    public LifelinePlan Plan => _plan;

    /// <summary>Why the last reload was refused, if it was (cleared by the next good one).</summary>
    public string? LastReloadError => _reloadError;

    internal SchedulerStore Store => _store;

    /// <summary>Migrates the store, records runs left running by a dead process as interrupted, reconciles Quartz to
    /// the plan and starts firing. Throws (state Failed) when the plan cannot be scheduled or the store cannot be opened.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        _state = new(DeploymentServiceStatus.Starting);
        try
        {
            var jobs = Validate(_plan);
            await _store.MigrateAsync(cancellationToken);
            foreach (var run in await _store.MarkInterruptedAsync(cancellationToken))
            {
                Log.JobInterrupted(_logger, run.Job, run.RunId);
            }

            _runner.Use(_plan, jobs);
            _quartz = await BuildQuartzAsync(cancellationToken);
            var result = await ReconcileAsync(jobs, cancellationToken);
            Log.Reconciled(_logger, result.Added.Count, result.Changed.Count, result.Removed.Count);
            await _quartz.Start(cancellationToken);
            Log.SchedulerStarted(_logger, _options.Store.Describe(), jobs.Count);
            _state = RunningState();
        }
        catch (Exception e)
        {
            _state = new(DeploymentServiceStatus.Failed, null, LocationsFirstLine(e.Message));
            throw;
        }
    }

    /// <summary>Stops firing; running jobs are cancelled and recorded as interrupted, and Quartz keeps their firing so
    /// the next start re-runs backups and batch jobs (cause <c>recovery</c>).</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        if (_quartz is { } quartz)
        {
            await quartz.Shutdown(true, cancellationToken);
            _quartz = null;
        }

        _state = new(DeploymentServiceStatus.Stopped);
        Log.SchedulerStopped(_logger);
    }

    /// <summary>Reconciles the schedules to <paramref name="plan"/>. A plan whose jobs cannot be scheduled is refused:
    /// the running schedules stay, the state turns Degraded with the error, and the result says why.</summary>
    public async Task<ScheduleReloadResult> ReloadAsync(LifelinePlan plan, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(plan);
        IReadOnlyList<ScheduledJob> jobs;
        try
        {
            jobs = Validate(plan);
        }
        catch (InvalidOperationException e)
        {
            return Refuse(e.Message);
        }

        await _gate.WaitAsync(cancellationToken);
        try
        {
            var result = _quartz is null ? new ScheduleReloadResult(true, [], [], []) : await ReconcileAsync(jobs, cancellationToken);
            _plan = plan;
            _runner.Use(plan, jobs);
            _reloadError = null;
            if (_quartz is not null)
            {
                _state = RunningState();
            }

            Log.Reconciled(_logger, result.Added.Count, result.Changed.Count, result.Removed.Count);
            return result;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Reads the plan file and reloads it; a file with errors is refused like a bad plan.</summary>
    public async Task<ScheduleReloadResult> ReloadFileAsync(string path, CancellationToken cancellationToken = default)
    {
        var parsed = await PlanFile.LoadAsync(path, cancellationToken);
        return parsed.Succeeded ? await ReloadAsync(parsed.Plan!, cancellationToken) : Refuse($"the plan cannot be read: {parsed.Errors[0]}");
    }

    /// <summary>Every job with its next run, pause and last run.</summary>
    public async Task<IReadOnlyList<ScheduledJobInfo>> ListJobsAsync(CancellationToken cancellationToken = default)
    {
        var next = new Dictionary<string, DateTimeOffset?>(StringComparer.Ordinal);
        if (_quartz is { } quartz)
        {
            foreach (var job in _runner.Jobs.Values)
            {
                next[job.Name] = (await quartz.GetTrigger(new TriggerKey(job.Name, Group), cancellationToken))?.NextFireTimeUtc;
            }
        }

        return await SchedulerJobs.DescribeAsync(_plan, _runner.Jobs.Values.ToList(), _store, _time, next, cancellationToken);
    }

    /// <summary>Fires <paramref name="job"/> now through Quartz (cause <c>manual</c>; a pause does not stop it); returns
    /// at once, the run goes to the history.</summary>
    public async Task TriggerAsync(string job, CancellationToken cancellationToken = default)
    {
        var quartz = _quartz ?? throw new InvalidOperationException("the scheduler is not running: start it, or use 'lifeline jobs run' which runs the job in its own process");
        Known(job);
        await quartz.TriggerJob(new JobKey(job, Group), new JobDataMap { [CauseKey] = JobCauses.Manual }, cancellationToken);
    }

    /// <summary>Pauses <paramref name="job"/> (durable, in the store): its slots are skipped until <paramref name="until"/>
    /// or <see cref="ResumeAsync"/>. Returns the warning when the pause takes a component past its RPO maximum.</summary>
    public Task<string?> PauseAsync(string job, string reason, DateTimeOffset? until, string? by, CancellationToken cancellationToken = default) =>
        SchedulerJobs.PauseAsync(_plan, Known(job), _store, _time, reason, until, by, cancellationToken);

    /// <summary>Ends a pause; false when the job was not paused.</summary>
    public Task<bool> ResumeAsync(string job, CancellationToken cancellationToken = default) => _store.ResumeAsync(Known(job).Name, cancellationToken);

    /// <summary>The newest attempts first (of one job, or all).</summary>
    public Task<IReadOnlyList<JobRunRecord>> HistoryAsync(string? job = null, int limit = 50, CancellationToken cancellationToken = default) =>
        _store.HistoryAsync(job is null ? null : Known(job).Name, limit, cancellationToken);

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        if (_quartz is not null)
        {
            await StopAsync(CancellationToken.None);
        }

        _stopping.Dispose();
        _gate.Dispose();
    }

    internal async Task<IReadOnlyList<JobRunRecord>> ExecuteAsync(IJobExecutionContext context, CancellationToken ct)
    {
        var name = context.JobDetail.Key.Name;
        var scheduled = context.ScheduledFireTimeUtc;
        string cause;
        if (context.MergedJobDataMap.TryGetValue(CauseKey, out var given) && given is string manual)
        {
            cause = manual;
        }
        else if (context.Recovering)
        {
            cause = JobCauses.Recovery;
        }
        else
        {
            // after a misfire Quartz fires once, now: the run stands for the newest slot due, and it is coalesced when it
            // fires late or when the slot before it also passed unrun (since the last run, or since the trigger began)
            var slot = _runner.Jobs.TryGetValue(name, out var job) ? LatestSlot(job, context.FireTimeUtc) : null;
            var previous = job is not null && slot is { } latest ? LatestSlot(job, latest.AddTicks(-1)) : null;
            var since = await _store.LastScheduledAsync(name, ct) ?? context.Trigger.StartTimeUtc.AddTicks(-1);
            cause = slot is { } s && (context.FireTimeUtc - s > _options.MisfireThreshold || previous > since) ? JobCauses.Coalesced : JobCauses.Schedule;
            scheduled = slot ?? scheduled;
        }

        // an interrupted run is recovered and the slots missed meanwhile coalesce, and both fire at start-up: they stand for
        // one run, so a firing of either kind whose slot a later successful run already covers is skipped
        if (cause is JobCauses.Recovery or JobCauses.Coalesced && scheduled is { } slotTime
            && (await _store.LastSuccessAsync(ct)).TryGetValue(name, out var lastOk) && lastOk > slotTime)
        {
            Log.FiringCovered(_logger, name, cause, slotTime, lastOk);
            return [];
        }

        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, _stopping.Token);
        return await _runner.RunAsync(name, cause, scheduled, linked.Token);
    }

    /// <summary>The newest slot of <paramref name="job"/> at or before <paramref name="at"/> (Cronos, the job's zone).</summary>
    internal static DateTimeOffset? LatestSlot(ScheduledJob job, DateTimeOffset at)
    {
        Cronos.CronExpression cron;
        try
        {
            cron = Cronos.CronExpression.Parse(job.Schedule, Cronos.CronFormat.Standard);
        }
        catch (Cronos.CronFormatException)
        {
            return null;
        }

        var zone = job.TimeZone is { } tz && PlanParser.TryFindTimeZone(tz, out var z) ? z : TimeZoneInfo.Utc;
        foreach (var back in new[] { TimeSpan.FromHours(2), TimeSpan.FromDays(2), TimeSpan.FromDays(40), TimeSpan.FromDays(400) })
        {
            var last = cron.GetOccurrences(at - back, at, zone, fromInclusive: true, toInclusive: true).LastOrDefault();
            if (last != default)
            {
                return last;
            }
        }

        return null;
    }

    private ScheduleReloadResult Refuse(string error)
    {
        _reloadError = error;
        Log.ReloadRefused(_logger, error);
        if (_quartz is not null)
        {
            _state = new(DeploymentServiceStatus.Degraded, null, $"plan reload refused, running schedules kept: {error}");
        }

        return new ScheduleReloadResult(false, [], [], [], error);
    }

    private ScheduledJob Known(string job) => _runner.Jobs.TryGetValue(job, out var found) ? found
        : throw new UnknownJobException(job, _runner.Jobs.Keys.ToList());

    private DeploymentServiceState RunningState()
    {
        var now = _time.GetUtcNow();
        // a plan with no scheduled job (every policy on change) has no next run: MinBy of an empty list of tuples throws
        var next = _runner.Jobs.Values.Select(j => (j.Name, At: PlanJobs.NextRun(j, now))).Where(x => x.At is not null).DefaultIfEmpty().MinBy(x => x.At);
        return new(DeploymentServiceStatus.Running, null, next.Name is null ? $"{_runner.Jobs.Count} jobs" : $"{_runner.Jobs.Count} jobs; next: {next.Name} at {next.At:yyyy-MM-dd HH:mm}Z");
    }

    /// <summary>The plan's jobs, or an <see cref="InvalidOperationException"/> naming the first one Quartz cannot schedule.</summary>
    internal static IReadOnlyList<ScheduledJob> Validate(LifelinePlan plan)
    {
        var jobs = PlanJobs.FromPlan(plan);
        var duplicate = jobs.GroupBy(j => j.Name).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw new InvalidOperationException($"two jobs are named '{duplicate.Key}': rename the batch job (lifeline plan check)");
        }

        foreach (var job in jobs)
        {
            if (job.TimeZone is { } tz && !PlanParser.TryFindTimeZone(tz, out _))
            {
                throw new InvalidOperationException($"job '{job.Name}': unknown time zone '{tz}'");
            }

            if (PlanJobs.Cron(job) is null)
            {
                throw new InvalidOperationException($"job '{job.Name}': the scheduler cannot read the schedule '{job.Schedule}' (five-field cron or a macro such as @daily)");
            }
        }

        return jobs;
    }

    private async Task<IScheduler> BuildQuartzAsync(CancellationToken ct)
    {
        var store = _options.Store;
        var factory = new PlanJobFactory(this);
        var builder = QuartzSchedulerBuilder.Create(q =>
        {
            q.ConfigureScheduler(o =>
            {
                o.InstanceName = _options.InstanceName;
                o.InstanceId = "lifeline";
            });
            q.UseTimeProvider(_time);
            if (_options.QuartzLogging is { } logging)
            {
                q.Services.AddSingleton(logging);
            }

            q.UseDefaultThreadPool(Math.Max(1, _options.MaxConcurrentJobs));
            q.UseJobFactory(factory);
            q.UsePersistentStore(s =>
            {
                if (store.Kind == SchedulerStoreKind.Sqlite)
                {
                    s.UseSqlite(SqliteFactory.Instance, store.ConnectionString);
                }
                else
                {
                    s.UsePostgres(NpgsqlFactory.Instance, store.ConnectionString);
                }

                s.ConfigureStore(o =>
                {
                    o.TablePrefix = SchedulerSchema.QuartzPrefix;
                    o.MisfireThreshold = _options.MisfireThreshold;
                    o.RecoverFiringsCancelledByShutdown = true;
                });
            });
        });
        return await builder.BuildScheduler(ct);
    }

    private async Task<ScheduleReloadResult> ReconcileAsync(IReadOnlyList<ScheduledJob> jobs, CancellationToken ct)
    {
        var quartz = _quartz!;
        var existing = new HashSet<string>(StringComparer.Ordinal);
        var skip = 0;
        while (true)
        {
            var page = await quartz.QueryJobs(new JobQuery { Group = GroupMatcher<JobKey>.GroupEquals(Group), Skip = skip, Take = 200 }, ct);
            existing.UnionWith(page.Items.Select(h => h.Key.Name));
            if (!page.HasMore || page.Items.Count == 0)
            {
                break;
            }

            skip += page.Items.Count;
        }

        List<string> added = [], changed = [], removed = [];
        foreach (var job in jobs)
        {
            var trigger = await quartz.GetTrigger(new TriggerKey(job.Name, Group), ct);
            if (trigger is not null && trigger.Description == job.Fingerprint)
            {
                continue; // unchanged: its next fire time, and so its misfires, carry over
            }

            (existing.Contains(job.Name) ? changed : added).Add(job.Name);
            await quartz.ScheduleJob(JobDetail(job), Trigger(job), new ScheduleJobOptions { Replace = true }, ct);
        }

        foreach (var name in existing.Except(jobs.Select(j => j.Name)))
        {
            await quartz.DeleteJob(new JobKey(name, Group), ct);
            removed.Add(name);
        }

        return new ScheduleReloadResult(true, added, changed, removed);
    }

    private static IJobDetail JobDetail(ScheduledJob job) => JobBuilder.Create<PlanQuartzJob>()
        .WithIdentity(job.Name, Group)
        .WithDescription($"{job.KindWord} job of lifeline.yaml")
        .DisallowConcurrentExecution(true)
        .RequestRecovery(job.Misfire == MisfirePolicy.Coalesce)
        .StoreDurably(false)
        .Build();

    private ITrigger Trigger(ScheduledJob job)
    {
        var zone = job.TimeZone is { } tz && PlanParser.TryFindTimeZone(tz, out var z) ? z : TimeZoneInfo.Utc;
        var schedule = CronScheduleBuilder.Create(job.Schedule, Quartz.CronFormat.Unix)
            .InTimeZone(zone)
            .WithMisfireInstruction(job.Misfire == MisfirePolicy.Coalesce ? CronTriggerMisfireInstruction.FireAndProceed : CronTriggerMisfireInstruction.DoNothing);
        return TriggerBuilder.Create(_time)
            .WithIdentity(job.Name, Group)
            .ForJob(job.Name, Group)
            .WithDescription(job.Fingerprint)
            .WithSchedule(schedule)
            .StartAt(_time.GetUtcNow())
            .Build();
    }

    private static string LocationsFirstLine(string message) => message.Split('\n', 2)[0].Trim();

    /// <summary>The one Quartz job type: it hands the firing to the scheduler's runner.</summary>
    private sealed class PlanQuartzJob(PlanScheduler owner) : IJob
    {
        public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken = default) =>
            await owner.ExecuteAsync(context, cancellationToken);
    }

    private sealed class PlanJobFactory(PlanScheduler owner) : IJobFactory
    {
        public ValueTask<JobScope> CreateJob(TriggerFiredBundle bundle, IScheduler scheduler, CancellationToken cancellationToken) =>
            ValueTask.FromResult(new JobScope(new PlanQuartzJob(owner), null!));

        public ValueTask ReturnJob(JobScope scope, CancellationToken cancellationToken) => ValueTask.CompletedTask;
    }
}

/// <summary>A job name the plan does not have.</summary>
public sealed class UnknownJobException(string job, IReadOnlyList<string> known)
    : RecoveryException($"the plan has no job '{job}'{Suggestions.DidYouMean(job, known)}; its jobs: {(known.Count == 0 ? "none" : string.Join(", ", known))} (lifeline jobs ls)")
{
    /// <summary>The name asked for.</summary>
    public string Job { get; } = job;
}
