using Lifeline.Recovery.Incidents;
using Lifeline.Recovery.Notifications;

namespace Lifeline.Recovery.Tests.Incidents;

/// <summary>
/// Signals into incidents and incidents into notices, over a real SQLite store and fake time. The notices go to a
/// <see cref="RecordingNoticeSink"/> standing in for the durable outbox of the notifications part.
/// </summary>
public sealed class IncidentManagerTests
{
    [Fact]
    public async Task RaiseAsync_TenSignalsForOneDeadLocation_OneIncidentOwnedByDevOps()
    {
        using var f = new IncidentFixture();
        var components = f.Plan.Components.Select(c => c.Name).ToList();
        for (var i = 0; i < 10; i++)
        {
            var component = components[i % components.Count];
            await f.Manager.RaiseAsync(f.Bad("location:secondary", SignalKinds.LocationDown, component,
                $"location secondary: the backup of {component} could not be copied there (attempt {i / components.Count + 1})"));
            f.Time.Advance(TimeSpan.FromSeconds(5));
        }

        var incident = Assert.Single(await f.Store.ListAsync());
        Assert.Equal(IncidentStates.Open, incident.State);
        Assert.Equal("devops-engineer", incident.OwnerRole);
        Assert.Equal(components.Order(), incident.Components.Order());
        Assert.Equal(10, incident.Timeline.Count(e => e.Kind is "opened" or "signal"));
        var trigger = Assert.Single(f.Sink.Notices);
        Assert.Equal(NoticeAction.Trigger, trigger.Action);
        Assert.Equal(incident.Id, trigger.IncidentId);
        Assert.Equal(["immediate", "status"], trigger.Uses);
        Assert.Equal("devops-engineer", trigger.Role);
        Assert.Contains(incident.Timeline, e => e.Kind == "notified");

        // the same bad state again (a source polling) adds nothing; a worse one raises the severity
        await f.Manager.RaiseAsync(f.Bad("location:secondary", SignalKinds.LocationDown, components[1],
            $"location secondary: the backup of {components[1]} could not be copied there (attempt 2)"));
        Assert.Equal(incident.Timeline.Count, (await f.Store.GetAsync(incident.Id))!.Timeline.Count);
        await f.Manager.RaiseAsync(f.Bad("location:secondary", SignalKinds.LocationDown, "registry", "location secondary refuses every write", Severities.Critical));
        Assert.Equal(Severities.Critical, (await f.Store.GetAsync(incident.Id))!.Severity);
        Assert.Single(await f.Store.ListAsync());
    }

    [Fact]
    public async Task RaiseAsync_EveryComponentHealthyAgain_ResolvesWithReportHoldingEveryField()
    {
        using var f = new IncidentFixture();
        await f.Manager.RaiseAsync(f.Bad("location:tertiary", SignalKinds.LocationDown, "registry", "location tertiary: connection refused (registry)"));
        await f.Manager.RaiseAsync(f.Bad("location:tertiary", SignalKinds.LocationDown, "leads", "location tertiary: connection refused (leads)"));
        f.Time.Advance(TimeSpan.FromMinutes(20));
        await f.Manager.RaiseAsync(f.Healthy("location:tertiary", SignalKinds.LocationDown, "registry", "registry's newest point is in tertiary again"));
        var id = Assert.Single(await f.Store.ListAsync(openOnly: true)).Id;
        f.Time.Advance(TimeSpan.FromMinutes(10));

        await f.Manager.RaiseAsync(f.Healthy("location:tertiary", SignalKinds.LocationDown, "leads", "leads' newest point is in tertiary again"));

        Assert.Empty(await f.Store.ListAsync(openOnly: true));
        var incident = (await f.Store.GetAsync(id))!;
        Assert.Equal(IncidentStates.Resolved, incident.State);
        Assert.Equal(IncidentFixture.Start.AddMinutes(30), incident.ResolvedAt);
        var report = incident.Report!;
        foreach (var section in IncidentReport.Sections)
        {
            Assert.Contains($"\n## {section}\n", report, StringComparison.Ordinal);
        }

        Assert.Contains("Duration: 30m", report, StringComparison.Ordinal);
        Assert.Contains("registry: RPO target 1h", report, StringComparison.Ordinal);
        Assert.Contains("connection refused (leads)", report, StringComparison.Ordinal);
        Assert.Contains("every component under the cause is healthy again", report, StringComparison.Ordinal);
        var resolve = f.Sink.Notices.Last();
        Assert.Equal(NoticeAction.Resolve, resolve.Action);
        Assert.Equal(report, resolve.Body);

        // the cause goes bad again: a new incident, not the resolved one
        await f.Manager.RaiseAsync(f.Bad("location:tertiary", SignalKinds.LocationDown, "leads", "location tertiary: connection refused (leads)"));
        Assert.NotEqual(id, Assert.Single(await f.Store.ListAsync(openOnly: true)).Id);
    }

