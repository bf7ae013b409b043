using System.Runtime.CompilerServices;
using Lifeline.Recovery.Audit;
using Lifeline.Recovery.Configuration;
using Lifeline.Recovery.Incidents;
using Lifeline.Recovery.Plan;
using Lifeline.Recovery.Status;
using Lifeline.Recovery.Verification;

namespace Lifeline.Recovery.Reports;

/// <summary>What a report is gathered from. Only the plan and the audit records are required; every other source
/// that is missing is said so in the report (<see cref="ReportModel.NotRead"/>).</summary>
public sealed record ReportSources
{
    /// <summary>The default period: 30 days.</summary>
    public static readonly TimeSpan DefaultPeriod = TimeSpan.FromDays(30);

    /// <summary>The plan.</summary>
    public required LifelinePlan Plan { get; init; }

    /// <summary>The audit records of every location, merged, oldest first (<see cref="PlanHistory"/>).</summary>
    public required IReadOnlyList<AuditRecord> Audit { get; init; }

    /// <summary>The status computed from the vaults (<c>lifeline status</c>); null when they could not be opened
    /// (no password): the recovery points then come from the audit records alone.</summary>
    public StatusReport? Status { get; init; }

    /// <summary>The evidence of the checks; null when it could not be read.</summary>
    public IEvidenceLog? Evidence { get; init; }

    /// <summary>The incidents; null when none are recorded where the report runs.</summary>
    public IIncidentReader? Incidents { get; init; }

    /// <summary>What could not be read, one line each, carried into the report.</summary>
    public IReadOnlyList<string> NotRead { get; init; } = [];

    /// <summary>The period the report covers, back from now (default <see cref="DefaultPeriod"/>).</summary>
    public TimeSpan Period { get; init; } = DefaultPeriod;

    /// <summary>The plan file's path, shown in the report.</summary>
    public string? PlanFile { get; init; }

    /// <summary>The clock.</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;
}

/// <summary>Gathers a <see cref="ReportModel"/> from the plan, the status, the audit history, the evidence and the
/// incidents (docs/reports.md says where each figure comes from). Every free text is redacted again on the way in.</summary>
internal static class ReportBuilder
{
    /// <summary>The restore checks whose evidence gives a restore speed.</summary>
    internal static readonly IReadOnlyList<string> RestoreChecks = ["restore-speed", "restore-test"];

