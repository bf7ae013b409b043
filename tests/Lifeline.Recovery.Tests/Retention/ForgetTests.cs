using Lifeline.Recovery.Tags;

namespace Lifeline.Recovery.Tests.Retention;

public sealed class ForgetTests
{
    [Fact]
    public async Task Forget_KeepLastTwo_DryRunChangesNothingAndTheRealRunForgetsInEveryLocation()
    {
        await using var f = await RecoveryFixture.CreateAsync();
        var ids = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            await File.WriteAllTextAsync(Path.Combine(f.App, "conf", "api.json"), $"{{ \"port\": {8080 + i} }}\n");
            ids.Add((await f.Service.BackupComponentAsync("configuration")).Point!.Id);
            f.Time.Advance(TimeSpan.FromHours(1));
        }

        var dry = await f.Service.ForgetAsync(["configuration"], dryRun: true);

        Assert.True(dry.Ok, string.Join("\n", dry.Findings));
        Assert.All(dry.Outcomes, o => Assert.Equal([ids[0]], o.Result.Remove.Select(RecoveryPoint.IdentityOf)));
        Assert.Equal(3, (await (await f.Locations.OpenAsync("b")).ListSnapshotsAsync().ToListAsync()).Count);

        var real = await f.Service.ForgetAsync(["configuration"], dryRun: false);

        Assert.Equal(["a", "b", "c"], real.Outcomes.Select(o => o.Location));
        foreach (var location in new[] { "a", "b", "c" })
        {
            var left = await (await f.Locations.OpenAsync(location)).ListSnapshotsAsync().ToListAsync();
            Assert.Equal(ids[1..], left.Select(RecoveryPoint.IdentityOf));
        }

        Assert.Contains(await f.Service.Audit.ReadAsync().ToListAsync(), r => r.Action == "forget" && r.Message!.StartsWith("removed 3 snapshots", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Forget_RuleThatSelectsNoSnapshot_IsAFindingNotASilentSuccess()
    {
        await using var f = await RecoveryFixture.CreateAsync();
        await f.Service.BackupComponentAsync("configuration");

        var run = await f.Service.ForgetAsync(["leads"], dryRun: true);

        Assert.False(run.Ok);
        Assert.Equal(3, run.Findings.Count(x => x.Rule == "retention-selects-nothing"));
        Assert.Contains("no snapshot of 'leads'", run.Findings[0].Message, StringComparison.Ordinal);
    }
}
