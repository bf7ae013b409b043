using Lifeline.Recovery.Plan;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Lifeline.Recovery.Incidents;

/// <summary>No incident has that id.</summary>
public sealed class UnknownIncidentException(string id)
    : RecoveryException($"no incident '{id}': list them with 'lifeline incidents ls --all'")
{
    /// <summary>The id given.</summary>
    public string Id { get; } = id;
}

/// <summary>The incident is in a state that refuses the request (acknowledging or resolving a resolved incident).</summary>
public sealed class IncidentStateException(string message) : RecoveryException(message);

/// <summary>
/// Turns signals into incidents (docs/incidents.md): one incident per cause while it is open; a bad signal for a cause
/// with an open incident adds to its timeline and raises its severity; a healthy signal marks its component healthy
/// under the cause and resolves the incident when every component under the cause is healthy again. Every change is
/// one transaction of the <see cref="IncidentStore"/>; the notices follow from the stored timeline
/// (<see cref="IncidentTimeline"/>), so a crash between the two loses nothing.
/// </summary>
internal sealed class IncidentManager : IIncidentSignals
{
    private readonly IncidentStore _store;
    private readonly LifelinePlan _plan;
    private readonly TimeProvider _time;
    private readonly IncidentTimeline? _timeline;
    private readonly ILogger _logger;

    /// <summary>A manager over <paramref name="store"/>; with a <paramref name="timeline"/>, the due notices are sent
    /// right after each change (without one, e.g. in the CLI, the running <c>lifeline up</c> sends them at its next round).</summary>
    public IncidentManager(IncidentStore store, LifelinePlan plan, TimeProvider? time = null, IncidentTimeline? timeline = null, ILogger? logger = null)
    {
        _store = store;
        _plan = plan;
        _time = time ?? TimeProvider.System;
        _timeline = timeline;
        _logger = logger ?? NullLogger.Instance;
    }

    /// <summary>The store.</summary>
    public IncidentStore Store => _store;

    /// <inheritdoc/>
    public async Task RaiseAsync(IncidentSignal signal, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(signal);
        ArgumentException.ThrowIfNullOrWhiteSpace(signal.Cause);
        ArgumentException.ThrowIfNullOrWhiteSpace(signal.Kind);
        var severity = IncidentRouting.SeverityOf(signal);
        var component = signal.Component ?? "";
        var now = _time.GetUtcNow();
        var summary = Redact(signal.Summary);
        var changed = await _store.WriteAsync(async tx =>
        {
            var health = (await tx.HealthAsync(signal.Cause)).FirstOrDefault(h => h.Component == component);
            var open = await tx.FindOpenAsync(signal.Cause);
            if (signal.Healthy)
            {
                if (health is null or { Healthy: true })
                {
                    return null; // never bad, or healthy already: nothing to record
                }

                await tx.SetHealthAsync(signal.Cause, component, true, signal.Time, summary);
                if (open is null)
                {
                    return null;
                }

                var incident = open.Record;
                await tx.AddEventAsync(incident.Id, new IncidentEvent(now, "signal", $"healthy again{(component.Length > 0 ? $" ({component})" : "")}: {summary}", "lifeline"));
                var rows = await tx.HealthAsync(signal.Cause);
                if (rows.All(r => r.Healthy))
                {
                    var resolved = await ResolveInAsync(tx, incident, now, "lifeline",
                        $"every component under the cause is healthy again; last: {summary}");
                    Log.IncidentResolved(_logger, incident.Id, incident.Cause, "healthy again");
                    return resolved;
                }

                return incident;
            }

            if (open is null)
            {
                var incident = new IncidentRecord
                {
                    Id = IncidentStore.NewId(),
                    Cause = signal.Cause,
                    Kind = signal.Kind,
                    Title = (signal.IsDrill ? "[drill] " : "") + summary,
                    Severity = severity,
                    State = IncidentStates.Open,
                    OwnerRole = IncidentRouting.OwnerRole(_plan, signal),
                    IsDrill = signal.IsDrill,
                    Components = component.Length > 0 ? [component] : [],
                    OpenedAt = now,
                };
                await tx.InsertAsync(incident);
                await tx.AddEventAsync(incident.Id, new IncidentEvent(now, "opened",
                    $"{signal.Kind}: {summary} (severity {severity}; observed {signal.Time:yyyy-MM-dd HH:mm:ss}Z{(signal.EvidenceId is { } ev ? $"; evidence {ev}" : "")})", "lifeline"));
                await tx.SetHealthAsync(signal.Cause, component, false, signal.Time, summary);
                Log.IncidentOpened(_logger, incident.Id, incident.Cause, severity, incident.OwnerRole ?? "none");
                return incident;
            }

            if (health is { Healthy: false } && health.Summary == summary && Rank(severity) >= Rank(open.Record.Severity))
            {
                return null; // a source repeating the same bad state: nothing new
            }

            var current = open.Record;
            var updated = current with
            {
                Severity = Rank(severity) < Rank(current.Severity) ? severity : current.Severity,
                Components = component.Length > 0 && !current.Components.Contains(component) ? [.. current.Components, component] : current.Components,
            };
            await tx.AddEventAsync(current.Id, new IncidentEvent(now, "signal",
                $"{signal.Kind}{(component.Length > 0 ? $" ({component})" : "")}: {summary}{(updated.Severity != current.Severity ? $" (severity raised to {updated.Severity})" : "")}", "lifeline"));
            await tx.UpdateAsync(updated);
            await tx.SetHealthAsync(signal.Cause, component, false, signal.Time, summary);
            return updated;
        }, cancellationToken);

        if (changed is not null)
        {
            await PumpAsync(cancellationToken);
        }
    }