    public static async Task<ReportModel> BuildAsync(ReportSources sources, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(sources);
        var plan = sources.Plan;
        var now = sources.Time.GetUtcNow();
        var start = now - sources.Period;
        var notRead = sources.NotRead.Select(Redact).ToList();
        var audit = sources.Audit;
        var history = new AuditBackupHistory(new ListAuditLog(audit));

        PlanCheckReport check;
        try
        {
            check = await new PlanChecker(sources.Time, history).CheckAsync(plan, cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // the report still shows what was measured; only the worst cases and findings are missing
            check = new PlanCheckReport { File = sources.PlanFile ?? plan.Source.File, Findings = [] };
            notRead.Add($"plan check could not run: {Redact(Locations.LocationSet.FirstLine(e.Message))}");
        }

        var evidence = new List<EvidenceRecord>();
        if (sources.Evidence is { } log)
        {
            try
            {
                await foreach (var e in log.ReadAsync(cancellationToken))
                {
                    evidence.Add(e);
                }
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                notRead.Add($"the evidence of the checks could not be read: {Redact(Locations.LocationSet.FirstLine(e.Message))}");
            }
        }
        else
        {
            notRead.Add("the evidence of the checks was not read");
        }

        if (sources.Status is null)
        {
            notRead.Add("the vaults were not opened (no password): recovery points come from the audit records alone");
        }

        var components = new List<ReportComponent>();
        foreach (var c in plan.Components)
        {
            components.Add(await ComponentAsync(plan, c, sources.Status, audit, history, check, evidence, start, now, cancellationToken));
        }

        var scenarios = new List<ReportScenario>();
        foreach (var s in plan.Objectives.Scenarios)
        {
            scenarios.Add(await ScenarioAsync(plan, s, history, evidence, cancellationToken));
        }

        var jobs = (sources.Status?.Jobs ?? []).Select(j => new ReportJob(j.Job, j.Kind, Word(j.Color), Redact(j.Reason))).ToList();
        var colors = components.Select(c => c.Color).Concat(jobs.Select(j => j.Color)).ToList();
        var overall = colors.Count == 0 || colors.Contains("red") ? "red" : colors.Contains("amber") ? "amber" : "green";
        return new ReportModel
        {
            Plan = plan.Name,
            Owner = plan.Owner,
            PlanFile = sources.PlanFile,
            GeneratedAt = now,
            PeriodStart = start,
            PeriodSeconds = sources.Period.TotalSeconds,
            Overall = overall,
            StatusSource = sources.Status is null ? "audit" : "vaults",
            NotRead = notRead,
            Objectives = new ReportObjectives
            {
                RtoTargetSeconds = Seconds(plan.Objectives.Rto.Target),
                RtoMaxSeconds = Seconds(plan.Objectives.Rto.EffectiveMax),
                RpoTargetSeconds = Seconds(plan.Objectives.Rpo.Target),
                RpoMaxSeconds = Seconds(plan.Objectives.Rpo.EffectiveMax),
            },
            Components = components,
            Scenarios = scenarios,
            Checks = Checks(plan, evidence, start),
            Incidents = await IncidentsAsync(sources.Incidents, start, now, cancellationToken),
            Jobs = jobs,
            Findings = check.Findings
                .Where(f => f.Severity != FindingSeverity.Info)
                .Select(f => new ReportFinding(f.Severity == FindingSeverity.Error ? "error" : "warning", f.Rule, f.Subject, Redact(f.Message)))
                .ToList(),
        };
    }

    private static async Task<ReportComponent> ComponentAsync(LifelinePlan plan, PlanComponent c, StatusReport? statusReport, IReadOnlyList<AuditRecord> audit,
        AuditBackupHistory history, PlanCheckReport check, List<EvidenceRecord> evidence, DateTimeOffset start, DateTimeOffset now, CancellationToken ct)
    {
        var (target, max) = StatusCalculator.RpoObjective(plan, c.Name);
        var policy = plan.FindPolicy(c.Policy);
        var required = RequiredLocations(policy);
        var points = RecoveryPoints(audit, c.Name, required);
        var (samples, peak) = AgeSeries(points, start, now);
        var status = statusReport?.Components.FirstOrDefault(s => s.Component == c.Name);
        var rpo = check.Components.FirstOrDefault(r => r.Component == c.Name);

        string color, reason;
        string? pointId;
        DateTimeOffset? pointTime;
        if (status is not null)
        {
            (color, reason, pointId, pointTime) = (Word(status.Color), status.Reason, status.RecoveryPoint?.Id, status.RecoveryPoint?.Time);
        }
        else
        {
            var newest = points.Where(p => p.Available <= now).MaxBy(p => p.Data);
            (pointId, pointTime) = (newest?.Snapshot, newest?.Data);
            (color, reason) = FromAudit(policy, required, newest is null ? null : now - newest.Data, target, max, audit, c.Name);
        }

        var inPeriod = audit.Where(r => r.Action == AuditActions.Backup && r.Component == c.Name && r.Time >= start && r.Time <= now).ToList();
        var ok = inPeriod.Where(r => r.Outcome == AuditOutcomes.Ok).ToList();
        var last = inPeriod.MaxBy(r => r.Time);
        var lastOk = audit.Where(r => r.Action == AuditActions.Backup && r.Component == c.Name && r.Outcome == AuditOutcomes.Ok && r.Bytes is not null).MaxBy(r => r.Time);
        var totals = ok.Select(r => r.Duration.TotalSeconds).Order().ToList();
        var restores = await history.GetRecentRestoresAsync(c.Name, 20, ct);
        var speeds = restores.Where(r => r.Duration > TimeSpan.Zero).Select(r => r.Bytes / r.Duration.TotalSeconds).ToList();

        var mine = evidence.Where(e => e.Component == c.Name).ToList();
        var lastChecks = mine
            .GroupBy(e => (e.Check, e.Location))
            .Select(g => g.MaxBy(e => e.Time)!)
            .OrderBy(e => e.Check, StringComparer.Ordinal).ThenBy(e => e.Location, StringComparer.Ordinal)
            .Select(e =>
            {
                var period = mine.Where(x => x.Check == e.Check && x.Time >= start && x.Time <= now).ToList();
                return new ReportCheckResult
                {
                    Check = e.Check,
                    Location = e.Location,
                    Time = e.Time,
                    Passed = e.Passed,
                    Summary = Redact(e.Summary),
                    PassRate = period.Count == 0 ? null : (double)period.Count(x => x.Passed) / period.Count,
                    Evidence = e.Id.Length == 0 ? null : e.Id,
                };
            })
            .ToList();

        var (overTarget, overMax) = (Over(samples, target), Over(samples, max));
        return new ReportComponent
        {
            Name = c.Name,
            Policy = c.Policy,
            Schedule = policy?.Schedule.ToString(),
            Color = color,
            Reason = Redact(reason),
            RecoveryPoint = pointId,
            RecoveryPointTime = pointTime,
            AgeSeconds = status?.Age is { } age ? age.TotalSeconds : pointTime is { } t ? (now - t).TotalSeconds : null,
            RpoTargetSeconds = Seconds(target),
            RpoMaxSeconds = Seconds(max),
            WorstCaseRpoSeconds = Seconds(rpo?.WorstCase),
            WorstCaseMeasured = rpo?.Measured ?? false,
            WorstCaseBasis = rpo?.Basis,
            HasHistory = samples.Count > 0,
            Backups = new ReportBackups
            {
                Ok = ok.Count,
                Partial = inPeriod.Count(r => r.Outcome == AuditOutcomes.Partial),
                Failed = inPeriod.Count(r => r.Outcome is AuditOutcomes.Failed or AuditOutcomes.Interrupted),
                LastTime = last?.Time,
                LastOutcome = last?.Outcome,
                LastMessage = last is { Outcome: not AuditOutcomes.Ok, Message: { } m } ? Redact(m) : null,
                Bytes = lastOk?.Bytes,
                MaxBackupSeconds = ok.Count == 0 ? null : ok.Max(r => (r.BackupDuration ?? r.Duration).TotalSeconds),
                MaxCopySeconds = ok.Count == 0 ? null : ok.Max(r => (r.CopyDuration ?? TimeSpan.Zero).TotalSeconds),
                MaxVerifySeconds = ok.Count == 0 ? null : ok.Max(r => (r.VerifyDuration ?? TimeSpan.Zero).TotalSeconds),
                MedianTotalSeconds = totals.Count == 0 ? null : totals.Count % 2 == 1 ? totals[totals.Count / 2] : (totals[(totals.Count / 2) - 1] + totals[totals.Count / 2]) / 2,
            },
            Restores = new ReportRestores
            {
                Count = restores.Count,
                LastTime = restores.Count == 0 ? null : restores.Max(r => r.StartedAt),
                SlowestBytesPerSecond = speeds.Count == 0 ? null : speeds.Min(),
                FastestBytesPerSecond = speeds.Count == 0 ? null : speeds.Max(),
            },
            Age = samples,
            PeakAgeSeconds = peak,
            OverTargetSeconds = overTarget,
            OverMaxSeconds = overMax,
            LastChecks = lastChecks,
        };
    }

    /// <summary>The locations a point must be verified in to count (as <see cref="StatusCalculator"/>: an on-change
    /// policy's secondary, every named location otherwise).</summary>
    private static List<string> RequiredLocations(BackupPolicy? policy)
    {
        if (policy is null)
        {
            return [];
        }

        var named = policy.Locations.Named().ToList();
        return policy.Schedule.OnChange && named.Any(n => n.Role == "secondary")
            ? [named.First(n => n.Role == "secondary").Location]
            : named.Select(n => n.Location).Distinct().ToList();
    }

    /// <summary>A recovery point as the audit records show it.</summary>
    /// <param name="Snapshot">Its id.</param>
    /// <param name="Data">When its backup started (the time its data is from).</param>
    /// <param name="Available">When it was verified in the last required location (it counts from then on).</param>
    internal sealed record AuditPoint(string Snapshot, DateTimeOffset Data, DateTimeOffset Available);

    /// <summary>Every recovery point of <paramref name="component"/> in the audit records: a snapshot of a backup
    /// whose backup and verify records together list every required location.</summary>
    internal static List<AuditPoint> RecoveryPoints(IReadOnlyList<AuditRecord> audit, string component, IReadOnlyList<string> required)
    {
        var list = new List<AuditPoint>();
        if (required.Count == 0)
        {
            return list;
        }

        var bySnapshot = audit
            .Where(r => r.Snapshot is not null && r.Component == component && r.Outcome != AuditOutcomes.Failed && r.Outcome != AuditOutcomes.Interrupted
                && (r.Action == AuditActions.Backup || r.Action == AuditActions.Verify))
            .GroupBy(r => r.Snapshot!, StringComparer.Ordinal);
        foreach (var g in bySnapshot)
        {
            var backup = g.Where(r => r.Action == AuditActions.Backup).MinBy(r => r.Time);
            if (backup is null)
            {
                continue;
            }

            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var r in g.OrderBy(r => r.Time + r.Duration))
            {
                seen.UnionWith(r.VerifiedIn);
                if (required.All(seen.Contains))
                {
                    list.Add(new AuditPoint(g.Key, backup.Time, r.Time + r.Duration));
                    break;
                }
            }
        }

        return list.OrderBy(p => p.Available).ToList();
    }

