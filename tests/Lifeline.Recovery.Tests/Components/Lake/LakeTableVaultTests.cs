using Lifeline.Lake;
using Lifeline.Lake.Recovery;
using Lifeline.Recovery.Components.Lake;
using Lifeline.Lake.Schema;
using Lifeline.Storage.FileSystem;
using Lifeline.Vault;

namespace Lifeline.Recovery.Tests.Components.Lake;

/// <summary>Table backup into a real vault and restore as of a version or time (moved from the CLI's tests with LakeBackup).</summary>
public sealed class LakeTableVaultTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private string Sub(string name) => _dir.Combine(name);

    private static async Task<List<string>> ContentAsync(DeltaTable table, long? version = null) =>
        [.. (await table.ReadRowsAsync(await table.GetSnapshotAsync(version))).Select(r => $"{r["id"]}/{r["part"]}").Order(StringComparer.Ordinal)];

    private static Task AppendAsync(DeltaTable table, long id) =>
        table.AppendAsync([new Dictionary<string, object?> { ["id"] = id, ["part"] = id % 2 == 0 ? "even" : "odd" }]);

    [Fact]
    public async Task BackupRestore_AsOfVersionAndTime_ReadsIdenticallyWithHistory()
    {
        var live = new DeltaTable(new FileSystemObjectStore(Sub("live")), "");
        await live.CreateAsync(new StructType([new("id", PrimitiveType.Long), new("part", PrimitiveType.String)]), ["part"]);
        for (var i = 1; i <= 12; i++)
        {
            await AppendAsync(live, i);
        }

        await using var vault = await VaultRepository.InitAsync(new FileSystemObjectStore(Sub("vault")), "pw", VaultInitOptions.ForTests);
        var first = await LakeTableVault.BackupAsync(vault, Sub("live"), null, Sub("staging"), CancellationToken.None);
        Assert.Equal(12, first.Version);

        await live.DeletePartitionsAsync(p => (string?)p["part"] == "odd");
        for (var i = 13; i <= 15; i++)
        {
            await AppendAsync(live, i);
        }

        var second = await LakeTableVault.BackupAsync(vault, Sub("live"), null, Sub("staging"), CancellationToken.None);
        Assert.Equal(16, second.Version);
        Assert.True(second.FilesNew <= 8, $"{second.FilesNew} files stored again"); // 4 commits, 3 data files, the hint
        Assert.True(second.FilesUnmodified >= 20);

        // as of a version: the oldest backup holding it, cut back
        var v5 = await LakeTableVault.RestoreAsync(vault, Sub("live"), null, Sub("restored-v5"), 5, null, CancellationToken.None);
        Assert.Equal(12, v5.SnapshotVersion);
        Assert.Equal(5, v5.Version);
        var restored = new DeltaTable(new FileSystemObjectStore(Sub("restored-v5")), "");
        Assert.Equal(await ContentAsync(live, 5), await ContentAsync(restored));
        Assert.Equal(await ContentAsync(live, 2), await ContentAsync(restored, 2));
        Assert.Equal((await live.GetHistoryAsync(false)).Take(6).Select(h => h.Timestamp), (await restored.GetHistoryAsync(false)).Select(h => h.Timestamp));
        Assert.True((await TableVerifier.VerifyAsync(restored, fullRead: true)).Ok);
        Assert.Equal(6, (await restored.AppendAsync([new Dictionary<string, object?> { ["id"] = 100L, ["part"] = "x" }])).Version);

        // latest
        var latest = await LakeTableVault.RestoreAsync(vault, Sub("live"), null, Sub("restored-latest"), null, null, CancellationToken.None);
        Assert.Equal(16, latest.Version);
        Assert.Equal(await ContentAsync(live), await ContentAsync(new DeltaTable(new FileSystemObjectStore(Sub("restored-latest")), "")));

        // as of a time: the version current then
        var history = await live.GetHistoryAsync(false);
        var at = await LakeTableVault.RestoreAsync(vault, Sub("live"), null, Sub("restored-at"), null, history[13].Timestamp, CancellationToken.None);
        Assert.Equal(13, at.Version);
        Assert.Equal(await ContentAsync(live, 13), await ContentAsync(new DeltaTable(new FileSystemObjectStore(Sub("restored-at")), "")));

        // a version newer than any backup is refused clearly
        await live.OverwriteAsync([]);
        var e = await Assert.ThrowsAsync<DeltaVersionNotFoundException>(() => LakeTableVault.RestoreAsync(vault, Sub("live"), null, Sub("nope"), 17, null, CancellationToken.None));
        Assert.Contains("newest backup (version 16)", e.Message, StringComparison.Ordinal);
    }
}
