namespace Lifeline.Recovery.Incidents;

/// <summary>The kinds of cause an incident opens on (docs/incidents.md).</summary>
public static class SignalKinds
{
    /// <summary>A verification check failed.</summary>
    public const string CheckFailed = "check-failed";

    /// <summary>A scheduled job missed its slot or failed.</summary>
    public const string JobFailed = "job-failed";

    /// <summary>A component's recovery point is older than its RPO maximum.</summary>
    public const string RpoExceeded = "rpo-exceeded";

    /// <summary>A location cannot be reached or refuses writes.</summary>
    public const string LocationDown = "location-down";

    /// <summary>The scoring service rolled back its model.</summary>
    public const string ModelRollback = "model-rollback";

    /// <summary>Traffic or data failed over.</summary>
    public const string Failover = "failover";

    /// <summary>A drill (always tagged as one, routed at low urgency).</summary>
    public const string Drill = "drill";

    /// <summary>A notification channel keeps failing.</summary>
    public const string ChannelFailing = "channel-failing";

    /// <summary>Lifeline's own heartbeat to its dead man's switch fails.</summary>
    public const string DeadMansSwitch = "dead-mans-switch";
}

/// <summary>The severities, most urgent first (PagerDuty's four).</summary>
public static class Severities
{
    /// <summary>Wake someone up.</summary>
    public const string Critical = "critical";

    /// <summary>Act today.</summary>
    public const string Error = "error";

    /// <summary>Look at it.</summary>
    public const string Warning = "warning";

    /// <summary>For the record.</summary>
    public const string Info = "info";
}

/// <summary>
/// A cause that is bad (or good again). Incidents are one per <see cref="Cause"/>: a dead location raised by every
/// component's backup is one incident; a healthy signal for the same cause adds to its timeline and may resolve it.
/// </summary>
public sealed record IncidentSignal
{
    /// <summary>The cause's stable key: <c>location:secondary</c>, <c>check:integrity:registry</c>, <c>rpo:leads</c>.</summary>
    public required string Cause { get; init; }

    /// <summary>One of <see cref="SignalKinds"/>.</summary>
    public required string Kind { get; init; }

    /// <summary>False while the cause is bad; true when it is healthy again.</summary>
    public bool Healthy { get; init; }

    /// <summary>One of <see cref="Severities"/>.</summary>
    public string Severity { get; init; } = Severities.Error;

    /// <summary>One line, never a secret: what is wrong, with the numbers.</summary>
    public required string Summary { get; init; }

    /// <summary>The component it is about, if one.</summary>
    public string? Component { get; init; }

    /// <summary>The location it is about, if one.</summary>
    public string? Location { get; init; }

    /// <summary>The evidence record or audit record behind it, if one.</summary>
    public string? EvidenceId { get; init; }

    /// <summary>Raised by a drill: tagged as a drill and routed at low urgency.</summary>
    public bool IsDrill { get; init; }

    /// <summary>When it was observed.</summary>
    public required DateTimeOffset Time { get; init; }
}

/// <summary>Where signals go: the incident manager.</summary>
public interface IIncidentSignals
{
    /// <summary>Records <paramref name="signal"/>: opens an incident for a new bad cause, adds to the open one's
    /// timeline otherwise, and marks the cause healthy on a healthy signal.</summary>
    Task RaiseAsync(IncidentSignal signal, CancellationToken cancellationToken = default);
}

/// <summary>The states of an incident.</summary>
public static class IncidentStates
{
    /// <summary>Opened, nobody on it yet.</summary>
    public const string Open = "open";

    /// <summary>Someone acknowledged it.</summary>
    public const string Acknowledged = "acknowledged";

    /// <summary>Over.</summary>
    public const string Resolved = "resolved";
}

/// <summary>One entry of an incident's timeline.</summary>
/// <param name="Time">When.</param>
/// <param name="Kind">opened, signal, notified, update, acknowledged, resolved, note.</param>
/// <param name="Text">One line.</param>
/// <param name="Who">Who did it (a user, a role, <c>lifeline</c>).</param>
public sealed record IncidentEvent(DateTimeOffset Time, string Kind, string Text, string? Who = null);

/// <summary>An incident as stored.</summary>
public sealed record IncidentRecord
{
    /// <summary>Short, unique (also PagerDuty's <c>dedup_key</c>).</summary>
    public required string Id { get; init; }

    /// <summary>The cause it is about (<see cref="IncidentSignal.Cause"/>).</summary>
    public required string Cause { get; init; }

    /// <summary>The kind of its first signal.</summary>
    public required string Kind { get; init; }

    /// <summary>One line.</summary>
    public required string Title { get; init; }

    /// <summary>The highest severity seen.</summary>
    public required string Severity { get; init; }

    /// <summary>One of <see cref="IncidentStates"/>.</summary>
    public required string State { get; init; }

    /// <summary>The plan's role that owns it.</summary>
    public string? OwnerRole { get; init; }

    /// <summary>Opened by a drill.</summary>
    public bool IsDrill { get; init; }

    /// <summary>The components it touches.</summary>
    public IReadOnlyList<string> Components { get; init; } = [];

    /// <summary>When it opened.</summary>
    public required DateTimeOffset OpenedAt { get; init; }

    /// <summary>When it was acknowledged.</summary>
    public DateTimeOffset? AcknowledgedAt { get; init; }

    /// <summary>When it was resolved.</summary>
    public DateTimeOffset? ResolvedAt { get; init; }

    /// <summary>Its timeline, oldest first.</summary>
    public IReadOnlyList<IncidentEvent> Timeline { get; init; } = [];

    /// <summary>The postmortem drafted at resolution (Markdown), if resolved.</summary>
    public string? Report { get; init; }
}

/// <summary>The incidents, read side (status and reports read them).</summary>
public interface IIncidentReader
{
    /// <summary>Every incident, newest first; only open and acknowledged ones when <paramref name="openOnly"/>.</summary>
    Task<IReadOnlyList<IncidentRecord>> ListAsync(bool openOnly = false, CancellationToken cancellationToken = default);

    /// <summary>One incident by id, or null.</summary>
    Task<IncidentRecord?> GetAsync(string id, CancellationToken cancellationToken = default);
}
