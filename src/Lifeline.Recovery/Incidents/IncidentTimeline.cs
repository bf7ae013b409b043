using System.Globalization;
using System.Text;
using Lifeline.Recovery.Notifications;
using Lifeline.Recovery.Plan;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Lifeline.Recovery.Incidents;

/// <summary>One notice the timeline owes, with the timeline event that records it.</summary>
/// <param name="Notice">The notice (its id is stable: sending it again is a duplicate the outbox drops).</param>
/// <param name="EventKind">notified or update.</param>
/// <param name="EventText">The timeline line.</param>
internal sealed record DueNotice(Notice Notice, string EventKind, string EventText);

/// <summary>
/// The plan's communication timeline (<c>notifications.first-notice</c>, <c>stakeholder-update</c>,
/// <c>updates-every</c>; docs/incidents.md "The timeline"): the initial notification at once, the stakeholder update
/// at the stakeholder-update time after opening, a progress update at every multiple of updates-every while the
/// incident is not resolved, an acknowledge notice once acknowledged and the resolve notice with the drafted report.
/// What is due is computed from the stored timeline alone (each sent notice is an event carrying its stable id), so
/// a restart neither repeats nor skips one: after a long stop only the newest due progress update is sent, saying
/// how many slots it covers. A notice is enqueued before its event is recorded: a crash in between sends it again
/// with the same id, which the outbox deduplicates.
/// </summary>
internal sealed class IncidentTimeline
{
    /// <summary>The initial notification's bound when the plan gives none (the plan's document allows 15 minutes).</summary>
    public static readonly TimeSpan DefaultFirstNotice = TimeSpan.FromMinutes(15);

    /// <summary>The stakeholder update's time when the plan gives none.</summary>
    public static readonly TimeSpan DefaultStakeholderUpdate = TimeSpan.FromHours(1);

    /// <summary>The progress updates' period when the plan gives none.</summary>
    public static readonly TimeSpan DefaultUpdatesEvery = TimeSpan.FromHours(2);

    private readonly IncidentStore _store;
    private readonly LifelinePlan _plan;
    private readonly INoticeSink _sink;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _gate = new(1, 1);

    /// <summary>A timeline over <paramref name="store"/> sending to <paramref name="sink"/>.</summary>
    public IncidentTimeline(IncidentStore store, LifelinePlan plan, INoticeSink sink, TimeProvider? time = null, ILogger? logger = null)
    {
        _store = store;
        _plan = plan;
        _sink = sink;
        _time = time ?? TimeProvider.System;
        _logger = logger ?? NullLogger.Instance;
    }

