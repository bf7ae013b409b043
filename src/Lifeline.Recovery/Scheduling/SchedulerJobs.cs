using Lifeline.Recovery.Plan;
using Lifeline.Recovery.Status;
using Microsoft.Extensions.Logging.Abstractions;

namespace Lifeline.Recovery.Scheduling;

/// <summary>
/// The plan's jobs over the scheduler's store without a running scheduler, for the CLI: list them with their next
/// runs, read the history, pause and resume (durable in the store, so a running <c>lifeline up</c> honours them at its
/// next slot), and run one now in this process (recorded in the same history).
/// </summary>
public sealed class SchedulerJobs
{
    private readonly LifelinePlan _plan;
    private readonly TimeProvider _time;
    private readonly SchedulerStore _store;
    private readonly JobRunner _runner;
    private readonly IReadOnlyList<ScheduledJob> _jobs;

    /// <summary>Opens the jobs of <paramref name="plan"/> over the store of <paramref name="options"/>; throws
    /// <see cref="InvalidOperationException"/> when the plan's jobs cannot be scheduled.</summary>
    public SchedulerJobs(LifelinePlan plan, PlanSchedulerOptions options)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(options);
        _plan = plan;
        _time = options.Time ?? TimeProvider.System;
        _store = new SchedulerStore(options.Store, _time);
        _jobs = PlanScheduler.Validate(plan);
        _runner = new JobRunner(_store, options, _time, options.Logger ?? NullLogger.Instance);
        _runner.Use(plan, _jobs);
    }

    /// <summary>The jobs, in plan order.</summary>
    public IReadOnlyList<ScheduledJob> Jobs => _jobs;

    /// <summary>Creates or migrates the store (idempotent).</summary>
    public Task InitializeAsync(CancellationToken cancellationToken = default) => _store.MigrateAsync(cancellationToken);

    /// <summary>Every job with its next run, pause and last run.</summary>
    /// <remarks><see cref="ScheduledJobInfo.Scheduled"/> says whether the store's Quartz tables hold the job's
    /// trigger: whether a scheduler (<c>lifeline up</c>) has reconciled it from the plan it loaded.</remarks>
    public async Task<IReadOnlyList<ScheduledJobInfo>> ListAsync(CancellationToken cancellationToken = default)
    {
        var list = await DescribeAsync(_plan, _jobs, _store, _time, new Dictionary<string, DateTimeOffset?>(), cancellationToken);
        var scheduled = await _store.ScheduledJobsAsync(cancellationToken);
        return scheduled is null ? list : [.. list.Select(j => j with { Scheduled = scheduled.Contains(j.Job.Name) })];
    }

    /// <summary>Runs <paramref name="job"/> now in this process, with its timeout and retries; returns its attempts.</summary>
    public Task<IReadOnlyList<JobRunRecord>> RunAsync(string job, CancellationToken cancellationToken = default) =>
        _runner.RunAsync(Find(job).Name, JobCauses.Manual, null, cancellationToken);

    /// <summary>Pauses <paramref name="job"/>; returns the RPO warning, if the pause takes a component past its maximum.</summary>
    public Task<string?> PauseAsync(string job, string reason, DateTimeOffset? until, string? by, CancellationToken cancellationToken = default) =>
        PauseAsync(_plan, Find(job), _store, _time, reason, until, by, cancellationToken);

    /// <summary>Ends a pause; false when the job was not paused.</summary>
    public Task<bool> ResumeAsync(string job, CancellationToken cancellationToken = default) => _store.ResumeAsync(Find(job).Name, cancellationToken);

    /// <summary>The newest attempts first (of one job, or all).</summary>
    public Task<IReadOnlyList<JobRunRecord>> HistoryAsync(string? job = null, int limit = 50, CancellationToken cancellationToken = default) =>
        _store.HistoryAsync(job is null ? null : Find(job).Name, limit, cancellationToken);

    /// <summary>The job named <paramref name="job"/>, or <see cref="UnknownJobException"/>.</summary>
    public ScheduledJob Find(string job) => _jobs.FirstOrDefault(j => j.Name == job) ?? throw new UnknownJobException(job, _jobs.Select(j => j.Name).ToList());

    internal static async Task<IReadOnlyList<ScheduledJobInfo>> DescribeAsync(LifelinePlan plan, IReadOnlyList<ScheduledJob> jobs, SchedulerStore store, TimeProvider time,
        IReadOnlyDictionary<string, DateTimeOffset?> quartzNext, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        var pauses = await store.PausesAsync(ct);
        var last = await store.LastRunsAsync(ct);
        var lastOk = await store.LastSuccessAsync(ct);
        return jobs.Select(job =>
        {
            var pause = pauses.GetValueOrDefault(job.Name);
            var next = quartzNext.TryGetValue(job.Name, out var q) && q is not null ? q : PlanJobs.NextRun(job, now);
            if (pause is not null)
            {
                // the pause ends at Until: a slot at that very instant runs
                next = pause.Until is { } until ? PlanJobs.NextRun(job, (until > now ? until : now).AddTicks(-1)) : null;
            }

            var warning = pause is null ? null : PauseWarning(plan, job, pause, lastOk.TryGetValue(job.Name, out var ok) ? ok : null, now);
            return new ScheduledJobInfo(job, next, pause, last.GetValueOrDefault(job.Name), warning);
        }).ToList();
    }

    internal static async Task<string?> PauseAsync(LifelinePlan plan, ScheduledJob job, SchedulerStore store, TimeProvider time, string reason, DateTimeOffset? until, string? by,
        CancellationToken ct)
    {
        if (string.IsNullOrWhiteSpace(reason))
        {
            throw new ArgumentException("a pause needs a reason (--reason \"...\"): it is what the next person reads in 'lifeline status'", nameof(reason));
        }

        var now = time.GetUtcNow();
        if (until is { } u && u <= now)
        {
            throw new ArgumentException($"--until {u:yyyy-MM-dd HH:mm}Z is not in the future", nameof(until));
        }

        var pause = new JobPause(job.Name, reason.Trim(), by, now, until);
        await store.PauseAsync(pause, ct);
        var lastOk = (await store.LastSuccessAsync(ct)).TryGetValue(job.Name, out var ok) ? ok : (DateTimeOffset?)null;
        return PauseWarning(plan, job, pause, lastOk, now);
    }

    /// <summary>For a (non-full) backup job: the first component whose recovery point the pause takes past its RPO
    /// maximum, counted from the job's last good run (or now) to the first run after the pause; null when none does.</summary>
    internal static string? PauseWarning(LifelinePlan plan, ScheduledJob job, JobPause pause, DateTimeOffset? lastOk, DateTimeOffset now)
    {
        if (job.Kind != ScheduledJobKind.Backup || job.Full)
        {
            return null;
        }

        var since = lastOk ?? now;
        foreach (var component in job.Components)
        {
            var (_, max) = StatusCalculator.RpoObjective(plan, component);
            if (max is not { } m)
            {
                continue;
            }

            if (pause.Until is not { } until)
            {
                return $"paused with no end: {component} passes its RPO maximum {PlanDuration.Format(m)} at {since + m:yyyy-MM-dd HH:mm}Z; give --until or resume it before then";
            }

            var firstRun = PlanJobs.NextRun(job, until.AddTicks(-1)) ?? until;
            var age = firstRun - since;
            if (age > m)
            {
                return $"{component}'s recovery point will be {PlanDuration.Format(TimeSpan.FromMinutes(Math.Ceiling(age.TotalMinutes)))} old at the first backup after the pause " +
                    $"({firstRun:yyyy-MM-dd HH:mm}Z), past its RPO maximum {PlanDuration.Format(m)}";
            }
        }

        return null;
    }
}
