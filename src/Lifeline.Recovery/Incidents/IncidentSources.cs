using System.Globalization;
using Lifeline.Recovery.Audit;
using Lifeline.Recovery.Plan;
using Lifeline.Recovery.Status;
using Lifeline.Recovery.Verification;

namespace Lifeline.Recovery.Incidents;

/// <summary>
/// What the incidents service of <c>lifeline up</c> turns into signals each round (docs/incidents.md "Sources"): the
/// status (a component past its RPO maximum), the audit records (a location that every component's newest backup
/// failed to reach: one location-down cause), the scheduler's jobs (a red job: failed or missed), a pack damaged on read-back (after-write, after-copy) and the scoring
/// service's rollback and failover counters. Each source states every cause it watches, bad or healthy, every round;
/// the manager records only what changed, so repeating a state costs no write. Summaries are stable while the state
/// is (no ages that grow each round), so a repeated observation adds nothing to the timeline.
/// </summary>
internal static class IncidentSources
{
    /// <summary>rpo:COMPONENT: bad while the newest verified recovery point is older than the RPO maximum.</summary>
    public static IEnumerable<IncidentSignal> Rpo(StatusReport report)
    {
        foreach (var c in report.Components)
        {
            if (c.RecoveryPoint is not { } point || c.Age is not { } age || c.RpoMax is not { } max)
            {
                continue;
            }

            var bad = age > max;
            yield return new IncidentSignal
            {
                Cause = $"rpo:{c.Component}",
                Kind = SignalKinds.RpoExceeded,
                Component = c.Component,
                Healthy = !bad,
                Severity = Severities.Error,
                Summary = bad
                    ? $"{c.Component}: the newest verified recovery point ({IncidentReport.Time(point.Time)}) is older than the RPO maximum {PlanDuration.Format(max)}"
                    : $"{c.Component}: a recovery point of {IncidentReport.Time(point.Time)} is within the RPO maximum {PlanDuration.Format(max)}",
                EvidenceId = point.Id,
                Time = report.Time,
            };
        }
    }

    /// <summary>location:NAME: bad for each component when the newest backup of every component that uses the
    /// location failed to reach it; healthy for each component whose newest backup is verified there. A location
    /// that fails for some components only is not a location down (their status and checks report them).</summary>
    public static IEnumerable<IncidentSignal> Locations(LifelinePlan plan, IReadOnlyList<AuditRecord> records, DateTimeOffset now)
    {
        var newest = records
            // an interrupted backup (its process was killed) says nothing about the locations: the next run completes it
            .Where(r => r.Action == AuditActions.Backup && r.Component is not null && r.Outcome is not (AuditOutcomes.Started or AuditOutcomes.Interrupted)
                // a backup stopped by a pack damaged on read-back reached no location, yet says nothing of the others:
                // its cause is the read-back's (ReadBack below), one incident, not one per location
                && !IsReadBackFailure(r))
            .GroupBy(r => r.Component!, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.MaxBy(r => r.Time)!, StringComparer.Ordinal);
        foreach (var location in plan.Locations)
        {
            var users = plan.Components
                .Where(c => newest.ContainsKey(c.Name) && plan.FindPolicy(c.Policy) is { } p && p.Locations.Named().Any(n => n.Location == location.Name))
                .Select(c => (c.Name, Record: newest[c.Name]))
                .ToList();
            if (users.Count == 0)
            {
                continue;
            }

            var failing = users.Where(u => !u.Record.VerifiedIn.Contains(location.Name)).ToList();
            var down = failing.Count == users.Count;
            foreach (var (component, record) in users)
            {
                var reached = record.VerifiedIn.Contains(location.Name);
                if (!down && !reached)
                {
                    continue;
                }

                yield return new IncidentSignal
                {
                    Cause = $"location:{location.Name}",
                    Kind = SignalKinds.LocationDown,
                    Component = component,
                    Healthy = reached,
                    Severity = Severities.Error,
                    Summary = reached
                        ? $"location {location.Name}: the backup of {component} of {IncidentReport.Time(record.Time)} is verified there"
                        : $"location {location.Name}: the backup of {component} of {IncidentReport.Time(record.Time)} ({record.Outcome}) did not reach it" +
                            (record.Message is { Length: > 0 } m ? $": {Lifeline.Recovery.Locations.LocationSet.FirstLine(m)}" : ""),
                    EvidenceId = record.Id is { Length: > 0 } id ? id : record.Operation,
                    Time = now,
                };
            }
        }
    }

