using Lifeline.Cli.Tests.Infrastructure;
using Lifeline.Recovery.Incidents;
using Lifeline.Recovery.Plan;

namespace Lifeline.Cli.Tests.Incidents;

/// <summary><c>lifeline incidents</c> run as the real executable over the plan's real SQLite incident store (an
/// incident opened in-process by the manager, as <c>lifeline up</c>'s incidents service opens one).</summary>
public sealed class IncidentsCommandsTests
{
    [Fact]
    public async Task AckAndResolve_ByTheCli_RecordedOnTheTimelineWithTheDraftedReport()
    {
        using var dir = new TestDirectory("incidents-cli");
        var id = await OpenIncidentAsync(dir);
        var runner = new LifelineRunner(dir.Path);

        var list = (await runner.RunAsync("--json", "incidents", "ls")).ShouldSucceed().Json.GetProperty("incidents").EnumerateArray().ToList();
        Assert.Equal(id, Assert.Single(list).GetProperty("id").GetString());
        Assert.Equal("devops-engineer", list[0].GetProperty("ownerRole").GetString());

        (await runner.RunAsync("incidents", "ack", id, "--note", "looking at the mount")).ShouldSucceed();
        var acked = (await runner.RunAsync("incidents", "show", id, "--json")).ShouldSucceed().Json;
        Assert.Equal(IncidentStates.Acknowledged, acked.GetProperty("incident").GetProperty("state").GetString());
        Assert.Contains(acked.GetProperty("timeline").EnumerateArray(), e => e.GetProperty("text").GetString() == "acknowledged: looking at the mount");

        var resolved = (await runner.RunAsync("incidents", "resolve", id, "--note", "remounted the volume")).ShouldSucceed();
        Assert.Contains($"lifeline incidents show {id}", resolved.Stdout, StringComparison.Ordinal);
        var shown = (await runner.RunAsync("incidents", "show", id)).ShouldSucceed().Stdout;
        Assert.Contains("## Root cause", shown, StringComparison.Ordinal);
        Assert.Contains("resolved by hand: remounted the volume", shown, StringComparison.Ordinal);
        Assert.Contains("no open incidents", (await runner.RunAsync("incidents", "ls")).ShouldSucceed().Stdout, StringComparison.Ordinal);
        Assert.Single((await runner.RunAsync("--json", "incidents", "ls", "--all")).ShouldSucceed().Json.GetProperty("incidents").EnumerateArray());

        var again = (await runner.RunAsync("incidents", "ack", id)).ShouldFailWith(ExitCodes.IncidentResolved);
        Assert.Contains("already resolved", again, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnknownId_OneLineNamingItAndHowToList()
    {
        using var dir = new TestDirectory("incidents-cli-bad");
        File.WriteAllText(dir.Combine("lifeline.yaml"), PlanTemplates.Recommended());
        var runner = new LifelineRunner(dir.Path);

        // before any incident exists (no store yet), and with one
        Assert.Equal("lifeline: no incident 'inc-nope': list them with 'lifeline incidents ls --all'",
            (await runner.RunAsync("incidents", "resolve", "inc-nope")).ShouldFailWith(ExitCodes.UnknownIncident));
        await OpenIncidentAsync(dir);
        var error = (await runner.RunAsync("incidents", "show", "inc-nope")).ShouldFailWith(ExitCodes.UnknownIncident);
        Assert.Contains("'inc-nope'", error, StringComparison.Ordinal);
        (await runner.RunAsync("incidents", "show")).ShouldFailWith(ExitCodes.Usage);
    }

    private static async Task<string> OpenIncidentAsync(TestDirectory dir)
    {
        File.WriteAllText(dir.Combine("lifeline.yaml"), PlanTemplates.Recommended());
        var plan = PlanFile.Parse(PlanTemplates.Recommended(), dir.Combine("lifeline.yaml")).Plan!;
        var store = IncidentStore.ForData(dir.Combine("lifeline-data"));
        await store.MigrateAsync();
        var manager = new IncidentManager(store, plan);
        await manager.RaiseAsync(new IncidentSignal
        {
            Cause = "location:secondary", Kind = SignalKinds.LocationDown, Component = "leads",
            Summary = "location secondary: the backup of leads did not reach it", Time = DateTimeOffset.UtcNow,
        });
        return Assert.Single(await store.ListAsync()).Id;
    }
}
