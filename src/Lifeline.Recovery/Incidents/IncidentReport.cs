using System.Globalization;
using System.Text;
using Lifeline.Recovery.Plan;
using Lifeline.Recovery.Status;

namespace Lifeline.Recovery.Incidents;

/// <summary>
/// The incident report drafted when an incident resolves: Markdown with the fields of a blameless postmortem
/// (summary, impact, detection, timeline, root cause, resolution, action items, lessons learned), filled from the
/// incident's timeline and the plan's objectives; what only people know (the root cause, the lessons) is left for
/// them with what the timeline already says (docs/incidents.md "The report").
/// </summary>
internal static class IncidentReport
{
    /// <summary>The section headings, in order (every report has all of them).</summary>
    public static readonly IReadOnlyList<string> Sections =
        ["Summary", "Impact", "Detection", "Timeline", "Root cause", "Resolution", "Action items", "Lessons learned"];

    /// <summary>The report of the resolved <paramref name="incident"/>.</summary>
    public static string Draft(IncidentRecord incident, LifelinePlan plan)
    {
        ArgumentNullException.ThrowIfNull(incident);
        var resolvedAt = incident.ResolvedAt ?? incident.Timeline.LastOrDefault()?.Time ?? incident.OpenedAt;
        var duration = resolvedAt - incident.OpenedAt;
        var opened = incident.Timeline.FirstOrDefault(e => e.Kind == "opened");
        var signals = incident.Timeline.Where(e => e.Kind is "opened" or "signal").ToList();
        var resolution = incident.Timeline.LastOrDefault(e => e.Kind == "resolved");
        var firstNotice = incident.Timeline.FirstOrDefault(e => e.Kind == "notified");
        var role = plan.Roles.FirstOrDefault(r => r.Name == incident.OwnerRole);
        var components = incident.Components.Count == 0 ? "none named (the cause as a whole)" : string.Join(", ", incident.Components);
        var md = new StringBuilder();

        md.AppendLine(CultureInfo.InvariantCulture, $"# Incident report {incident.Id}: {incident.Title}");
        md.AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"Draft written by Lifeline at resolution; blameless: it is about systems and processes, not people. Review it and fill in what only people know.");
        md.AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"- Incident: {incident.Id}, cause `{incident.Cause}`, kind {incident.Kind}, severity {incident.Severity}{(incident.IsDrill ? ", **drill**" : "")}");
        md.AppendLine(CultureInfo.InvariantCulture, $"- Owner: {(role is null ? incident.OwnerRole ?? "no role in the plan" : $"{role.Title ?? role.Name} ({role.Name})")}");
        md.AppendLine(CultureInfo.InvariantCulture, $"- Opened {Time(incident.OpenedAt)}, acknowledged {(incident.AcknowledgedAt is { } a ? Time(a) : "never")}, resolved {Time(resolvedAt)}");

        Section(md, "Summary");
        md.AppendLine(CultureInfo.InvariantCulture,
            $"{(incident.IsDrill ? "A drill: " : "")}{incident.Title}. Lifeline opened the incident on {Count(signals.Count, "signal")} about {components} and it was resolved after {Duration(duration)}: {resolution?.Text ?? "resolved"}.");

        Section(md, "Impact");
        md.AppendLine(CultureInfo.InvariantCulture, $"- Components: {components}");
        md.AppendLine(CultureInfo.InvariantCulture, $"- Duration: {Duration(duration)} (opened {Time(incident.OpenedAt)} to resolved {Time(resolvedAt)})");
        foreach (var c in incident.Components)
        {
            var (target, max) = StatusCalculator.RpoObjective(plan, c);
            md.AppendLine(CultureInfo.InvariantCulture, $"- {c}: RPO target {Objective(target)}, maximum {Objective(max)}; RTO target {Objective(plan.Objectives.Rto.Target)}, maximum {Objective(plan.Objectives.Rto.EffectiveMax)}");
        }

        if (incident.Components.Count == 0)
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"- Objectives: RPO target {Objective(plan.Objectives.Rpo.Target)}, maximum {Objective(plan.Objectives.Rpo.EffectiveMax)}; RTO target {Objective(plan.Objectives.Rto.Target)}, maximum {Objective(plan.Objectives.Rto.EffectiveMax)}");
        }

        md.AppendLine("- What the signals measured:");
        foreach (var text in signals.Select(s => s.Text).Distinct(StringComparer.Ordinal))
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"  - {text}");
        }

        Section(md, "Detection");
        md.AppendLine(CultureInfo.InvariantCulture, $"- Raised by: a {incident.Kind} signal: {opened?.Text ?? incident.Title}");
        md.AppendLine(CultureInfo.InvariantCulture, $"- Detected: {Time(incident.OpenedAt)} (the incident opened on the first bad observation)");
        md.AppendLine(firstNotice is null
            ? "- First notification: none recorded"
            : $"- First notification: {Time(firstNotice.Time)}, {Duration(firstNotice.Time - incident.OpenedAt)} after detection (the plan allows {Objective(plan.Notifications.FirstNotice)})");
        md.AppendLine(CultureInfo.InvariantCulture, $"- Time to detect: from when the problem began to {Time(incident.OpenedAt)}; Lifeline knows only its observation: fill in when it began if earlier");

        Section(md, "Timeline");
        md.AppendLine("| time (UTC) | event | detail | who |");
        md.AppendLine("|---|---|---|---|");
        foreach (var e in incident.Timeline)
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"| {Time(e.Time)} | {e.Kind} | {Cell(e.Text)} | {Cell(e.Who ?? "")} |");
        }

        Section(md, "Root cause");
        md.AppendLine("_To be filled in by the people who handled it: what failed, why, and why the safeguards did not stop it._");
        md.AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"What is known: {KnownCause(incident)}");

        Section(md, "Resolution");
        md.AppendLine(CultureInfo.InvariantCulture, $"{resolution?.Text ?? "resolved"} ({Time(resolvedAt)}, by {resolution?.Who ?? "lifeline"}).");
        foreach (var note in incident.Timeline.Where(e => e.Kind is "note" or "acknowledged"))
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"- {Time(note.Time)} {note.Who}: {note.Text}");
        }

        Section(md, "Action items");
        foreach (var item in ActionItems(incident))
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"- [ ] {item}");
        }

        Section(md, "Lessons learned");
        md.AppendLine("_What went well, what went wrong, where we got lucky: to be filled in at the review._");
        return md.ToString();
    }

    private static string KnownCause(IncidentRecord incident) => incident.Kind switch
    {
        SignalKinds.LocationDown => $"backups could not reach the location of `{incident.Cause}` for every component that uses it ({string.Join(", ", incident.Components)}).",
        SignalKinds.RpoExceeded => "the newest verified recovery point grew older than the RPO maximum: backups did not run, failed, or were not verified.",
        SignalKinds.JobFailed => "a scheduled job failed or missed its slot (see 'lifeline jobs history').",
        SignalKinds.ModelRollback => "the scoring service rolled its model back to the previous Production version.",
        SignalKinds.Failover => "the scoring service failed over (an automatic rollback on a failing model).",
        SignalKinds.CheckFailed => "a verification check failed (see 'lifeline verify history' for its evidence).",
        _ => "see the timeline.",
    };

    private static IEnumerable<string> ActionItems(IncidentRecord incident)
    {
        yield return $"Fill in the root cause and the lessons learned, and review this report with the team (owner: {incident.OwnerRole ?? "the incident's owner"})";
        switch (incident.Kind)
        {
            case SignalKinds.LocationDown:
                yield return "Check that every component has a recovery point in the location again ('lifeline status') and that the location's alerting would catch this sooner";
                break;
            case SignalKinds.RpoExceeded:
                yield return "Confirm the backup schedule meets the RPO target with margin ('lifeline plan check'), and that failed backups alert before the maximum is reached";
                break;
            case SignalKinds.JobFailed:
                yield return "Make the job's failure mode reproducible and add a check or retry that covers it";
                break;
            case SignalKinds.ModelRollback or SignalKinds.Failover:
                yield return "Find why the model version was rolled back and add a pre-promotion check that would have caught it";
                break;
        }

        if (incident.IsDrill)
        {
            yield return "Compare the drill's times with the plan's RTO and timeline, and update the runbook";
        }
    }

    private static void Section(StringBuilder md, string name)
    {
        md.AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"## {name}");
        md.AppendLine();
    }

    private static string Count(int n, string word) => $"{n} {word}{(n == 1 ? "" : "s")}";

    private static string Cell(string text) => text.Replace("|", "\\|", StringComparison.Ordinal).Replace('\n', ' ');

    internal static string Time(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) + "Z";

    internal static string Duration(TimeSpan d) => d < TimeSpan.FromSeconds(1) ? "0s" : PlanDuration.Format(TimeSpan.FromSeconds(Math.Floor(d.TotalSeconds)));

    private static string Objective(TimeSpan? t) => t is { } v ? PlanDuration.Format(v) : "none";
}
