using Lifeline.Recovery.Audit;
using Lifeline.Recovery.Locations;
using Lifeline.Recovery.Plan;
using Lifeline.Recovery.Tags;

namespace Lifeline.Recovery.Status;

/// <summary>Where a component stands against its RPO.</summary>
public enum StatusColor
{
    /// <summary>The recovery point is within the RPO target and the last backup succeeded.</summary>
    Green,

    /// <summary>Older than the target but within the maximum.</summary>
    Amber,

    /// <summary>Older than the maximum, no recovery point, a required location unreadable, or the last backup failed.</summary>
    Red,
}

/// <summary>What one location holds of a component.</summary>
/// <param name="Location">Its name.</param>
/// <param name="Role">primary, secondary or tertiary.</param>
/// <param name="Required">True when the recovery point must be verified here.</param>
/// <param name="Newest">The newest point it holds, if any.</param>
/// <param name="Error">Why it could not be read, if so.</param>
public sealed record LocationStatus(string Location, string Role, bool Required, RecoveryPoint? Newest, string? Error);

/// <summary>The last backup of a component, from the history.</summary>
/// <param name="Time">When it started.</param>
/// <param name="Outcome">ok, partial or failed.</param>
/// <param name="Duration">How long it took.</param>
/// <param name="Message">Why it failed, or its summary.</param>
public sealed record LastBackup(DateTimeOffset Time, string Outcome, TimeSpan Duration, string? Message);

/// <summary>One component's status.</summary>
public sealed record ComponentStatus
{
    /// <summary>The component.</summary>
    public required string Component { get; init; }

    /// <summary>Its policy, if any.</summary>
    public string? Policy { get; init; }

    /// <summary>Its schedule as written (cron or on-change).</summary>
    public string? Schedule { get; init; }

    /// <summary>The recovery point: the newest point verified in every required location.</summary>
    public RecoveryPoint? RecoveryPoint { get; init; }

    /// <summary>The point's age now; null without a point.</summary>
    public TimeSpan? Age { get; init; }

    /// <summary>The component's RPO target (strictest of the plan's and its scenarios').</summary>
    public TimeSpan? RpoTarget { get; init; }

    /// <summary>The component's RPO maximum.</summary>
    public TimeSpan? RpoMax { get; init; }

    /// <summary>Green, amber or red.</summary>
    public required StatusColor Color { get; init; }

    /// <summary>Why it has that color, one line.</summary>
    public required string Reason { get; init; }

    /// <summary>The last backup, if the history has one.</summary>
    public LastBackup? LastBackup { get; init; }

    /// <summary>Per location of its policy.</summary>
    public IReadOnlyList<LocationStatus> Locations { get; init; } = [];

    /// <summary>For an on-change lake table: its replica's position in the secondary (docs/protection.md); the age and
    /// color come from it when it is newer than the vault point.</summary>
    public Protection.ContinuousPosition? Continuous { get; init; }
}

/// <summary>The status of every component of the plan.</summary>
/// <param name="Time">When it was computed.</param>
/// <param name="Components">In plan order.</param>
public sealed record StatusReport(DateTimeOffset Time, IReadOnlyList<ComponentStatus> Components)
{
    /// <summary>The scheduler's jobs (next run, pause, last run), when a scheduler store was read; empty otherwise.</summary>
    public IReadOnlyList<JobStatus> Jobs { get; init; } = [];

    /// <summary>The last result of each verification check per component (or location), from the evidence
    /// (docs/verification.md); empty when no check ran yet.</summary>
    public IReadOnlyList<Verification.EvidenceRecord> Checks { get; init; } = [];

    /// <summary>The open (and acknowledged) incidents, when an incident store was read; empty otherwise.</summary>
    public IReadOnlyList<Incidents.IncidentRecord> Incidents { get; init; } = [];