    /// <summary>check:after-write:COMPONENT and check:after-copy:COMPONENT (the causes the verification runner gives
    /// these records): bad while the component's newest pack damaged on read-back (its evidence record) has no ok
    /// backup of the component at or after it; healthy once one has (the next backup wrote and read back new packs:
    /// the same rule as the status's checks). Only records written on a failure exist, so a component never damaged
    /// states nothing.</summary>
    public static IEnumerable<IncidentSignal> ReadBack(IReadOnlyList<EvidenceRecord> evidence, IReadOnlyList<AuditRecord> records, DateTimeOffset now)
    {
        var okSince = new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal);
        foreach (var r in records)
        {
            if (r.Action == AuditActions.Backup && r.Outcome == AuditOutcomes.Ok && r.Component is { } c && (!okSince.TryGetValue(c, out var t) || r.Time > t))
            {
                okSince[c] = r.Time;
            }
        }

        var newest = evidence
            .Where(r => r.Check is "after-write" or "after-copy" && !r.Passed && r.Component is not null)
            .GroupBy(VerificationRunner.CauseOf, StringComparer.Ordinal)
            .Select(g => g.MaxBy(r => r.Time)!);
        foreach (var r in newest)
        {
            var healthy = okSince.TryGetValue(r.Component!, out var ok) && ok >= r.Time;
            yield return new IncidentSignal
            {
                Cause = VerificationRunner.CauseOf(r),
                Kind = SignalKinds.CheckFailed,
                Component = r.Component,
                Location = r.Location,
                Healthy = healthy,
                Severity = Severities.Error,
                Summary = healthy
                    ? $"{r.Check} passes again for {r.Component}: a backup of {IncidentReport.Time(ok)} wrote and read back its packs"
                    : $"a pack of {r.Component} written to {r.Location ?? "its location"} is damaged on read-back ({r.Check}): {r.Summary}; the next backup writes it again",
                EvidenceId = r.Id.Length > 0 ? r.Id : null,
                Time = now,
            };
        }
    }

    /// <summary>A backup that failed because a pack it wrote was damaged on read-back (the vault's
    /// <c>PackReadBackException</c>): its audit record's <see cref="AuditRecord.FailureKind"/>. A record written
    /// before that field has none and counts as any failure (against the locations) until the next backup.</summary>
    internal static bool IsReadBackFailure(AuditRecord r) =>
        r.Outcome == AuditOutcomes.Failed && r.FailureKind == AuditFailureKinds.ReadBack;

    /// <summary>job:NAME: bad while the job is red (its last run failed, or it missed its slot), healthy otherwise.</summary>
    public static IEnumerable<IncidentSignal> Jobs(IReadOnlyList<JobStatus> jobs, DateTimeOffset now) =>
        jobs.Select(j => new IncidentSignal
        {
            Cause = $"job:{j.Job}",
            Kind = SignalKinds.JobFailed,
            Healthy = j.Color != StatusColor.Red,
            Severity = Severities.Error,
            Summary = $"job {j.Job} ({j.Kind}): {j.Reason}",
            EvidenceId = j.LastRun?.RunId,
            Time = now,
        });

    /// <summary>The value of the counter <paramref name="name"/> (without labels) in a Prometheus text exposition, or null.</summary>
    public static double? Counter(string exposition, string name)
    {
        foreach (var line in exposition.AsSpan().EnumerateLines())
        {
            if (line.StartsWith(name) && line.Length > name.Length && line[name.Length] == ' '
                && double.TryParse(line[(name.Length + 1)..].Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
            {
                return value;
            }
        }

        return null;
    }
}
