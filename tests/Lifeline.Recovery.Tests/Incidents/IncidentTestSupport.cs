using System.Collections.Concurrent;
using Lifeline.Recovery.Incidents;
using Lifeline.Recovery.Notifications;
using Lifeline.Recovery.Plan;
using Microsoft.Extensions.Time.Testing;

namespace Lifeline.Recovery.Tests.Incidents;

/// <summary>
/// Stands in for the durable outbox (the notifications part, which delivers to PagerDuty, Slack and e-mail): records
/// every notice enqueued, in order, and drops a duplicate id as the outbox does.
/// </summary>
internal sealed class RecordingNoticeSink : INoticeSink
{
    private readonly ConcurrentDictionary<string, bool> _ids = new(StringComparer.Ordinal);

    public ConcurrentQueue<Notice> Notices { get; } = new();

    /// <summary>Enqueues of an id already seen (the outbox's deduplication drops them).</summary>
    public int Duplicates;

    public Task EnqueueAsync(Notice notice, CancellationToken cancellationToken = default)
    {
        if (_ids.TryAdd(notice.Id, true))
        {
            Notices.Enqueue(notice);
        }
        else
        {
            Interlocked.Increment(ref Duplicates);
        }

        return Task.CompletedTask;
    }
}

/// <summary>The recommended plan (its roles and the 15m / 1h / 2h timeline), an incident store in a directory of its
/// own, fake time, and a manager with its timeline sending to a <see cref="RecordingNoticeSink"/>.</summary>
internal sealed class IncidentFixture : IDisposable
{
    public static readonly DateTimeOffset Start = new(2026, 3, 2, 9, 0, 0, TimeSpan.Zero);

    public IncidentFixture()
    {
        var parsed = PlanFile.Parse(PlanTemplates.Recommended(), Dir.Combine("lifeline.yaml"));
        Assert.True(parsed.Succeeded, string.Join("\n", parsed.Errors));
        Plan = parsed.Plan!;
        Reopen();
    }

    public TempDirectory Dir { get; } = new();

    public LifelinePlan Plan { get; }

    public FakeTimeProvider Time { get; } = new(Start);

    public RecordingNoticeSink Sink { get; } = new();

    public IncidentStore Store { get; private set; } = null!;

    public IncidentTimeline Timeline { get; private set; } = null!;

    public IncidentManager Manager { get; private set; } = null!;

    /// <summary>Opens the store, timeline and manager anew over the same file (what a restart of up does).</summary>
    public void Reopen()
    {
        Store = IncidentStore.ForData(Dir.Combine("data"));
        Store.MigrateAsync().GetAwaiter().GetResult();
        Timeline = new IncidentTimeline(Store, Plan, Sink, Time);
        Manager = new IncidentManager(Store, Plan, Time, Timeline);
    }

    public IncidentSignal Bad(string cause, string kind, string? component, string summary, string severity = Severities.Error, bool drill = false) => new()
    {
        Cause = cause,
        Kind = kind,
        Component = component,
        Summary = summary,
        Severity = severity,
        IsDrill = drill,
        Time = Time.GetUtcNow(),
    };

    public IncidentSignal Healthy(string cause, string kind, string? component, string summary) =>
        Bad(cause, kind, component, summary) with { Healthy = true };

    public void Dispose() => Dir.Dispose();
}

/// <summary>Plans for the incident tests.</summary>
internal static class IncidentTestPlans
{
    public static LifelinePlan Recommended()
    {
        var parsed = PlanFile.Parse(PlanTemplates.Recommended());
        Assert.True(parsed.Succeeded, string.Join("\n", parsed.Errors));
        return parsed.Plan!;
    }
}
