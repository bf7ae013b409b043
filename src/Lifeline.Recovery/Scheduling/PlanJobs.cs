using Lifeline.Recovery.Plan;

namespace Lifeline.Recovery.Scheduling;

/// <summary>What a scheduled job does.</summary>
public enum ScheduledJobKind
{
    /// <summary>Backs up the components of one policy through <see cref="RecoveryService"/>.</summary>
    Backup,

    /// <summary>A verification check (<c>verification.checks</c>).</summary>
    Check,

    /// <summary>A recovery drill (<c>drills</c>).</summary>
    Drill,

    /// <summary>A user batch job (<c>jobs</c>).</summary>
    Batch,

    /// <summary>Applies the retention of every policy that has one (<c>maintenance.forget</c>).</summary>
    Forget,

    /// <summary>Drops the data no snapshot uses from every location (<c>maintenance.prune</c>).</summary>
    Prune,
}

/// <summary>What happens to the slots a job missed while the scheduler was down (or the job was still running).</summary>
public enum MisfirePolicy
{
    /// <summary>Every missed slot together is one run, as soon as the scheduler is back (backups, batch jobs).</summary>
    Coalesce,

    /// <summary>Missed slots are skipped; the job waits for its next slot (drills, verification checks).</summary>
    Skip,
}

/// <summary>One job the scheduler keeps, derived from the plan. Its name is what <c>lifeline jobs</c> takes.</summary>
public sealed record ScheduledJob
{
    /// <summary>Unique name: <c>backup-POLICY</c>, <c>backup-POLICY-full</c>, <c>check-NAME</c>, <c>drill-NAME</c>, <c>forget</c>, <c>prune</c> or the batch job's own.</summary>
    public required string Name { get; init; }

    /// <summary>What it does.</summary>
    public required ScheduledJobKind Kind { get; init; }

    /// <summary>Five-field cron expression or macro, as the plan writes it.</summary>
    public required string Schedule { get; init; }

    /// <summary>The IANA time zone the schedule is read in; null = UTC.</summary>
    public string? TimeZone { get; init; }

    /// <summary>How long one attempt may run before it is cancelled and recorded as timed out.</summary>
    public required TimeSpan Timeout { get; init; }

    /// <summary>How many times a failed attempt is retried.</summary>
    public int Retries { get; init; }

    /// <summary>The wait before each retry.</summary>
    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>What missed slots become.</summary>
    public required MisfirePolicy Misfire { get; init; }

    /// <summary>For a backup: the components of the policy; for a forget: the components whose policy has a retention.</summary>
    public IReadOnlyList<string> Components { get; init; } = [];

    /// <summary>For a backup: the policy's "full" re-read.</summary>
    public bool Full { get; init; }

    /// <summary>For a batch job: its definition.</summary>
    public PlanBatchJob? Batch { get; init; }

    /// <summary>The word used in the history and the CLI.</summary>
    public string KindWord => Kind.ToString().ToLowerInvariant();

    /// <summary>What decides the trigger: a change of any of these replaces it.</summary>
    internal string Fingerprint => string.Join('|', KindWord, Schedule, TimeZone ?? "UTC", Misfire);

    /// <summary>Value equality, lists compared by their items.</summary>
    public bool Equals(ScheduledJob? other) =>
        other is not null && Name == other.Name && Kind == other.Kind && Schedule == other.Schedule && TimeZone == other.TimeZone && Timeout == other.Timeout
        && Retries == other.Retries && RetryDelay == other.RetryDelay && Misfire == other.Misfire && Components.SequenceEqual(other.Components) && Full == other.Full
        && Equals(Batch, other.Batch);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Name, Kind, Schedule, TimeZone, Timeout, Retries, Misfire, Full);
}

/// <summary>The jobs a plan asks for, with the defaults docs/scheduling.md states.</summary>
public static class PlanJobs
{
    /// <summary>A backup attempt may run 2 hours.</summary>
    public static readonly TimeSpan BackupTimeout = TimeSpan.FromHours(2);

    /// <summary>A failed backup is retried twice...</summary>
    public const int BackupRetries = 2;

    /// <summary>...5 minutes apart.</summary>
    public static readonly TimeSpan BackupRetryDelay = TimeSpan.FromMinutes(5);

    /// <summary>A verification check may run 1 hour.</summary>
    public static readonly TimeSpan CheckTimeout = TimeSpan.FromHours(1);

    /// <summary>A drill may run 4 hours.</summary>
    public static readonly TimeSpan DrillTimeout = TimeSpan.FromHours(4);

    /// <summary>Retention and prune may run 2 hours.</summary>
    public static readonly TimeSpan MaintenanceTimeout = TimeSpan.FromHours(2);

