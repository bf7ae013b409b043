using Lifeline.Recovery.Audit;
using Lifeline.Recovery.Incidents;

namespace Lifeline.Recovery.Tests.Incidents;

/// <summary>The sources of up's incidents service, from real audit records, into a real store.</summary>
public sealed class IncidentSourcesTests
{
    [Fact]
    public async Task Locations_EveryComponentsNewestBackupMissedOneLocation_OneLocationDownIncidentThenResolved()
    {
        using var f = new IncidentFixture();
        var components = f.Plan.Components.Select(c => c.Name).ToList();
        var t = IncidentFixture.Start;
        // every component's newest backup reached primary and secondary but not tertiary; an older one reached all three
        var records = components.SelectMany(c => new[] { Backup(c, t.AddHours(-1), "primary", "secondary", "tertiary"), Backup(c, t, "primary", "secondary") }).ToList();

        foreach (var signal in IncidentSources.Locations(f.Plan, records, t))
        {
            await f.Manager.RaiseAsync(signal);
        }

        var incident = Assert.Single(await f.Store.ListAsync());
        Assert.Equal("location:tertiary", incident.Cause);
        Assert.Equal(components.Order(), incident.Components.Order());

        // the same records next round: nothing new; then one component's backup reaches tertiary: still open (the
        // location is no longer down for all, but the others have not reached it); then all do: resolved
        var events = incident.Timeline.Count;
        foreach (var signal in IncidentSources.Locations(f.Plan, records, t))
        {
            await f.Manager.RaiseAsync(signal);
        }

        Assert.Equal(events, (await f.Store.GetAsync(incident.Id))!.Timeline.Count);
        records.Add(Backup(components[0], t.AddMinutes(5), "primary", "secondary", "tertiary"));
        foreach (var signal in IncidentSources.Locations(f.Plan, records, t.AddMinutes(5)))
        {
            await f.Manager.RaiseAsync(signal);
        }

        Assert.Equal(IncidentStates.Open, (await f.Store.GetAsync(incident.Id))!.State);
        records.AddRange(components.Skip(1).Select(c => Backup(c, t.AddMinutes(6), "primary", "secondary", "tertiary")));
        foreach (var signal in IncidentSources.Locations(f.Plan, records, t.AddMinutes(6)))
        {
            await f.Manager.RaiseAsync(signal);
        }

        Assert.Equal(IncidentStates.Resolved, (await f.Store.GetAsync(incident.Id))!.State);
    }

    [Theory]
    [InlineData(AuditFailureKinds.ReadBack, 0)] // the read-back's cause (ReadBack), whatever the message says
    [InlineData(null, 3)] // any other failure (or a record written before the field): every location is down
    public void Locations_EveryNewestBackupFailed_OnlyAReadBackFailureKindSparesTheLocations(string? kind, int down)
    {
        using var f = new IncidentFixture();
        var t = IncidentFixture.Start;
        var records = f.Plan.Components.Select(c => Backup(c.Name, t) with
        {
            Outcome = AuditOutcomes.Failed,
            Message = "pack 0123abcd written to ./vault-a failed",
            FailureKind = kind,
        }).ToList();

        var signals = IncidentSources.Locations(f.Plan, records, t).ToList();

        Assert.Equal(down, signals.Select(s => s.Cause).Distinct().Count());
        Assert.All(signals, s => Assert.False(s.Healthy));
    }

    [Fact]
    public void Counter_PrometheusText_ReadsTheUnlabelledValue()
    {
        const string text = "# HELP lifeline_scoring_rollbacks_total Model rollbacks\n# TYPE lifeline_scoring_rollbacks_total counter\n" +
            "lifeline_scoring_rollbacks_total 3\nlifeline_scoring_rollbacks_total_created 1.7e9\nlifeline_scoring_failovers_total 1\n";
        Assert.Equal(3, IncidentSources.Counter(text, "lifeline_scoring_rollbacks_total"));
        Assert.Equal(1, IncidentSources.Counter(text, "lifeline_scoring_failovers_total"));
        Assert.Null(IncidentSources.Counter(text, "lifeline_scoring_predictions_total"));
    }

    private static AuditRecord Backup(string component, DateTimeOffset time, params string[] verifiedIn) => new()
    {
        Time = time,
        Action = AuditActions.Backup,
        Who = "tester",
        Host = "test-host",
        Component = component,
        Outcome = verifiedIn.Length == 3 ? AuditOutcomes.Ok : AuditOutcomes.Partial,
        Message = verifiedIn.Length == 3 ? null : "not copied to tertiary: connection refused",
        VerifiedIn = verifiedIn,
    };
}