    /// <summary>The sawtooth: at each moment the age is the time since the newest point available then was taken.</summary>
    internal static (List<ReportAgeSample> Samples, double? Peak) AgeSeries(IReadOnlyList<AuditPoint> points, DateTimeOffset start, DateTimeOffset now)
    {
        var samples = new List<ReportAgeSample>();
        DateTimeOffset? newest = points.Where(p => p.Available <= start).Select(p => (DateTimeOffset?)p.Data).Max();
        if (newest is { } n0)
        {
            samples.Add(new ReportAgeSample(start, (start - n0).TotalSeconds));
        }

        foreach (var p in points.Where(p => p.Available > start && p.Available <= now))
        {
            if (newest is { } before)
            {
                samples.Add(new ReportAgeSample(p.Available, (p.Available - before).TotalSeconds));
            }

            newest = newest is { } b && b > p.Data ? b : p.Data;
            samples.Add(new ReportAgeSample(p.Available, (p.Available - newest.Value).TotalSeconds));
        }

        if (newest is { } last && (samples.Count == 0 || samples[^1].Time < now))
        {
            samples.Add(new ReportAgeSample(now, (now - last).TotalSeconds));
        }

        return (samples, samples.Count == 0 ? null : samples.Max(s => s.AgeSeconds));
    }