    /// <summary>The jobs of <paramref name="plan"/>, in a stable order: backups (policy order), checks, drills,
    /// <c>forget</c> and <c>prune</c>, batch jobs. On-change policies have no scheduled job (the change watchers back
    /// them up); <c>forget</c> and <c>prune</c> exist when some component's policy has a retention.</summary>
    public static IReadOnlyList<ScheduledJob> FromPlan(LifelinePlan plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        var jobs = new List<ScheduledJob>();
        foreach (var policy in plan.Policies)
        {
            var components = plan.Components.Where(c => c.Policy == policy.Name).Select(c => c.Name).ToList();
            if (components.Count == 0)
            {
                continue;
            }

            if (policy.Schedule is { OnChange: false, Cron: { } cron })
            {
                jobs.Add(Backup($"backup-{policy.Name}", cron, policy.TimeZone, components, full: false));
            }

            if (policy.Full is { } full)
            {
                jobs.Add(Backup($"backup-{policy.Name}-full", full, policy.TimeZone, components, full: true));
            }
        }

        jobs.AddRange(plan.Verification.Checks.Select(c => new ScheduledJob
        {
            Name = $"check-{c.Name}", Kind = ScheduledJobKind.Check, Schedule = c.Schedule, Timeout = CheckTimeout, Misfire = MisfirePolicy.Skip,
        }));
        jobs.AddRange(plan.Drills.Select(d => new ScheduledJob
        {
            Name = $"drill-{d.Name}", Kind = ScheduledJobKind.Drill, Schedule = d.Schedule, Timeout = DrillTimeout, Misfire = MisfirePolicy.Skip,
        }));
        var retained = plan.Components.Where(c => plan.FindPolicy(c.Policy)?.Retention is { IsEmpty: false }).Select(c => c.Name).ToList();
        if (retained.Count > 0 && plan.Maintenance.Forget is { } forget)
        {
            jobs.Add(Maintenance("forget", ScheduledJobKind.Forget, forget, plan.Maintenance.TimeZone, retained));
        }

        if (retained.Count > 0 && plan.Maintenance.Prune is { } prune)
        {
            jobs.Add(Maintenance("prune", ScheduledJobKind.Prune, prune, plan.Maintenance.TimeZone, []));
        }

        jobs.AddRange(plan.Jobs.Select(j => new ScheduledJob
        {
            Name = j.Name,
            Kind = ScheduledJobKind.Batch,
            Schedule = j.Schedule,
            TimeZone = j.TimeZone,
            Timeout = j.Timeout ?? PlanBatchJob.DefaultTimeout,
            Retries = j.Retries,
            RetryDelay = j.RetryDelay ?? PlanBatchJob.DefaultRetryDelay,
            Misfire = MisfirePolicy.Coalesce,
            Batch = j,
        }));
        return jobs;
    }

    /// <summary>The names the plan's policies, checks and drills produce (a batch job may not take one).</summary>
    public static IReadOnlySet<string> DerivedNames(LifelinePlan plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        return FromPlan(plan with { Jobs = [] }).Select(j => j.Name).ToHashSet(StringComparer.Ordinal);
    }

    /// <summary>The next run of <paramref name="job"/> after <paramref name="after"/>, by Quartz's own cron reading
    /// (Unix format, the job's time zone); null when it never runs again or does not parse.</summary>
    public static DateTimeOffset? NextRun(ScheduledJob job, DateTimeOffset after)
    {
        ArgumentNullException.ThrowIfNull(job);
        return Cron(job) is { } cron ? cron.GetNextValidTimeAfter(after) : null;
    }

    /// <summary>The longest gap between two runs over the next 400 days (for the RPO check of a pause).</summary>
    internal static TimeSpan? Interval(ScheduledJob job, DateTimeOffset from)
    {
        var cron = Cron(job);
        if (cron is null)
        {
            return null;
        }

        TimeSpan? longest = null;
        var previous = cron.GetNextValidTimeAfter(from);
        var end = from.AddDays(400);
        for (var i = 0; previous is { } p && p < end && i < 20_000; i++)
        {
            var next = cron.GetNextValidTimeAfter(p);
            if (next is { } n && (longest is null || n - p > longest))
            {
                longest = n - p;
            }

            previous = next;
        }

        return longest;
    }

    /// <summary>Quartz's parse of the job's schedule, or null.</summary>
    internal static Quartz.CronExpression? Cron(ScheduledJob job)
    {
        if (!Quartz.CronExpression.TryParse(job.Schedule, Quartz.CronFormat.Unix, out var cron) || cron is null)
        {
            return null;
        }

        return job.TimeZone is { } tz && PlanParser.TryFindTimeZone(tz, out var zone) ? cron.WithTimeZone(zone) : cron.WithTimeZone(TimeZoneInfo.Utc);
    }

    // a failed upkeep is retried like a backup (a location may be down for minutes); missed slots are one run
    private static ScheduledJob Maintenance(string name, ScheduledJobKind kind, string cron, string? timeZone, List<string> components) => new()
    {
        Name = name,
        Kind = kind,
        Schedule = cron,
        TimeZone = timeZone,
        Timeout = MaintenanceTimeout,
        Retries = BackupRetries,
        RetryDelay = BackupRetryDelay,
        Misfire = MisfirePolicy.Coalesce,
        Components = components,
    };

    private static ScheduledJob Backup(string name, string cron, string? timeZone, List<string> components, bool full) => new()
    {
        Name = name,
        Kind = ScheduledJobKind.Backup,
        Schedule = cron,
        TimeZone = timeZone,
        Timeout = BackupTimeout,
        Retries = BackupRetries,
        RetryDelay = BackupRetryDelay,
        Misfire = MisfirePolicy.Coalesce,
        Components = components,
        Full = full,
    };
}
