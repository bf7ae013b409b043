namespace Lifeline.Recovery.Notifications;

/// <summary>What a notice does to the incident at the receiver (PagerDuty's event actions, and updates).</summary>
public enum NoticeAction
{
    /// <summary>An incident opened.</summary>
    Trigger,

    /// <summary>A status or progress update of an open incident.</summary>
    Update,

    /// <summary>Someone acknowledged it.</summary>
    Acknowledge,

    /// <summary>It is over (with the drafted report).</summary>
    Resolve,
}

/// <summary>
/// One message about one incident to the channels of the plan that serve its <see cref="Uses"/> and reach its
/// <see cref="Role"/> (docs/notifications.md). Never holds a secret.
/// </summary>
public sealed record Notice
{
    /// <summary>Unique per notice: the outbox delivers each once per channel.</summary>
    public required string Id { get; init; }

    /// <summary>The incident's id: PagerDuty's <c>dedup_key</c>, the thread of the messages.</summary>
    public required string IncidentId { get; init; }

    /// <summary>What it does.</summary>
    public required NoticeAction Action { get; init; }

    /// <summary>One of <see cref="Incidents.Severities"/>.</summary>
    public required string Severity { get; init; }

    /// <summary>One line (PagerDuty's summary, the mail's subject).</summary>
    public required string Summary { get; init; }

    /// <summary>The text (Markdown): the incident, its timeline so far, what to do; the report on resolution.</summary>
    public string Body { get; init; } = "";

    /// <summary>The channel uses it is for (<see cref="Plan.NotificationChannel.KnownUses"/>): <c>immediate</c> for
    /// the first notice, <c>status</c> for updates, <c>stakeholders</c> for the stakeholder update.</summary>
    public IReadOnlyList<string> Uses { get; init; } = [];

    /// <summary>The plan's role that owns the incident; its <c>notify</c> channels also get it.</summary>
    public string? Role { get; init; }

    /// <summary>The component, if one (PagerDuty's <c>component</c>).</summary>
    public string? Component { get; init; }

    /// <summary>A drill's notice: marked as a drill, low urgency.</summary>
    public bool IsDrill { get; init; }

    /// <summary>When it was raised.</summary>
    public required DateTimeOffset Time { get; init; }
}

/// <summary>Where notices go: the durable outbox, which delivers them to the channels.</summary>
public interface INoticeSink
{
    /// <summary>Stores <paramref name="notice"/> durably (it survives a SIGKILL once this returns) for delivery.</summary>
    Task EnqueueAsync(Notice notice, CancellationToken cancellationToken = default);
}