    /// <summary>How long the sawtooth is above <paramref name="threshold"/>: the rising part of each segment above it.</summary>
    internal static double Over(IReadOnlyList<ReportAgeSample> samples, TimeSpan? threshold)
    {
        if (threshold is not { } t)
        {
            return 0;
        }

        var total = 0.0;
        for (var i = 1; i < samples.Count; i++)
        {
            var (a, b) = (samples[i - 1], samples[i]);
            if (b.Time > a.Time)
            {
                total += Math.Max(0, b.AgeSeconds - Math.Max(a.AgeSeconds, t.TotalSeconds));
            }
        }

        return total;
    }

    private static (string Color, string Reason) FromAudit(BackupPolicy? policy, List<string> required, TimeSpan? age, TimeSpan? target, TimeSpan? max, IReadOnlyList<AuditRecord> audit, string component)
    {
        if (policy is null)
        {
            return ("red", "no backup policy in the plan: add one (lifeline plan check)");
        }

        if (age is not { } a)
        {
            return ("red", $"no backup record shows a recovery point verified in {string.Join(", ", required)}: run 'lifeline backup {component}'");
        }

        var last = audit.Where(r => r.Action == AuditActions.Backup && r.Component == component).MaxBy(r => r.Time);
        var words = PlanDuration.Format(TimeSpan.FromSeconds(Math.Floor(a.TotalSeconds)));
        if (last is { Outcome: AuditOutcomes.Failed })
        {
            return ("red", $"the last backup ({last.Time:yyyy-MM-dd HH:mm}Z) failed: {last.Message}");
        }

        if (max is { } m && a > m)
        {
            return ("red", $"recovery point is {words} old, over the RPO maximum {PlanDuration.Format(m)}");
        }

        if (target is { } t && a > t)
        {
            return ("amber", $"recovery point is {words} old, over the RPO target {PlanDuration.Format(t)}");
        }

        return ("green", $"recovery point is {words} old, within the RPO target {(target is null ? "(none)" : PlanDuration.Format(target.Value))} (from the audit records)");
    }

