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

    [Fact]
    public async Task Forget_CorruptSnapshotInALocation_IsSkippedAndReportedWhileTheRestIsForgotten()
    {
        await using var f = await RecoveryFixture.CreateAsync();
        var ids = new List<string>();
        for (var i = 0; i < 4; i++)
        {
            await File.WriteAllTextAsync(Path.Combine(f.App, "conf", "api.json"), $"{{ \"port\": {9000 + i} }}\n");
            ids.Add((await f.Service.BackupComponentAsync("configuration")).Point!.Id);
            f.Time.Advance(TimeSpan.FromHours(1));
        }

        // the newest snapshot file in the primary no longer authenticates
        var corrupt = f.Dir.Combine("vault-a", "snapshots", ids[3]);
        Assert.True(File.Exists(corrupt));
        var bytes = await File.ReadAllBytesAsync(corrupt);
        bytes[^5] ^= 0xFF;
        await File.WriteAllBytesAsync(corrupt, bytes);

        var run = await f.Reopen().ForgetAsync(["configuration"], dryRun: false);

        Assert.False(run.Ok);
        var finding = Assert.Single(run.Findings);
        Assert.Equal(("snapshot-corrupt", "a"), (finding.Rule, finding.Location));
        Assert.Contains(ids[3][..8], finding.Message, StringComparison.Ordinal);
        Assert.Contains("lifeline vault check", finding.Message, StringComparison.Ordinal);
        Assert.Equal(["a", "b", "c"], run.Outcomes.Select(o => o.Location));
        // keep-last 2 of the readable ones in a (ids 1, 2; the corrupt file is neither kept nor removed), of all in b and c
        Assert.Equal(ids[1..].Order(StringComparer.Ordinal), Directory.GetFiles(f.Dir.Combine("vault-a", "snapshots")).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Equal(ids[2..], (await (await f.Locations.OpenAsync("b")).ListSnapshotsAsync().ToListAsync()).Select(RecoveryPoint.IdentityOf));
        var record = (await f.Service.Audit.ReadAsync().ToListAsync()).Last();
        Assert.Equal(("forget", "partial"), (record.Action, record.Outcome));
    }
}
