using Lifeline.Recovery.Audit;
using Lifeline.Recovery.Configuration;
using Lifeline.Recovery.Tags;
using Lifeline.Storage.Faults;

namespace Lifeline.Recovery.Tests.Locations;

public sealed class BackupRestoreTests
{
    [Fact]
    public async Task Backup_ThreeLocationsWithAzurite_CopiesEverywhereAndRestoresExactly()
    {
        await using var f = await RecoveryFixture.CreateAsync(tertiary: "azure");
        var progress = new ListProgress<Lifeline.Recovery.Components.RecoveryProgress>();

        var backup = await f.Service.BackupComponentAsync("configuration", progress: progress);

        Assert.Equal(AuditOutcomes.Ok, backup.Outcome);
        Assert.Single(progress.Items.Select(p => p.OperationId).Distinct());
        Assert.Equal(["capture", "backup", "copy", "verify"], progress.Items.Select(p => p.Phase).Distinct());
        Assert.Contains(progress.Items, p => p.Phase == "copy" && p.Location == "c");
        Assert.Equal(["a", "b", "c"], backup.Locations.Where(l => l.Ok).Select(l => l.Location));
        foreach (var location in new[] { "a", "b", "c" })
        {
            var vault = await f.Locations.OpenAsync(location);
            var snapshot = Assert.Single(await vault.ListSnapshotsAsync(RecoveryPointTags.FilterFor("configuration")).ToListAsync());
            Assert.Equal(backup.Point!.Id, RecoveryPoint.IdentityOf(snapshot));
            Assert.Equal("files+env", RecoveryPointTags.Of(snapshot)!.Mode);
        }

        var restored = await f.Service.RestoreAsync("configuration", new RestoreRunOptions { As = "copy1" });

        Assert.Equal("a", restored.ServedBy);
        var target = f.Dir.Combine("restored", "copy1");
        Assert.Equal(target, restored.Target.Directory);
        foreach (var rel in new[] { "conf/api.json", "conf/monitoring.json", "secrets.env" })
        {
            Assert.Equal(await File.ReadAllBytesAsync(Path.Combine(f.App, rel)), await File.ReadAllBytesAsync(Path.Combine(target, rel)));
        }

        var env = await ConfigurationComponent.ReadEnvFileAsync(Path.Combine(target, ConfigurationComponent.EnvFileName));
        Assert.Equal(RecoveryFixture.SecretValue, env["LIFELINE_TEST_TOKEN"]);
        Assert.Equal(RecoveryFixture.DsnValue, env["APP_DSN"]);
        Assert.Equal("production", env["APP_MODE"]);
        Assert.False(env.ContainsKey("UNRELATED"));
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(target, ConfigurationComponent.EnvFileName)));
        }
    }

    [Fact]
    public async Task Backup_SecondariesCreatedWithOnePassword_ShareThePrimaryMasterKey()
    {
        await using var f = await RecoveryFixture.CreateAsync();

        await f.Service.BackupComponentAsync("configuration");

        var primary = await f.Locations.OpenAsync("a");
        foreach (var location in new[] { "b", "c" })
        {
            // nothing left to send, but the copy says whether the two share the master key (whole packs are sent as they are)
            var copy = await primary.CopyAsync(await f.Locations.OpenAsync(location), new Lifeline.Vault.CopyOptions());
            Assert.True(copy.SharedMasterKey, location);
            Assert.Equal(0, copy.BlobsCopied);
        }
    }

    [Fact]
    public async Task Restore_PrimaryDataUnreadable_FallsBackToTheSecondaryAndSaysSo()
    {
        await using var f = await RecoveryFixture.CreateAsync();
        var backup = await f.Service.BackupComponentAsync("configuration");
        f.Time.Advance(TimeSpan.FromSeconds(1));
        f.StoreOf("a").Add(new FaultRule { Operation = ObjectStoreOperation.Get, KeyPrefix = "data/", Exception = k => new IOException($"disk error reading {k}") });

        var restored = await f.Service.RestoreAsync("configuration", new RestoreRunOptions { As = "fallback", Point = RestorePointSpec.ById(backup.Point!.ShortId) });

        Assert.Equal("b", restored.ServedBy);
        Assert.Equal(["a", "b"], restored.Attempts.Select(a => a.Location));
        Assert.False(restored.Attempts[0].Served);
        Assert.Contains("disk error", restored.Attempts[0].Error, StringComparison.Ordinal);
        Assert.Equal(await File.ReadAllBytesAsync(Path.Combine(f.App, "secrets.env")), await File.ReadAllBytesAsync(f.Dir.Combine("restored", "fallback", "secrets.env")));
        var record = (await f.Service.Audit.ReadAsync().ToListAsync()).Last();
        Assert.Equal(AuditActions.Restore, record.Action);
        Assert.Equal(["configuration: b"], record.ServedBy);
    }

    [Fact]
    public async Task Restore_PrimaryLocationGone_ListsFromTheOthersAndRestoresFromTheTertiary()
    {
        await using var f = await RecoveryFixture.CreateAsync();
        await f.Service.BackupComponentAsync("configuration");
        f.StoreOf("a").Add(new FaultRule { KeyPrefix = "", Exception = _ => new IOException("region-a is down") });
        f.StoreOf("b").Add(new FaultRule { Operation = ObjectStoreOperation.Get, KeyPrefix = "data/", Exception = _ => new IOException("region-b is flaky") });

        var restored = await f.Service.RestoreAsync("configuration", new RestoreRunOptions { As = "from-c" });

        Assert.Equal("c", restored.ServedBy);
        Assert.True(File.Exists(f.Dir.Combine("restored", "from-c", "conf", "api.json")));
    }

    [Fact]
    public async Task Restore_DryRun_SaysWhatFromWhereAndWritesNothing()
    {
        await using var f = await RecoveryFixture.CreateAsync();
        var backup = await f.Service.BackupComponentAsync("configuration");

        var plan = await f.Service.RestoreAsync("configuration", new RestoreRunOptions { DryRun = true });

        Assert.True(plan.DryRun);
        Assert.Equal(backup.Point!.Id, plan.Point.Id);
        Assert.Equal("a", plan.ServedBy);
        Assert.Equal(["b", "c"], plan.AlsoIn);
        Assert.Equal(f.App, plan.Target.Directory);
        Assert.Contains("--as NAME", plan.WouldRefuse, StringComparison.Ordinal);
        Assert.True(plan.Files >= 5);
        Assert.DoesNotContain(await f.Service.Audit.ReadAsync().ToListAsync(), r => r.Action == AuditActions.Restore);
    }

    [Fact]
    public async Task Restore_OverLiveDataWithoutOverwrite_RefusesAndWithOverwriteReplaces()
    {
        await using var f = await RecoveryFixture.CreateAsync();
        await f.Service.BackupComponentAsync("configuration");
        var api = Path.Combine(f.App, "conf", "api.json");
        var original = await File.ReadAllBytesAsync(api);
        await File.WriteAllTextAsync(api, "broken");

        await Assert.ThrowsAsync<LiveDataProtectedException>(() => f.Service.RestoreAsync("configuration"));
        Assert.Equal("broken", await File.ReadAllTextAsync(api));
        f.Time.Advance(TimeSpan.FromSeconds(1));

        var restored = await f.Service.RestoreAsync("configuration", new RestoreRunOptions { Overwrite = true });

        Assert.True(restored.Target.IsLive);
        Assert.Equal(original, await File.ReadAllBytesAsync(api));
        var records = await f.Service.Audit.ReadAsync().ToListAsync();
        Assert.Equal([AuditOutcomes.Failed, AuditOutcomes.Ok], records.Where(r => r.Action == AuditActions.Restore).Select(r => r.Outcome));
    }

    [Fact]
    public async Task Restore_AtTime_TakesThePointCurrentThen()
    {
        await using var f = await RecoveryFixture.CreateAsync();
        var first = await f.Service.BackupComponentAsync("configuration");
        f.Time.Advance(TimeSpan.FromHours(1));
        await File.WriteAllTextAsync(Path.Combine(f.App, "conf", "api.json"), "{ \"port\": 9090 }\n");
        var second = await f.Service.BackupComponentAsync("configuration");

        var dry = await f.Service.RestoreAsync("configuration", new RestoreRunOptions { DryRun = true, As = "x", Point = RestorePointSpec.Parse("2026-03-02T12:30:00Z") });
        var latest = await f.Service.RestoreAsync("configuration", new RestoreRunOptions { DryRun = true, As = "x" });

        Assert.Equal(first.Point!.Id, dry.Point.Id);
        Assert.Equal(second.Point!.Id, latest.Point.Id);
        await Assert.ThrowsAsync<NoRecoveryPointException>(() => f.Service.RestoreAsync("configuration", new RestoreRunOptions { Point = RestorePointSpec.Parse("2026-03-01T00:00:00Z"), As = "y" }));
    }

    [Fact]
    public async Task Backup_SecondaryUnreachable_IsPartialAndTheNextBackupCompletesTheCopy()
    {
        await using var f = await RecoveryFixture.CreateAsync();
        await f.Service.BackupComponentAsync("configuration"); // creates every vault
        f.StoreOf("b").Add(new FaultRule { KeyPrefix = "", Exception = _ => new IOException("region-b is down") });
        f.Time.Advance(TimeSpan.FromMinutes(10));

        var partial = await f.Service.BackupComponentAsync("configuration");

        Assert.Equal(AuditOutcomes.Partial, partial.Outcome);
        Assert.Contains("region-b is down", partial.Message, StringComparison.Ordinal);
        f.StoreOf("b").Clear();
        f.Time.Advance(TimeSpan.FromMinutes(10));
        var next = await f.Service.BackupComponentAsync("configuration");
        Assert.Equal(AuditOutcomes.Ok, next.Outcome);
        var b = await f.Locations.OpenAsync("b");
        var ids = (await b.ListSnapshotsAsync().ToListAsync()).Select(RecoveryPoint.IdentityOf).ToList();
        Assert.Contains(partial.Point!.Id, ids);
        Assert.Contains(next.Point!.Id, ids);
    }

    [Fact]
    public async Task Backup_UnknownOrUnadaptedComponent_FailsWithOneClearLine()
    {
        await using var f = await RecoveryFixture.CreateAsync();

        var unknown = await Assert.ThrowsAsync<UnknownComponentException>(() => f.Service.BackupAsync(["configuratoin"]));
        Assert.Contains("did you mean 'configuration'", unknown.Message, StringComparison.Ordinal);
        var noAdapter = await Assert.ThrowsAsync<UnknownComponentException>(() => f.Service.BackupComponentAsync("jobs"));
        Assert.DoesNotContain('\n', noAdapter.Message);
        // both attempts are in the history: the unknown name (nothing ran) and the component without an adapter
        var records = await f.Service.Audit.ReadAsync().ToListAsync();
        Assert.Equal(["configuratoin", "jobs"], records.Select(r => r.Component).Order(StringComparer.Ordinal));
        Assert.All(records, r => Assert.Equal(AuditOutcomes.Failed, r.Outcome));
    }
}
