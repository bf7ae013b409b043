using Lifeline.Lake.Protocol;
using Lifeline.Lake.Schema;
using Lifeline.Lake.Tests.Golden;
using Lifeline.Storage.FileSystem;

namespace Lifeline.Lake.Tests.Write;

/// <summary>
/// A table keeps its newest snapshot and advances it by the new commits (docs/lake.md, "Snapshot cache"): a writer that
/// commits once a second (the scoring service's predictions, the protection's heartbeat) must neither replay its log
/// on every commit nor keep a snapshot that grows with its history.
/// </summary>
public sealed class SnapshotCacheTests
{
    private static readonly StructType Simple = new([new("id", PrimitiveType.Long), new("part", PrimitiveType.String)]);

    private static DeltaTable Open(TempDir dir) => new(new FileSystemObjectStore(dir.Path), "tables/t");

    private static List<IReadOnlyDictionary<string, object?>> Rows(long id) =>
        [new Dictionary<string, object?> { ["id"] = id, ["part"] = id % 2 == 0 ? "a" : "b" }];

    [Fact]
    public async Task GetSnapshotAsync_ManyCommitsByOneWriter_AdvancesWithoutFullLoadsAndHoldsOnlyCommitsSinceCheckpoint()
    {
        using var dir = new TempDir();
        var writer = Open(dir);
        await writer.CreateAsync(Simple, ["part"]);
        const int Commits = 45; // checkpoints at 10, 20, 30, 40
        for (var i = 0; i < Commits; i++)
        {
            await writer.AppendAsync(Rows(i), new WriteOptions { AppId = "app", TxnVersion = i });
        }

        var snapshot = await writer.GetSnapshotAsync();

        // one listing of the log in all: the first write's; every later load advanced the cached snapshot
        Assert.Equal(1, writer.LogReader.FullLoads);
        Assert.Equal(Commits, snapshot.Version);

        // the cached state is the table's files and the commits since the newest checkpoint, not the history
        Assert.Equal(40, snapshot.CheckpointVersion);
        Assert.Equal(5, snapshot.Commits.Count);
        Assert.Equal(Commits, snapshot.Files.Count);

        // the same table as a reader replaying from the checkpoint sees
        var fresh = await Open(dir).GetSnapshotAsync();
        Assert.Equal(fresh.Version, snapshot.Version);
        Assert.Equal(fresh.Files.Select(f => f.RelativePath), snapshot.Files.Select(f => f.RelativePath));
        Assert.Equal(Commits - 1, snapshot.Txns["app"].Version);
        Assert.Equal(fresh.Timestamp, snapshot.Timestamp);
        Assert.Equal(Commits, (await writer.ReadRowsAsync(snapshot)).Count);
    }

    [Fact]
    public async Task GetSnapshotAsync_FullLoadOfATableWithoutCheckpoint_SameSnapshotAndNoExceptionThrown()
    {
        using var dir = new TempDir();
        var writer = Open(dir);
        await writer.CreateAsync(Simple, ["part"]);
        await writer.AppendAsync(Rows(1));
        await writer.AppendAsync(Rows(2));
        var written = await writer.GetSnapshotAsync();
        Assert.False(File.Exists(Path.Combine(dir.Path, "tables", "t", "_delta_log", LogFiles.LastCheckpoint)));

        // a new reader loads in full, which reads the _last_checkpoint hint: absent, and no exception for it
        var reader = Open(dir);
        var (snapshot, thrown) = await FirstChanceExceptions.CollectAsync(() => reader.GetSnapshotAsync());

        Assert.Empty(thrown.Select(e => $"{e.GetType().Name}: {e.Message}"));
        Assert.Equal(1, reader.LogReader.FullLoads);
        Assert.Null(snapshot.CheckpointVersion);
        Assert.Equal(written.Version, snapshot.Version);
        Assert.Equal(written.Files.Select(f => f.RelativePath).Order(StringComparer.Ordinal), snapshot.Files.Select(f => f.RelativePath).Order(StringComparer.Ordinal));
        Assert.Equal(2, (await reader.ReadRowsAsync(snapshot)).Count);
    }

    [Fact]
    public async Task GetSnapshotAsync_ReaderWhileAnotherWriterCommits_AdvancesAndReloadsAfterTheBound()
    {
        using var dir = new TempDir();
        var writer = Open(dir);
        await writer.CreateAsync(Simple, ["part"]);
        var reader = Open(dir);
        await reader.GetSnapshotAsync();
        for (var i = 0; i < LogReader.MaxCachedAdvances + 5; i++)
        {
            await writer.AppendAsync(Rows(i));
            Assert.Equal(i + 1, (await reader.GetSnapshotAsync()).Version);
        }

        // the reader listed the log once at the start and once when its cache reached the bound
        Assert.Equal(2, reader.LogReader.FullLoads);
        Assert.Equal(LogReader.MaxCachedAdvances + 5, (await reader.ReadRowsAsync(await reader.GetSnapshotAsync())).Count);
    }

    [Fact]
    public async Task GetSnapshotAsync_CachedCommitReplaced_LoadsTheNewLogInFull()
    {
        using var dir = new TempDir();
        var table = Open(dir);
        await table.CreateAsync(Simple, ["part"]);
        await table.AppendAsync(Rows(1));
        await table.AppendAsync(Rows(2));
        Assert.Equal(2, (await table.GetSnapshotAsync()).Version);

        // a restore cut the table back to version 1 and another writer committed a different version 2
        var logDir = Path.Combine(dir.Path, "tables", "t", "_delta_log");
        File.Delete(Path.Combine(logDir, LogFiles.CommitName(2)));
        var other = Open(dir);
        await other.AppendAsync([new Dictionary<string, object?> { ["id"] = 20L, ["part"] = "a" }, new Dictionary<string, object?> { ["id"] = 21L, ["part"] = "a" }]);
        File.SetLastWriteTimeUtc(Path.Combine(logDir, LogFiles.CommitName(2)), DateTime.UtcNow.AddMinutes(1));

        var snapshot = await table.GetSnapshotAsync();
        var ids = (await table.ReadRowsAsync(snapshot)).Select(r => (long)r["id"]!).Order().ToList();
        Assert.Equal([1L, 20L, 21L], ids);
        Assert.Equal(2, table.LogReader.FullLoads);
    }
}