    /// <summary>Acknowledges <paramref name="id"/> (again: adds the note only); refuses a resolved incident.</summary>
    public async Task<IncidentRecord> AcknowledgeAsync(string id, string who, string? note, CancellationToken cancellationToken = default)
    {
        var now = _time.GetUtcNow();
        var record = await _store.WriteAsync(async tx =>
        {
            var stored = await tx.GetAsync(id) ?? throw new UnknownIncidentException(id);
            var incident = stored.Record;
            if (incident.State == IncidentStates.Resolved)
            {
                throw new IncidentStateException($"incident {incident.Id} is already resolved ({incident.ResolvedAt:yyyy-MM-dd HH:mm}Z): nothing to acknowledge");
            }

            if (incident.State == IncidentStates.Acknowledged)
            {
                if (!string.IsNullOrWhiteSpace(note))
                {
                    await tx.AddEventAsync(incident.Id, new IncidentEvent(now, "note", Redact(note), who));
                }

                return incident;
            }

            var acknowledged = incident with { State = IncidentStates.Acknowledged, AcknowledgedAt = now };
            await tx.UpdateAsync(acknowledged);
            await tx.AddEventAsync(incident.Id, new IncidentEvent(now, "acknowledged", string.IsNullOrWhiteSpace(note) ? "acknowledged" : $"acknowledged: {Redact(note)}", who));
            return acknowledged;
        }, cancellationToken);
        Log.IncidentAcknowledged(_logger, record.Id, who);
        await PumpAsync(cancellationToken);
        return (await _store.GetAsync(record.Id, cancellationToken))!;
    }

    /// <summary>Resolves <paramref name="id"/> by hand: drafts its report and marks its cause healthy (a source that
    /// still sees the cause bad opens a new incident at its next observation); refuses a resolved incident.</summary>
    public async Task<IncidentRecord> ResolveAsync(string id, string who, string? note, CancellationToken cancellationToken = default)
    {
        var now = _time.GetUtcNow();
        var record = await _store.WriteAsync(async tx =>
        {
            var stored = await tx.GetAsync(id) ?? throw new UnknownIncidentException(id);
            if (stored.Record.State == IncidentStates.Resolved)
            {
                throw new IncidentStateException($"incident {stored.Record.Id} is already resolved ({stored.Record.ResolvedAt:yyyy-MM-dd HH:mm}Z)");
            }

            foreach (var row in (await tx.HealthAsync(stored.Record.Cause)).Where(r => !r.Healthy))
            {
                await tx.SetHealthAsync(stored.Record.Cause, row.Component, true, now, "resolved by hand");
            }

            return await ResolveInAsync(tx, stored.Record, now, who, string.IsNullOrWhiteSpace(note) ? "resolved by hand" : $"resolved by hand: {Redact(note)}");
        }, cancellationToken);
        Log.IncidentResolved(_logger, record.Id, record.Cause, "by hand");
        await PumpAsync(cancellationToken);
        return (await _store.GetAsync(record.Id, cancellationToken))!;
    }