    /// <summary>The worst color, of the components, the jobs and the open incidents (critical or error: red; warning:
    /// amber; a drill's: none); red too when the last result of a check failed.</summary>
    public StatusColor Overall => Checks.Any(c => !c.Passed) || Components.Count == 0 ? StatusColor.Red
        : (StatusColor)Math.Max(Math.Max((int)Components.Max(c => c.Color), Jobs.Count == 0 ? 0 : (int)Jobs.Max(j => j.Color)), (int)IncidentColor);

    /// <summary>The color the open incidents give: red for a critical or error one, amber for a warning, green otherwise (drills never count).</summary>
    public StatusColor IncidentColor => Incidents.Where(i => !i.IsDrill && i.State != Lifeline.Recovery.Incidents.IncidentStates.Resolved)
        .Select(i => i.Severity is Lifeline.Recovery.Incidents.Severities.Critical or Lifeline.Recovery.Incidents.Severities.Error ? StatusColor.Red
            : i.Severity == Lifeline.Recovery.Incidents.Severities.Warning ? StatusColor.Amber : StatusColor.Green)
        .DefaultIfEmpty(StatusColor.Green).Max();
}

/// <summary>
/// Computes <c>lifeline status</c> from the locations and the history alone (no running process). A scheduled
/// component's recovery point is its newest snapshot verified in every location its policy names; an on-change
/// component's, the newest verified in its secondary (every location when it has none). "Verified" means a backup
/// or verify record of the history lists the location for that point. Age = now − the point's time (its data's
/// time); green ≤ RPO target &lt; amber ≤ RPO maximum &lt; red; red also without a point, when a required location
/// cannot be read, or when the last backup failed.
/// </summary>
public sealed class StatusCalculator(LifelinePlan plan, LocationSet locations, AuditBackupHistory history, TimeProvider? time = null)
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    /// <summary>The status of every component of the plan.</summary>
    public async Task<StatusReport> ComputeAsync(CancellationToken cancellationToken = default)
    {
        var records = await history.RecordsAsync(cancellationToken);
        var verified = records
            .Where(r => r.Snapshot is not null && r.Outcome != AuditOutcomes.Failed && (r.Action == AuditActions.Backup || r.Action == AuditActions.Verify))
            .SelectMany(r => r.VerifiedIn.Select(l => (r.Snapshot!, l)))
            .ToHashSet();
        var now = _time.GetUtcNow();
        var list = new List<ComponentStatus>();
        foreach (var c in plan.Components)
        {
            list.Add(await ComputeAsync(c, records, verified, now, cancellationToken));
        }

        return await Protection.ContinuousStatus.ApplyAsync(plan, locations, new StatusReport(now, list), cancellationToken);
    }

    private async Task<ComponentStatus> ComputeAsync(PlanComponent c, IReadOnlyList<AuditRecord> records, HashSet<(string, string)> verified, DateTimeOffset now, CancellationToken ct)
    {
        var (target, max) = RpoObjective(plan, c.Name);
        var last = records.Where(r => r.Action == AuditActions.Backup && r.Component == c.Name).MaxBy(r => r.Time) is { } lr
            ? new LastBackup(lr.Time, lr.Outcome, lr.Duration, lr.Message)
            : null;
        var policy = plan.FindPolicy(c.Policy);
        var status = new ComponentStatus { Component = c.Name, Policy = c.Policy, RpoTarget = target, RpoMax = max, LastBackup = last, Color = StatusColor.Red, Reason = "" };
        if (policy is null)
        {
            return status with { Reason = "no backup policy in the plan: add one (lifeline plan check)" };
        }

        status = status with { Schedule = policy.Schedule.ToString() };
        var named = locations.For(policy);
        if (named.Count == 0)
        {
            return status with { Reason = $"policy '{policy.Name}' names no location" };
        }

        var requiredNames = policy.Schedule.OnChange && named.Any(n => n.Role == "secondary")
            ? [named.First(n => n.Role == "secondary").Location.Name]
            : named.Select(n => n.Location.Name).ToList();
        var locationStatuses = new List<LocationStatus>();
        HashSet<string>? candidates = null;
        var points = new Dictionary<string, RecoveryPoint>(StringComparer.Ordinal);
        string? unreadable = null;
        foreach (var (role, info) in named)
        {
            var listing = await PointCatalog.ListAsync(locations, info.Name, c.Name, ct);
            var required = requiredNames.Contains(info.Name);
            locationStatuses.Add(new LocationStatus(info.Name, role, required, listing.Points.Select(p => p.Point).MaxBy(p => p.Time), listing.Error));
            foreach (var p in listing.Points)
            {
                points.TryAdd(p.Point.Id, p.Point);
            }

            if (!required)
            {
                continue;
            }

            if (listing.Error is not null)
            {
                unreadable ??= $"required location '{info.Name}' cannot be read: {listing.Error}";
            }

            var here = listing.Points.Where(p => verified.Contains((p.Point.Id, info.Name))).Select(p => p.Point.Id).ToHashSet(StringComparer.Ordinal);
            candidates = candidates is null ? here : [.. candidates.Intersect(here)];
        }

        var point = candidates?.Select(id => points[id]).OrderByDescending(p => p.Time).FirstOrDefault();
        status = status with { Locations = locationStatuses, RecoveryPoint = point, Age = point is null ? null : now - point.Time };
        var where = requiredNames.Count == 1 ? $"location '{requiredNames[0]}'" : $"every location of policy '{policy.Name}' ({string.Join(", ", requiredNames)})";
        if (unreadable is not null)
        {
            return status with { Reason = unreadable };
        }

        if (point is null)
        {
            return status with { Reason = $"no recovery point verified in {where}: run 'lifeline backup {c.Name}'" };
        }

        if (last is { Outcome: AuditOutcomes.Failed })
        {
            return status with { Reason = $"the last backup ({last.Time:yyyy-MM-dd HH:mm}Z) failed: {last.Message}" };
        }

        var age = status.Age!.Value;
        if (max is { } m && age > m)
        {
            return status with { Reason = $"recovery point is {PlanDuration.Format(Round(age))} old, over the RPO maximum {PlanDuration.Format(m)}" };
        }

        if (target is { } t && age > t)
        {
            return status with { Color = StatusColor.Amber, Reason = $"recovery point is {PlanDuration.Format(Round(age))} old, over the RPO target {PlanDuration.Format(t)} (maximum {(max is null ? "none" : PlanDuration.Format(max.Value))})" };
        }

        if (last is { Outcome: AuditOutcomes.Partial or AuditOutcomes.Interrupted })
        {
            return status with { Color = StatusColor.Amber, Reason = $"the last backup was {last.Outcome}: {last.Message}" };
        }

        return status with { Color = StatusColor.Green, Reason = $"recovery point is {PlanDuration.Format(Round(age))} old, within the RPO target {(target is null ? "(none)" : PlanDuration.Format(target.Value))}" };
    }

    private static TimeSpan Round(TimeSpan age) => TimeSpan.FromSeconds(Math.Max(0, Math.Floor(age.TotalSeconds)));

    /// <summary>A component's RPO: the strictest of the plan's and of every scenario naming it.</summary>
    public static (TimeSpan? Target, TimeSpan? Max) RpoObjective(LifelinePlan plan, string component)
    {
        ArgumentNullException.ThrowIfNull(plan);
        var target = plan.Objectives.Rpo.Target;
        var max = plan.Objectives.Rpo.EffectiveMax;
        foreach (var s in plan.Objectives.Scenarios.Where(s => s.Components.Contains(component)))
        {
            target = Min(target, s.Rpo.Target ?? plan.Objectives.Rpo.Target);
            max = Min(max, s.Rpo.Max ?? plan.Objectives.Rpo.EffectiveMax);
        }

        return (target, max);

        static TimeSpan? Min(TimeSpan? a, TimeSpan? b) => a is null ? b : b is null ? a : a < b ? a : b;
    }
}