    [Fact]
    public async Task Timeline_FakeTime_StakeholderAt1hProgressEvery2hNotRepeatedOrSkippedAcrossARestart()
    {
        using var f = new IncidentFixture();
        await f.Manager.RaiseAsync(f.Bad("rpo:leads", SignalKinds.RpoExceeded, "leads", "recovery point is 4h10m old, over the RPO maximum 4h"));
        Assert.Equal(["trigger"], Kinds(f));

        f.Time.Advance(TimeSpan.FromMinutes(59));
        Assert.Equal(0, await f.Timeline.RunDueAsync());
        f.Time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(1, await f.Timeline.RunDueAsync());
        Assert.Equal(["trigger", "stakeholders"], Kinds(f));
        Assert.Equal(["stakeholders"], f.Sink.Notices.Last().Uses);

        f.Time.Advance(TimeSpan.FromHours(1));
        await f.Timeline.RunDueAsync();
        Assert.Equal(["trigger", "stakeholders", "update:1"], Kinds(f));
        Assert.Equal(["status"], f.Sink.Notices.Last().Uses);

        // restart at 3h: nothing is due again, and the 4h update comes once
        f.Time.Advance(TimeSpan.FromHours(1));
        f.Reopen();
        Assert.Equal(0, await f.Timeline.RunDueAsync());
        f.Time.Advance(TimeSpan.FromHours(1));
        f.Reopen();
        Assert.Equal(1, await f.Timeline.RunDueAsync());
        Assert.Equal(0, await f.Timeline.RunDueAsync());
        Assert.Equal(["trigger", "stakeholders", "update:1", "update:2"], Kinds(f));
        Assert.Equal(0, f.Sink.Duplicates);

        var incident = Assert.Single(await f.Store.ListAsync());
        Assert.Equal(2, incident.Timeline.Count(e => e.Kind == "update" && e.Text.StartsWith("progress update", StringComparison.Ordinal)));
        Assert.Single(incident.Timeline, e => e.Text.StartsWith("stakeholder update", StringComparison.Ordinal));
    }

    [Fact]
    public async Task RaiseAsync_DrillSignal_IncidentTaggedAsDrillAtMostWarning()
    {
        using var f = new IncidentFixture();
        await f.Manager.RaiseAsync(f.Bad("drill:region-failure", SignalKinds.Drill, null, "drill region-failure: restoring every component", Severities.Critical, drill: true));

        var incident = Assert.Single(await f.Store.ListAsync());
        Assert.True(incident.IsDrill);
        Assert.StartsWith("[drill]", incident.Title, StringComparison.Ordinal);
        Assert.Equal(Severities.Warning, incident.Severity);
        var notice = Assert.Single(f.Sink.Notices);
        Assert.True(notice.IsDrill);
        Assert.Equal(Severities.Warning, notice.Severity);
        Assert.Equal("ml-engineering-lead", incident.OwnerRole); // no component, no kind default: the plan's first role
    }

    [Theory]
    [InlineData(SignalKinds.LocationDown, "location:primary", null, "devops-engineer")]
    [InlineData(SignalKinds.JobFailed, "job:nightly", null, "devops-engineer")]
    [InlineData(SignalKinds.ChannelFailing, "channel:slack", null, "devops-engineer")]
    [InlineData(SignalKinds.ModelRollback, "model:lead-scoring", null, "ml-engineering-lead")]
    [InlineData(SignalKinds.RpoExceeded, "rpo:registry", "registry", "ml-engineering-lead")]
    [InlineData(SignalKinds.RpoExceeded, "rpo:leads", "leads", "data-engineer")]
    [InlineData(SignalKinds.CheckFailed, "check:size:predictions", "predictions", "data-engineer")]
    [InlineData(SignalKinds.CheckFailed, "key-change:primary", null, "security-officer")]
    public void OwnerRole_KindAndComponent_DocumentedDefault(string kind, string cause, string? component, string role)
    {
        using var f = new IncidentFixture();
        Assert.Equal(role, IncidentRouting.OwnerRole(f.Plan, f.Bad(cause, kind, component, "x")));
    }

    private static List<string> Kinds(IncidentFixture f) =>
        [.. f.Sink.Notices.Select(n => n.Id[(n.Id.IndexOf(':', StringComparison.Ordinal) + 1)..])];
}