    private static async Task<ReportScenario> ScenarioAsync(LifelinePlan plan, PlanScenario s, AuditBackupHistory history, List<EvidenceRecord> evidence, CancellationToken ct)
    {
        var rtoTarget = s.Rto.Target ?? plan.Objectives.Rto.Target;
        var rtoMax = s.Rto.Max ?? plan.Objectives.Rto.EffectiveMax;
        var budget = s.RestoreBudget ?? rtoTarget;
        var projections = new List<ReportRestoreProjection>();
        foreach (var name in s.Components.Distinct())
        {
            var backups = await history.GetRecentBackupsAsync(name, 1, ct);
            long? bytes = backups.Count == 0 ? null : backups[0].Bytes;
            var restores = await history.GetRecentRestoresAsync(name, 20, ct);
            var speeds = restores.Where(r => r.Duration > TimeSpan.Zero && r.Bytes > 0).Select(r => r.Bytes / r.Duration.TotalSeconds).ToList();
            var test = evidence.Where(e => e.Component == name && e.Passed && RestoreChecks.Contains(e.Check)).MaxBy(e => e.Time);
            if (speeds.Count > 0 && bytes is { } b)
            {
                var speed = speeds.Min();
                projections.Add(new ReportRestoreProjection { Component = name, Bytes = b, BytesPerSecond = speed, Seconds = Math.Ceiling(b / speed), Basis = "measured-restore" });
            }
            else if (test is not null && TestProjection(test, bytes) is { } p)
            {
                projections.Add(new ReportRestoreProjection { Component = name, Bytes = p.Bytes, BytesPerSecond = p.Speed, Seconds = p.Seconds, Basis = "restore-test" });
            }
            else
            {
                projections.Add(new ReportRestoreProjection { Component = name, Bytes = bytes, Basis = "none" });
            }
        }

        var known = projections.Where(p => p.Seconds is not null).ToList();
        double? total = known.Count == 0 ? null : known.Sum(p => p.Seconds!.Value);
        var verdict = budget is not { } bud || total is null ? "unknown"
            : total > bud.TotalSeconds ? "over"
            : known.Count < projections.Count ? "unknown"
            : "within";
        return new ReportScenario
        {
            Name = s.Name,
            Title = s.Title,
            Impact = s.Impact,
            RtoTargetSeconds = Seconds(rtoTarget),
            RtoMaxSeconds = Seconds(rtoMax),
            RpoTargetSeconds = Seconds(s.Rpo.Target ?? plan.Objectives.Rpo.Target),
            RpoMaxSeconds = Seconds(s.Rpo.Max ?? plan.Objectives.Rpo.EffectiveMax),
            RestoreBudgetSeconds = Seconds(budget),
            Components = projections,
            ProjectedSeconds = total,
            Verdict = verdict,
        };
    }

