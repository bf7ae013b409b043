using System.Diagnostics;
using Lifeline.Recovery.Audit;

namespace Lifeline.Recovery.Verification.Checks;

/// <summary>
/// <c>backup-completed</c>: every component's backups since the last run of this check (its newest evidence record for
/// the component; the last day when there is none) succeeded, as the audit records them: the newest backup in the
/// window must not have failed or been interrupted, and a component with a schedule must have had a backup when a slot
/// of its schedule fell in the window (on-change components: when one of their backups ran in it).
/// </summary>
internal sealed class BackupCompletedCheck : IVerificationCheck
{
    /// <summary>How long after its slot a scheduled backup may still be running before its absence counts.</summary>
    public static readonly TimeSpan SlotGrace = TimeSpan.FromMinutes(30);

    /// <summary>The window when the check never ran for a component.</summary>
    public static readonly TimeSpan FirstWindow = TimeSpan.FromDays(1);

    public string Name => "backup-completed";

    public async Task<IReadOnlyList<EvidenceRecord>> RunAsync(VerificationContext context, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var now = context.Time.GetUtcNow();
        var audit = await context.Service.Audit.ReadAsync(cancellationToken).ToListAsync(cancellationToken);
        var evidence = await context.Service.Evidence.ReadAsync(cancellationToken).ToListAsync(cancellationToken);
        var records = new List<EvidenceRecord>();
        foreach (var component in VerificationRunner.ComponentsOf(context))
        {
            var since = evidence.Where(e => e.Check == Name && e.Component == component.Name && e.Time < now).Select(e => (DateTimeOffset?)e.Time).Max() ?? now - FirstWindow;
            var backups = audit.Where(r => r.Action == AuditActions.Backup && r.Component == component.Name && r.Time >= since && r.Time <= now
                && r.Outcome != AuditOutcomes.Started
                && !(r.Outcome == AuditOutcomes.Interrupted && r.Time > now - SlotGrace)).ToList(); // a young "interrupted" may still be running
            var ok = backups.Count(b => b.Outcome == AuditOutcomes.Ok);
            var partial = backups.Count(b => b.Outcome == AuditOutcomes.Partial);
            var failed = backups.Count(b => b.Outcome is AuditOutcomes.Failed or AuditOutcomes.Interrupted);
            var policy = context.Plan.FindPolicy(component.Policy);
            var due = policy?.Schedule.Cron is { } cron ? FirstSlot(cron, policy.TimeZone, since, now - SlotGrace) : null;
            var newest = backups.OrderBy(b => b.Time).LastOrDefault();
            string summary;
            bool passed;
            if (newest is { Outcome: AuditOutcomes.Failed or AuditOutcomes.Interrupted })
            {
                passed = false;
                summary = $"the newest backup ({newest.Time:yyyy-MM-dd HH:mm}Z) {newest.Outcome}: {newest.Message ?? "no message"}; {ok} ok, {partial} partial, {failed} failed since {since:yyyy-MM-dd HH:mm}Z";
            }
            else if (newest is null && due is { } slot)
            {
                passed = false;
                summary = $"no backup since {since:yyyy-MM-dd HH:mm}Z although the schedule '{policy!.Schedule}' had a slot at {slot:yyyy-MM-dd HH:mm}Z";
            }
            else
            {
                passed = true;
                summary = newest is null ? $"no backup was due since {since:yyyy-MM-dd HH:mm}Z"
                    : $"{ok} ok, {partial} partial, {failed} failed since {since:yyyy-MM-dd HH:mm}Z; the newest {newest.Outcome}";
            }

            records.Add(new EvidenceRecord
            {
                Check = Name,
                Run = context.Run,
                Component = component.Name,
                Against = $"the audit's backup records since {since:yyyy-MM-dd HH:mm}Z",
                Time = now,
                Duration = clock.Elapsed,
                Passed = passed,
                Summary = summary,
                Numbers = new Dictionary<string, double> { ["ok"] = ok, ["partial"] = partial, ["failed"] = failed },
            });
        }

        return records;
    }

    private static DateTimeOffset? FirstSlot(string cron, string? timeZone, DateTimeOffset from, DateTimeOffset to)
    {
        if (to <= from)
        {
            return null;
        }

        try
        {
            var zone = timeZone is null ? TimeZoneInfo.Utc : TimeZoneInfo.FindSystemTimeZoneById(timeZone);
            var next = Cronos.CronExpression.Parse(cron, Cronos.CronFormat.Standard).GetNextOccurrence(from, zone);
            return next is { } n && n <= to ? n : null;
        }
        catch (Exception e) when (e is Cronos.CronFormatException or TimeZoneNotFoundException or InvalidTimeZoneException)
        {
            return null; // plan check reports a bad schedule; this check does not guess
        }
    }
}