    private async Task<IncidentRecord> ResolveInAsync(IncidentTransaction tx, IncidentRecord incident, DateTimeOffset now, string who, string text)
    {
        var resolvedEvent = new IncidentEvent(now, "resolved", text, who);
        await tx.AddEventAsync(incident.Id, resolvedEvent);
        var resolved = incident with
        {
            State = IncidentStates.Resolved,
            ResolvedAt = now,
            Timeline = [.. incident.Timeline, resolvedEvent],
        };
        resolved = resolved with { Report = IncidentReport.Draft(resolved, _plan) };
        await tx.UpdateAsync(resolved);
        return resolved;
    }

    private async Task PumpAsync(CancellationToken ct)
    {
        if (_timeline is null)
        {
            return;
        }

        try
        {
            await _timeline.RunDueAsync(ct);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // the incident is stored: the timeline's next round sends what is due
            Log.TimelineFailed(_logger, e.Message);
        }
    }

    private static string Redact(string text) => Configuration.Secrets.RedactText(text);

    internal static int Rank(string severity) => IncidentRouting.Rank(severity);
}

/// <summary>
/// The documented defaults (docs/incidents.md) of which role owns an incident and how severe a signal is.
/// </summary>
internal static class IncidentRouting
{
    /// <summary>The ML engineering lead (registry, model rollbacks and failovers).</summary>
    public const string MlEngineeringLead = "ml-engineering-lead";

    /// <summary>DevOps (locations, jobs, the dead man's switch, channels, configuration).</summary>
    public const string DevOpsEngineer = "devops-engineer";

    /// <summary>Data engineering (tables, data checks).</summary>
    public const string DataEngineer = "data-engineer";

    /// <summary>Security (key changes, secrets).</summary>
    public const string SecurityOfficer = "security-officer";

    /// <summary>0 for critical ... 3 for info; unknown severities rank as error.</summary>
    public static int Rank(string severity) => severity switch
    {
        Severities.Critical => 0,
        Severities.Error => 1,
        Severities.Warning => 2,
        Severities.Info => 3,
        _ => 1,
    };

    /// <summary>The signal's severity (unknown ones as error); a drill's is at most warning.</summary>
    public static string SeverityOf(IncidentSignal signal)
    {
        var severity = signal.Severity is Severities.Critical or Severities.Error or Severities.Warning or Severities.Info ? signal.Severity : Severities.Error;
        return (signal.IsDrill || signal.Kind == SignalKinds.Drill) && Rank(severity) < Rank(Severities.Warning) ? Severities.Warning : severity;
    }

    /// <summary>The role that owns an incident opened by <paramref name="signal"/>: the default for its kind or
    /// component when the plan has that role, else the plan's first role; null when the plan names no role.</summary>
    public static string? OwnerRole(LifelinePlan plan, IncidentSignal signal)
    {
        if (plan.Roles.Count == 0)
        {
            return null;
        }

        var preferred = PreferredRole(plan, signal);
        return plan.Roles.FirstOrDefault(r => r.Name == preferred)?.Name ?? plan.Roles[0].Name;
    }

    private static string? PreferredRole(LifelinePlan plan, IncidentSignal signal)
    {
        if (IsSecurity(signal.Cause) || IsSecurity(signal.Kind))
        {
            return SecurityOfficer;
        }

        switch (signal.Kind)
        {
            case SignalKinds.LocationDown or SignalKinds.JobFailed or SignalKinds.DeadMansSwitch or SignalKinds.ChannelFailing:
                return DevOpsEngineer;
            case SignalKinds.ModelRollback or SignalKinds.Failover:
                return MlEngineeringLead;
        }

        var component = signal.Component is { } name ? plan.FindComponent(name) : null;
        if (component is not null)
        {
            return PlanChecker.KindOf(component) switch
            {
                ComponentKind.Registry => MlEngineeringLead,
                ComponentKind.LakeTable => DataEngineer,
                _ => DevOpsEngineer,
            };
        }

        return signal.Kind == SignalKinds.CheckFailed ? DataEngineer : null;
    }

    private static bool IsSecurity(string text) =>
        text.StartsWith("key", StringComparison.OrdinalIgnoreCase) || text.Contains(":key", StringComparison.OrdinalIgnoreCase)
        || text.Contains("secret", StringComparison.OrdinalIgnoreCase);
}
