using Lifeline.Recovery.Status;

namespace Lifeline.Recovery.Tests.Status;

public sealed class StatusTests
{
    [Fact]
    public async Task Status_RecoveryPointAgeing_GoesGreenAmberRed()
    {
        await using var f = await RecoveryFixture.CreateAsync();
        var before = await f.Service.StatusAsync();
        Assert.Equal(StatusColor.Red, Config(before).Color);
        Assert.Null(Config(before).RecoveryPoint);
        Assert.Contains("no vault", Config(before).Reason, StringComparison.Ordinal);

        var backup = await f.Service.BackupComponentAsync("configuration");
        var fresh = Config(await f.Service.StatusAsync());
        f.Time.Advance(TimeSpan.FromMinutes(90));
        var old = Config(await f.Service.StatusAsync());
        f.Time.Advance(TimeSpan.FromHours(3));
        var stale = Config(await f.Service.StatusAsync());

        Assert.True(fresh.Color == StatusColor.Green, fresh.Reason);
        Assert.Equal(backup.Point!.Id, fresh.RecoveryPoint!.Id);
        Assert.Equal(TimeSpan.FromHours(1), fresh.RpoTarget);
        Assert.Equal("ok", fresh.LastBackup!.Outcome);
        Assert.Equal(["a", "b", "c"], fresh.Locations.Where(l => l.Required && l.Newest?.Id == backup.Point.Id).Select(l => l.Location));
        Assert.Equal(StatusColor.Amber, old.Color);
        Assert.Equal(TimeSpan.FromMinutes(90), old.Age);
        Assert.Equal(StatusColor.Red, stale.Color);
        Assert.Contains("over the RPO maximum 4h", stale.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Status_PointMissingFromARequiredLocation_IsNotARecoveryPoint()
    {
        await using var f = await RecoveryFixture.CreateAsync();
        var first = await f.Service.BackupComponentAsync("configuration");
        f.Time.Advance(TimeSpan.FromMinutes(30));
        f.StoreOf("c").Add(new Storage.Faults.FaultRule { Operation = Storage.Faults.ObjectStoreOperation.PutIfAbsent, KeyPrefix = "snapshots/", Exception = _ => new IOException("object storage refused") });

        var partial = await f.Service.BackupComponentAsync("configuration");
        f.StoreOf("c").Clear();
        var status = Config(await f.Service.StatusAsync());

        Assert.Equal("partial", partial.Outcome);
        Assert.Equal(first.Point!.Id, status.RecoveryPoint!.Id);
        Assert.Equal(TimeSpan.FromMinutes(30), status.Age);
        Assert.Equal(StatusColor.Amber, status.Color);
    }

    [Fact]
    public async Task Status_LastBackupFailed_IsRedWithTheReason()
    {
        await using var f = await RecoveryFixture.CreateAsync();
        await f.Service.BackupComponentAsync("configuration");
        File.Delete(Path.Combine(f.App, "secrets.env"));
        f.Time.Advance(TimeSpan.FromMinutes(5));

        var failed = await Assert.ThrowsAsync<RecoveryException>(() => f.Service.BackupComponentAsync("configuration"));
        var status = Config(await f.Service.StatusAsync());

        Assert.Contains("configuration file 'secrets.env'", failed.Message, StringComparison.Ordinal);
        Assert.Equal(StatusColor.Red, status.Color);
        Assert.Equal("failed", status.LastBackup!.Outcome);
        Assert.Contains("secrets.env", status.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Status_OnChangePolicy_NeedsTheSecondaryOnly()
    {
        await using var f = await RecoveryFixture.CreateAsync(schedule: "on-change");
        await f.Service.BackupComponentAsync("configuration");
        f.StoreOf("c").Add(new Storage.Faults.FaultRule { Exception = _ => new IOException("object storage is down") });

        var status = Config(await f.Service.StatusAsync());

        Assert.Equal(["b"], status.Locations.Where(l => l.Required).Select(l => l.Location));
        Assert.Equal(StatusColor.Green, status.Color);
        Assert.Contains("object storage is down", status.Locations.Single(l => l.Location == "c").Error, StringComparison.Ordinal);
    }

    private static ComponentStatus Config(StatusReport report) => report.Components.Single(c => c.Component == "configuration");
}
