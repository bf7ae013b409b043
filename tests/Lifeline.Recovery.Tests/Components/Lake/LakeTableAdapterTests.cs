using Lifeline.Lake;
using Lifeline.Lake.LeadScoring;
using Lifeline.Lake.Recovery;
using Lifeline.Recovery.Audit;
using Lifeline.Recovery.Components.Lake;
using Lifeline.Recovery.Tags;
using Lifeline.Storage.FileSystem;
using Lifeline.Vault;

namespace Lifeline.Recovery.Tests.Components.Lake;

public sealed class LakeTableAdapterTests
{
    private static readonly CancellationToken Ct = CancellationToken.None;

    private static async Task<LeadScoringLake> SeedAsync(string root, int leads, int batches, long firstId = 1)
    {
        var lake = await LeadScoringLake.OpenOrCreateAsync(new FileSystemObjectStore(root), "", cancellationToken: Ct);
        await lake.SeedAsync(new LeadGenerator(7, new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero), firstId), leads, batches, Ct);
        return lake;
    }

    private static async Task<(long Version, long Rows)> StateAsync(string directory)
    {
        var table = new DeltaTable(new FileSystemObjectStore(directory), "");
        var s = await table.GetSnapshotAsync(null, Ct);
        return (s.Version, s.RowCountFromStats ?? await table.CountRowsAsync(s, Ct));
    }

    [Fact]
    public async Task Backup_LeadsTable_TaggedByTheCodecAndRestoredAsBesideIdentical()
    {
        await using var f = await RecoveryFixture.CreateAsync();
        await SeedAsync(f.Dir.Combine("lake"), leads: 40, batches: 2);
        var live = f.Dir.Combine("lake", "leads");

        var backup = await f.Service.BackupComponentAsync("leads");

        Assert.Equal(AuditOutcomes.Ok, backup.Outcome);
        var tags = backup.Point!.Tags;
        Assert.Equal(("leads", live), (tags.Component, tags.Table));
        Assert.Equal((await StateAsync(live)).Version, tags.Version);
        Assert.NotNull(tags.Time);

        var restored = await f.Service.RestoreAsync("leads", new RestoreRunOptions { As = "leads-copy" });

        Assert.Equal(f.Dir.Combine("restored", "leads-copy"), restored.Target.Directory);
        Assert.Equal(await StateAsync(live), await StateAsync(restored.Target.Directory));
        Assert.True((await TableVerifier.VerifyAsync(new DeltaTable(new FileSystemObjectStore(restored.Target.Directory), ""), fullRead: true, cancellationToken: Ct)).Ok);
        await Assert.ThrowsAsync<LiveDataProtectedException>(() => f.Service.RestoreAsync("leads"));
    }

    [Fact]
    public async Task Restore_AtTheFirstPointsTime_GivesTheTableAsItWasThen()
    {
        await using var f = await RecoveryFixture.CreateAsync();
        var lake = await SeedAsync(f.Dir.Combine("lake"), leads: 30, batches: 1);
        var live = f.Dir.Combine("lake", "leads");
        var first = await f.Service.BackupComponentAsync("leads");
        var before = await StateAsync(live);
        await lake.SeedAsync(new LeadGenerator(8, new DateTimeOffset(2026, 2, 1, 0, 0, 0, TimeSpan.Zero), 1000), 20, 2, Ct);
        f.Time.Advance(TimeSpan.FromHours(1));
        var second = await f.Service.BackupComponentAsync("leads");
        Assert.True(second.Point!.Tags.Version > first.Point!.Tags.Version);

        var byTime = await f.Service.RestoreAsync("leads", new RestoreRunOptions { As = "early", Point = RestorePointSpec.AtOrBefore(first.Point.Time) });
        var newest = await f.Service.RestoreAsync("leads", new RestoreRunOptions { As = "newest" });

        Assert.Equal(first.Point.Id, byTime.Point.Id);
        Assert.Equal(before, await StateAsync(byTime.Target.Directory));
        Assert.Equal(await StateAsync(live), await StateAsync(newest.Target.Directory));

        // over the live table only when asked: the first point's version, later commits gone, history kept
        var overLive = await f.Service.RestoreAsync("leads", new RestoreRunOptions { Point = RestorePointSpec.ById(first.Point.ShortId), Overwrite = true });
        Assert.Equal(live, overLive.Target.Directory);
        Assert.Equal(before, await StateAsync(live));
        Assert.True((await TableVerifier.VerifyAsync(new DeltaTable(new FileSystemObjectStore(live), ""), fullRead: true, cancellationToken: Ct)).Ok);
    }

    [Fact]
    public async Task LakeRestore_AsOfVersion_CutsTheNewestBackupBack()
    {
        using var dir = new TempDirectory();
        await using var vault = await VaultRepository.InitAsync(new FileSystemObjectStore(dir.Combine("vault")), "pw", VaultInitOptions.ForTests, null, Ct);
        await SeedAsync(dir.Combine("lake"), leads: 30, batches: 3);
        var table = dir.Combine("lake", "leads");
        var backup = await LakeTableVault.BackupAsync(vault, table, null, dir.Combine("staging"), Ct);
        Assert.Equal("leads", (await vault.FindSnapshotAsync(backup.Snapshot, ct: Ct)).Source);

        var restored = await LakeTableVault.RestoreAsync(vault, table, null, dir.Combine("v1"), 1, null, Ct);

        Assert.Equal((backup.Version, 1L), (restored.SnapshotVersion, restored.Version));
        Assert.Equal(1, (await StateAsync(dir.Combine("v1"))).Version);
    }

    [Fact]
    public async Task LakeRestore_SnapshotWithOldTags_StillRestores()
    {
        using var dir = new TempDirectory();
        await using var vault = await VaultRepository.InitAsync(new FileSystemObjectStore(dir.Combine("vault")), "pw", VaultInitOptions.ForTests, null, Ct);
        await SeedAsync(dir.Combine("lake"), leads: 30, batches: 2);
        var table = dir.Combine("lake", "leads");
        var view = await TableBackupView.MaterializeAsync(LakeTableVault.OpenTable(table), null, dir.Combine("staging", "table"), Ct);
        // exactly what src/Lifeline.Cli/Commands/LakeBackup.cs wrote before the codec
        var old = await vault.BackupAsync(new BackupRequest
        {
            Paths = [dir.Combine("staging", "table")],
            Source = "lake",
            Tags = ["lake", "lake-table:" + table, $"lake-version:{view.Version}", $"lake-time:{view.VersionTimestamp.ToUnixTimeMilliseconds()}"],
        }, null, Ct);
        var point = RecoveryPoint.From(old.Snapshot)!;
        Assert.Equal(("leads", table, view.Version), (point.Component, point.Tags.Table, point.Tags.Version));

        var restored = await LakeTableVault.RestoreAsync(vault, table, null, dir.Combine("restored"), null, null, Ct);

        Assert.Equal(old.Snapshot.Id, restored.Snapshot);
        Assert.Equal(await StateAsync(table), await StateAsync(dir.Combine("restored")));
    }
}
