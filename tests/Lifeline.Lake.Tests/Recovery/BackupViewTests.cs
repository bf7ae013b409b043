using Lifeline.Lake.Recovery;
using Lifeline.Lake.Schema;
using Lifeline.Lake.Tests.Golden;
using Lifeline.Storage.FileSystem;

namespace Lifeline.Lake.Tests.Recovery;

public sealed class BackupViewTests
{
    private static readonly StructType Simple = new([new("id", PrimitiveType.Long), new("part", PrimitiveType.String)]);

    private static async Task<List<string>> ContentAsync(DeltaTable table, long? version = null) =>
        [.. (await table.ReadRowsAsync(await table.GetSnapshotAsync(version))).Select(r => $"{r["id"]}/{r["part"]}").Order(StringComparer.Ordinal)];

    [Fact]
    public async Task Materialize_Version_RestoredCopyReadsIdenticallyWithHistory()
    {
        using var dir = new TempDir();
        var table = new DeltaTable(new FileSystemObjectStore(dir.Sub("live")), "t");
        await table.CreateAsync(Simple, ["part"]);
        for (var i = 0; i < 12; i++)
        {
            await table.AppendAsync([new Dictionary<string, object?> { ["id"] = (long)i, ["part"] = i % 2 == 0 ? "a" : "b" }]);
        }

        await table.DeletePartitionsAsync(p => (string?)p["part"] == "a");
        var staging = dir.Sub("staging");
        var view = await TableBackupView.MaterializeAsync(table, 11, staging);
        Assert.Equal(11, view.Version);
        Assert.False(File.Exists(Path.Combine(staging, "_delta_log", $"{12:D20}.json")));

        // writes after the view do not change it
        await table.AppendAsync([new Dictionary<string, object?> { ["id"] = 99L, ["part"] = "c" }]);
        GoldenData.CopyTree(staging, dir.Sub("restored"));
        var restored = new DeltaTable(new FileSystemObjectStore(dir.Sub("restored")), "");
        Assert.Equal(11, (await restored.GetSnapshotAsync()).Version);
        Assert.Equal(10, (await restored.GetSnapshotAsync()).CheckpointVersion);
        Assert.Equal(await ContentAsync(table, 11), await ContentAsync(restored));
        Assert.Equal(await ContentAsync(table, 3), await ContentAsync(restored, 3));
        Assert.Equal((await table.GetHistoryAsync(false)).Take(12).Select(h => h.Timestamp), (await restored.GetHistoryAsync(false)).Select(h => h.Timestamp));
        Assert.True((await TableVerifier.VerifyAsync(restored, fullRead: true)).Ok);
    }

    [Fact]
    public async Task Materialize_Again_CopiesOnlyNewFiles()
    {
        using var dir = new TempDir();
        var table = new DeltaTable(new FileSystemObjectStore(dir.Sub("live")), "");
        await table.CreateAsync(Simple);
        await table.AppendAsync([new Dictionary<string, object?> { ["id"] = 1L }]);
        var first = await TableBackupView.MaterializeAsync(table, null, dir.Sub("staging"));
        Assert.Equal(3, first.FilesCopied); // two commits and one data file
        await table.AppendAsync([new Dictionary<string, object?> { ["id"] = 2L }]);
        var second = await TableBackupView.MaterializeAsync(table, null, dir.Sub("staging"));
        Assert.Equal(2, second.FilesCopied);
        Assert.Equal(0, (await TableBackupView.MaterializeAsync(table, null, dir.Sub("staging"))).FilesCopied);
        // going back to an older version removes what that version does not have
        var older = await TableBackupView.MaterializeAsync(table, 1, dir.Sub("staging"));
        Assert.Equal(2, older.FilesRemoved);
    }

    [Fact]
    public async Task TrimToVersion_RestoredTable_EndsAtThatVersionKeepingHistory()
    {
        using var dir = new TempDir();
        var table = new DeltaTable(new FileSystemObjectStore(dir.Sub("live")), "");
        await table.CreateAsync(Simple);
        for (var i = 0; i < 14; i++)
        {
            await table.AppendAsync([new Dictionary<string, object?> { ["id"] = (long)i, ["part"] = "x" }]);
        }

        await TableBackupView.MaterializeAsync(table, null, dir.Sub("staging"));
        GoldenData.CopyTree(dir.Sub("staging"), dir.Sub("restored"));
        var restored = new DeltaTable(new FileSystemObjectStore(dir.Sub("restored")), "");
        await TableBackupView.TrimToVersionAsync(restored, 6);
        var snapshot = await restored.GetSnapshotAsync();
        Assert.Equal(6, snapshot.Version);
        Assert.Null(snapshot.CheckpointVersion);
        Assert.Equal(await ContentAsync(table, 6), await ContentAsync(restored));
        Assert.Equal(await ContentAsync(table, 2), await ContentAsync(restored, 2));
        Assert.True((await TableVerifier.VerifyAsync(restored)).Ok);
        Assert.Equal(6, Directory.GetFiles(dir.Sub("restored"), "*.parquet").Length);
        // and the restored table takes new writes
        Assert.Equal(7, (await restored.AppendAsync([new Dictionary<string, object?> { ["id"] = 7L, ["part"] = "y" }])).Version);
    }

    [Fact]
    public async Task Materialize_GoldenTimeTravelTable_KeepsCommitTimes()
    {
        using var dir = new TempDir();
        var live = GoldenData.Copy("time-travel-start-start20-start40", dir.Sub("live"));
        var start = DateTimeOffset.FromUnixTimeMilliseconds(1540415658000L);
        for (var v = 0; v < 3; v++)
        {
            File.SetLastWriteTimeUtc(Path.Combine(dir.Sub("live"), "_delta_log", $"{v:D20}.json"), start.AddMinutes(20 * v).UtcDateTime);
        }

        await TableBackupView.MaterializeAsync(live, null, dir.Sub("staging"));
        GoldenData.CopyTree(dir.Sub("staging"), dir.Sub("restored"));
        var restored = new DeltaTable(new FileSystemObjectStore(dir.Sub("restored")), "");
        Assert.Equal(1, (await restored.GetSnapshotAtAsync(start.AddMinutes(25))).Version);
        Assert.Equal(20, (await restored.ReadRowsAsync(await restored.GetSnapshotAtAsync(start.AddMinutes(25)))).Count);
    }
}