    /// <summary>A restore test's projection: its <c>projectedSeconds</c> when it gives one, else the full size over its
    /// measured <c>bytesPerSecond</c> (or <c>bytes</c> ÷ <c>seconds</c>).</summary>
    private static (long? Bytes, double? Speed, double Seconds)? TestProjection(EvidenceRecord e, long? bytes)
    {
        var n = e.Numbers;
        double? speed = n.TryGetValue("bytesPerSecond", out var bps) && bps > 0 ? bps
            : n.TryGetValue("bytes", out var rb) && n.TryGetValue("seconds", out var rs) && rb > 0 && rs > 0 ? rb / rs
            : null;
        var size = (n.TryGetValue("sourceBytes", out var fb) || n.TryGetValue("fullBytes", out fb)) && fb > 0 ? (long)fb : bytes;
        if (n.TryGetValue("projectedSeconds", out var projected) && projected >= 0)
        {
            return (size, speed, projected);
        }

        return speed is { } sp && size is { } sz ? (sz, sp, Math.Ceiling(sz / sp)) : null;
    }

    private static List<ReportCheck> Checks(LifelinePlan plan, List<EvidenceRecord> evidence, DateTimeOffset start)
    {
        var planned = plan.Verification.Checks.SelectMany(k => k.Run);
        var names = planned.Concat(evidence.Select(e => e.Check)).Distinct(StringComparer.Ordinal).ToList();
        return names.Select(name =>
        {
            var all = evidence.Where(e => e.Check == name).ToList();
            var period = all.Where(e => e.Time >= start).ToList();
            var last = all.MaxBy(e => e.Time);
            return new ReportCheck
            {
                Check = name,
                Runs = period.Count,
                Passed = period.Count(e => e.Passed),
                PassRate = period.Count == 0 ? null : (double)period.Count(e => e.Passed) / period.Count,
                LastTime = last?.Time,
                LastPassed = last?.Passed,
            };
        }).ToList();
    }

    private static async Task<ReportIncidents> IncidentsAsync(IIncidentReader? reader, DateTimeOffset start, DateTimeOffset now, CancellationToken ct)
    {
        if (reader is null)
        {
            return new ReportIncidents { Recorded = false, Note = "incidents are not recorded here (no incident store was read), so none are shown" };
        }

        var all = await reader.ListAsync(openOnly: false, ct);
        var items = all
            .Where(i => i.OpenedAt >= start || i.State != IncidentStates.Resolved || i.ResolvedAt >= start)
            .OrderByDescending(i => i.OpenedAt)
            .Select(i => new ReportIncident
            {
                Id = i.Id,
                Title = Redact(i.Title),
                Severity = i.Severity,
                State = i.State,
                IsDrill = i.IsDrill,
                Components = i.Components,
                OpenedAt = i.OpenedAt,
                AcknowledgedAt = i.AcknowledgedAt,
                ResolvedAt = i.ResolvedAt,
                DurationSeconds = ((i.ResolvedAt ?? now) - i.OpenedAt).TotalSeconds,
            })
            .ToList();
        return new ReportIncidents { Recorded = true, Open = all.Count(i => i.State != IncidentStates.Resolved), Items = items };
    }

    internal static string Word(StatusColor color) => color switch
    {
        StatusColor.Green => "green",
        StatusColor.Amber => "amber",
        _ => "red",
    };

    private static double? Seconds(TimeSpan? t) => t?.TotalSeconds;

    private static string Redact(string text) => Secrets.RedactText(text);

    /// <summary>Records already read.</summary>
    private sealed class ListAuditLog(IReadOnlyList<AuditRecord> records) : IAuditLog
    {
        public Task<AuditRecord> AppendAsync(AuditRecord record, CancellationToken cancellationToken = default) =>
            throw new InvalidOperationException("a report reads the audit, never writes it");

        public async IAsyncEnumerable<AuditRecord> ReadAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
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
