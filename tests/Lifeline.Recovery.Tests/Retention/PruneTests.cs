namespace Lifeline.Recovery.Tests.Retention;

/// <summary>The plan's prune (<see cref="RecoveryService.PruneAsync"/>) and the in-process gate that lets backups run
/// while forget and prune need the repositories alone.</summary>
public sealed class PruneTests
{
    [Fact]
    public async Task ForgetThenPrune_FreesTheForgottenDataInEveryLocationAndTheKeptPointsCheckAndRestore()
    {
        await using var f = await RecoveryFixture.CreateAsync();
        for (var i = 0; i < 4; i++)
        {
            // each version is its own content, so the forgotten ones leave unused blobs behind
            await File.WriteAllTextAsync(Path.Combine(f.App, "conf", "api.json"), $"{{ \"port\": {8080 + i}, \"pad\": \"{new string((char)('a' + i), 4000)}\" }}\n");
            await f.Service.BackupComponentAsync("configuration");
            f.Time.Advance(TimeSpan.FromHours(1));
        }

        Assert.True((await f.Service.ForgetAsync(["configuration"], dryRun: false)).Ok);
        var dry = await f.Service.PruneAsync(dryRun: true);
        var real = await f.Service.PruneAsync(dryRun: false);

        Assert.True(real.Ok, string.Join("\n", real.Findings));
        Assert.Equal(["a", "b", "c"], real.Outcomes.Select(o => o.Location));
        Assert.All(dry.Outcomes, o => Assert.True(o.Result.DryRun && o.Result.BlobsRemoved > 0, $"{o.Location}: {o.Result}"));
        Assert.All(real.Outcomes, o => Assert.True(o.Result.BlobsRemoved > 0 && o.Result.BytesFreed > 0, $"{o.Location}: {o.Result}"));
        Assert.Equal(dry.Outcomes.Select(o => o.Result.BlobsRemoved), real.Outcomes.Select(o => o.Result.BlobsRemoved));
        foreach (var location in new[] { "a", "b", "c" })
        {
            var vault = await f.Locations.OpenAsync(location);
            Assert.True((await vault.CheckAsync(new Lifeline.Vault.CheckOptions { ReadData = true })).Ok, location);
            Assert.Equal(2, (await vault.ListSnapshotsAsync().ToListAsync()).Count);
        }

        // the newest kept point still restores, whole
        var restored = await f.Service.RestoreAsync("configuration", new RestoreRunOptions { As = "after-prune" });
        Assert.Equal(await File.ReadAllBytesAsync(Path.Combine(f.App, "conf", "api.json")), await File.ReadAllBytesAsync(Path.Combine(restored.Target.Directory!, "conf", "api.json")));
        var record = (await f.Service.Audit.ReadAsync().ToListAsync()).Last(r => r.Action == "prune");
        Assert.Equal("ok", record.Outcome);
        Assert.StartsWith("pruned 3 locations:", record.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Backups_StartedWhileForgetAndPruneRun_AllSucceedAndTheLocationsCheck()
    {
        await using var f = await RecoveryFixture.CreateAsync();
        for (var i = 0; i < 3; i++)
        {
            await File.WriteAllTextAsync(Path.Combine(f.App, "conf", "api.json"), $"{{ \"port\": {7000 + i} }}\n");
            await f.Service.BackupComponentAsync("configuration");
            f.Time.Advance(TimeSpan.FromHours(1));
        }

        // without the gate the exclusive vault lock of forget or prune meets a backup's shared one, and one side
        // fails at once (the fixture's vaults do not wait for locks)
        // one backup after another (one component's backups never overlap: its capture lock), as on-change
        // protection runs them, while forget and prune are asked for meanwhile
        var backups = Task.Run(async () =>
        {
            var results = new List<ComponentBackupResult>();
            for (var i = 0; i < 6; i++)
            {
                await File.WriteAllTextAsync(Path.Combine(f.App, "conf", "api.json"), $"{{ \"port\": {7100 + i} }}\n");
                results.AddRange(await f.Service.BackupAsync(["configuration"]));
            }

            return results;
        });
        var forgets = new List<Task<Lifeline.Recovery.Retention.ForgetRunResult>>();
        var prunes = new List<Task<Lifeline.Recovery.Retention.PruneRunResult>>();
        for (var round = 0; round < 3; round++)
        {
            forgets.Add(Task.Run(() => f.Service.ForgetAsync(["configuration"], dryRun: false)));
            prunes.Add(Task.Run(() => f.Service.PruneAsync(dryRun: false)));
        }

        Assert.All(await backups, r => Assert.True(r.Outcome == "ok", $"{r.Component}: {r.Outcome} {r.Message}"));
        Assert.All(await Task.WhenAll(forgets), r => Assert.True(r.Ok, string.Join("\n", r.Findings)));
        Assert.All(await Task.WhenAll(prunes), r => Assert.True(r.Ok, string.Join("\n", r.Findings)));

        foreach (var location in new[] { "a", "b", "c" })
        {
            Assert.True((await (await f.Locations.OpenAsync(location)).CheckAsync(new Lifeline.Vault.CheckOptions { ReadData = true })).Ok, location);
        }
    }
}