    /// <summary>Sends every notice due now and records each on its incident's timeline; returns how many.</summary>
    public async Task<int> RunDueAsync(CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            var now = _time.GetUtcNow();
            var sent = 0;
            foreach (var stored in await _store.PendingAsync(cancellationToken))
            {
                foreach (var due in Due(stored, now, _plan))
                {
                    await _sink.EnqueueAsync(due.Notice, cancellationToken);
                    await _store.WriteAsync(async tx =>
                    {
                        if (!await tx.HasNoticeAsync(due.Notice.Id))
                        {
                            await tx.AddEventAsync(stored.Record.Id, new IncidentEvent(now, due.EventKind, due.EventText, "lifeline"), due.Notice.Id);
                        }

                        return true;
                    }, cancellationToken);
                    Log.NoticeEnqueued(_logger, due.Notice.Id, due.Notice.Action.ToString(), string.Join(",", due.Notice.Uses));
                    sent++;
                }
            }

            return sent;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>The notices <paramref name="stored"/> is owed at <paramref name="now"/>, in the order they go out.</summary>
    public static IReadOnlyList<DueNotice> Due(StoredIncident stored, DateTimeOffset now, LifelinePlan plan)
    {
        var incident = stored.Record;
        var sent = stored.Notices;
        var list = new List<DueNotice>();
        var n = plan.Notifications;
        var open = now - incident.OpenedAt;

        if (!sent.Contains(TriggerId(incident.Id)))
        {
            list.Add(new(Make(incident, TriggerId(incident.Id), NoticeAction.Trigger, ["immediate", "status"], incident.Title, Body(incident, now, "Incident opened"), now),
                "notified", $"initial notification (immediate, status) to {incident.OwnerRole ?? "the team"}"));
        }

        if (incident.AcknowledgedAt is not null && !sent.Contains(incident.Id + ":ack"))
        {
            var who = incident.Timeline.LastOrDefault(e => e.Kind == "acknowledged")?.Who;
            list.Add(new(Make(incident, incident.Id + ":ack", NoticeAction.Acknowledge, ["immediate", "status"], $"Acknowledged{(who is null ? "" : $" by {who}")}: {incident.Title}",
                Body(incident, now, "Incident acknowledged"), now), "notified", "acknowledgement sent (immediate, status)"));
        }

        if (incident.State != IncidentStates.Resolved)
        {
            var stakeholderAt = n.StakeholderUpdate ?? DefaultStakeholderUpdate;
            if (open >= stakeholderAt && !sent.Contains(incident.Id + ":stakeholders"))
            {
                list.Add(new(Make(incident, incident.Id + ":stakeholders", NoticeAction.Update, ["stakeholders"], $"Status update: {incident.Title}",
                    Body(incident, now, $"Status update for stakeholders ({IncidentReport.Duration(open)} after opening)"), now),
                    "update", $"stakeholder update (stakeholders), due {PlanDuration.Format(stakeholderAt)} after opening"));
            }

            var every = n.UpdatesEvery ?? DefaultUpdatesEvery;
            var slot = every > TimeSpan.Zero ? (long)(open.Ticks / every.Ticks) : 0;
            if (slot >= 1 && !sent.Contains(UpdateId(incident.Id, slot)))
            {
                var last = LastSentSlot(incident.Id, sent);
                var covered = slot - last;
                list.Add(new(Make(incident, UpdateId(incident.Id, slot), NoticeAction.Update, ["status"], $"Progress update {slot}: {incident.Title}",
                    Body(incident, now, $"Progress update {slot} ({IncidentReport.Duration(open)} open)"), now),
                    "update", $"progress update {slot} (status), due every {PlanDuration.Format(every)}" +
                        (covered > 1 ? $"; covers {covered} slots missed while Lifeline was not running" : "")));
            }
        }
        else if (!sent.Contains(incident.Id + ":resolve"))
        {
            list.Add(new(Make(incident, incident.Id + ":resolve", NoticeAction.Resolve, ["immediate", "status", "stakeholders"], $"Resolved: {incident.Title}",
                incident.Report ?? Body(incident, now, "Incident resolved"), now), "notified", "resolution sent with the drafted report (immediate, status, stakeholders)"));
        }

        return list;
    }

    /// <summary>The id of an incident's initial notification.</summary>
    public static string TriggerId(string incidentId) => incidentId + ":trigger";

    private static string UpdateId(string incidentId, long slot) => string.Create(CultureInfo.InvariantCulture, $"{incidentId}:update:{slot}");

    private static long LastSentSlot(string incidentId, IReadOnlySet<string> sent)
    {
        var prefix = incidentId + ":update:";
        return sent.Where(s => s.StartsWith(prefix, StringComparison.Ordinal))
            .Select(s => long.TryParse(s.AsSpan(prefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v : 0)
            .DefaultIfEmpty(0).Max();
    }

    private static Notice Make(IncidentRecord incident, string id, NoticeAction action, IReadOnlyList<string> uses, string summary, string body, DateTimeOffset now) => new()
    {
        Id = id,
        IncidentId = incident.Id,
        Action = action,
        Severity = incident.Severity,
        Summary = summary,
        Body = body,
        Uses = uses,
        Role = incident.OwnerRole,
        Component = incident.Components.Count > 0 ? incident.Components[0] : null,
        IsDrill = incident.IsDrill,
        Time = now,
    };

    private static string Body(IncidentRecord incident, DateTimeOffset now, string heading)
    {
        var md = new StringBuilder();
        md.AppendLine(CultureInfo.InvariantCulture, $"**{heading}**{(incident.IsDrill ? " (drill: low urgency, no action needed beyond the drill)" : "")}");
        md.AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"- Incident {incident.Id}: {incident.Title}");
        md.AppendLine(CultureInfo.InvariantCulture, $"- State {incident.State}, severity {incident.Severity}, owner {incident.OwnerRole ?? "none"}, open for {IncidentReport.Duration(now - incident.OpenedAt)}");
        md.AppendLine(CultureInfo.InvariantCulture, $"- Cause `{incident.Cause}`; components: {(incident.Components.Count == 0 ? "none named" : string.Join(", ", incident.Components))}");
        md.AppendLine();
        md.AppendLine("Latest events:");
        foreach (var e in incident.Timeline.TakeLast(8))
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"- {IncidentReport.Time(e.Time)} {e.Kind}: {e.Text}");
        }

        md.AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"Acknowledge with `lifeline incidents ack {incident.Id}`; see it with `lifeline incidents show {incident.Id}`.");
        return md.ToString();
    }
}
