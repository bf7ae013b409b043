using System.Runtime.CompilerServices;
using Lifeline.Lake.Protocol;
using Lifeline.Lake.Schema;
using Lifeline.Lake.Tests.Golden;
using Lifeline.Storage;
using Lifeline.Storage.Faults;
using Lifeline.Storage.FileSystem;
using Lifeline.Storage.Tests.TestSupport;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace Lifeline.Lake.Tests.Write;

public sealed class TableCompactorTests
{
    private static readonly StructType Simple = new([new("id", PrimitiveType.Long), new("part", PrimitiveType.String)]);

    private static async Task<DeltaTable> SeedAsync(TempDir dir, string name, int commits, TimeProvider time) =>
        await SeedAsync(new FileSystemObjectStore(dir.Path), name, commits, time);

    private static async Task<DeltaTable> SeedAsync(IObjectStore store, string name, int commits, TimeProvider time)
    {
        var table = new DeltaTable(store, name, new DeltaTableOptions { TimeProvider = time });
        await table.CreateAsync(Simple, ["part"]);
        for (var i = 0; i < commits; i++)
        {
            await table.AppendAsync([new Dictionary<string, object?> { ["id"] = (long)i, ["part"] = "p" }]);
        }

        return table;
    }

    [Fact]
    public async Task Start_IntervalPassesWithSmallFilesOverThreshold_CompactsAndCheckpoints()
    {
        using var dir = new TempDir();
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var predictions = await SeedAsync(dir, "predictions", 12, time);
        var quiet = await SeedAsync(dir, "conversions", 2, time);
        var before = (await predictions.ReadRowsAsync(await predictions.GetSnapshotAsync())).Select(r => (long)r["id"]!).Order().ToList();
        await using var sut = new TableCompactor(
            [new("predictions", predictions), new("conversions", quiet)],
            new TableCompactionOptions { Interval = TimeSpan.FromMinutes(10), SmallFileThreshold = 5 }, time);
        var round = new TaskCompletionSource<IReadOnlyList<CompactionOutcome>>(TaskCreationOptions.RunContinuationsAsynchronously);
        sut.RoundCompleted += outcomes => round.TrySetResult(outcomes);

        sut.Start();
        time.Advance(TimeSpan.FromMinutes(10));
        var outcomes = await round.Task.WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal((12, 1), (outcomes[0].Result!.FilesRemoved, outcomes[0].Result!.FilesAdded));
        Assert.Null(outcomes[1].Result); // 2 small files: under the threshold, untouched
        Assert.Equal(2, (await quiet.GetSnapshotAsync()).Files.Count);
        var fresh = new DeltaTable(new FileSystemObjectStore(dir.Path), "predictions");
        var snapshot = await fresh.GetSnapshotAsync();
        Assert.Single(snapshot.Files);
        Assert.Equal(13, snapshot.CheckpointVersion); // the compacted version was checkpointed at once
        Assert.Equal(before, (await fresh.ReadRowsAsync(snapshot)).Select(r => (long)r["id"]!).Order().ToList());
    }

    /// <summary>The compactor over 12 small files of "predictions" (versions 0 to 12: its commit would be 13), its
    /// store, and what it logs.</summary>
    private static async Task<(TableCompactor Sut, DeltaTable Table, RecordingLogger Log)> CreateSutAsync(IObjectStore store)
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var table = await SeedAsync(store, "predictions", 12, time);
        var log = new RecordingLogger();
        var sut = new TableCompactor([new("predictions", table)], new TableCompactionOptions { SmallFileThreshold = 5 }, time, log);
        return (sut, table, log);
    }

    /// <summary>As <see cref="CreateSutAsync(IObjectStore)"/>, over a store that injects <paramref name="fault"/> once the table is seeded.</summary>
    private static async Task<(TableCompactor Sut, DeltaTable Table, RecordingLogger Log)> CreateSutAsync(TempDir dir, FaultRule fault)
    {
        var store = new FaultInjectingObjectStore(new FileSystemObjectStore(dir.Path));
        var created = await CreateSutAsync(store);
        store.Add(fault);
        return created;
    }

    private static readonly string CompactionCommit = "predictions/" + LogFiles.LogDir + LogFiles.CommitName(13);

    [Fact]
    public async Task RunOnceAsync_ConcurrentCommitRemovesAnInputFile_LoggedAsAWarningOfARaceAndTheTableKept()
    {
        using var dir = new TempDir();
        var plain = new FileSystemObjectStore(dir.Path);
        var other = new DeltaTable(plain, "predictions");
        // another writer commits version 13 first: it deletes the partition whose files the compaction rewrites
        var store = new RacingStore(plain, CompactionCommit, () => other.DeletePartitionsAsync(_ => true));
        var (sut, table, log) = await CreateSutAsync(store);
        await using var _ = sut;

        var outcome = Assert.Single(await sut.RunOnceAsync());

        Assert.Null(outcome.Result);
        Assert.Contains("concurrent commit", outcome.Error, StringComparison.Ordinal);
        var entry = Assert.Single(log.Entries);
        Assert.Equal((3011, LogLevel.Warning), (entry.EventId, entry.Level));
        Assert.StartsWith($"{table.Location}: compaction gave way to a concurrent commit this round (", entry.Message, StringComparison.Ordinal);
        var snapshot = await new DeltaTable(plain, "predictions").GetSnapshotAsync();
        Assert.Equal((13, 0), (snapshot.Version, snapshot.Files.Count)); // the other writer's commit, and no compacted file added

        // the next round counts again: nothing left to compact, nothing logged
        Assert.Null(Assert.Single(await sut.RunOnceAsync()).Error);
        Assert.Single(log.Entries);
    }

    [Fact]
    public async Task RunOnceAsync_StoreFailsTheCommit_LoggedAsAWarningNamingTheTableAndTheReason()
    {
        using var dir = new TempDir();
        var (sut, table, log) = await CreateSutAsync(dir, new FaultRule { Operation = ObjectStoreOperation.PutIfAbsent, KeyPrefix = CompactionCommit, Exception = _ => new IOException("disk on fire") });
        await using var _ = sut;

        var outcome = Assert.Single(await sut.RunOnceAsync());

        Assert.Equal("disk on fire", outcome.Error);
        var entry = Assert.Single(log.Entries);
        Assert.Equal((3010, LogLevel.Warning), (entry.EventId, entry.Level));
        Assert.Equal($"{table.Location}: compaction did not complete this round (disk on fire); the next round tries again", entry.Message);
    }

    [Fact]
    public async Task RunOnceAsync_CheckpointFailsAfterTheCompactionCommitted_CompactionStandsAndOnlyTheCheckpointIsReported()
    {
        using var dir = new TempDir();
        var (sut, _, log) = await CreateSutAsync(dir, new FaultRule { Operation = ObjectStoreOperation.Put, KeyPrefix = "predictions/" + LogFiles.LogDir + "00000000000000000013.checkpoint", Exception = _ => new IOException("disk full") });
        await using var _ = sut;

        var outcome = Assert.Single(await sut.RunOnceAsync());

        Assert.Null(outcome.Error);
        Assert.Equal((13L, 12, 1), (outcome.Result!.Version, outcome.Result.FilesRemoved, outcome.Result.FilesAdded));
        var entry = Assert.Single(log.Entries);
        Assert.Equal((3001, LogLevel.Warning), (entry.EventId, entry.Level));
        Assert.Contains("checkpoint 13 skipped (disk full)", entry.Message, StringComparison.Ordinal);
        var snapshot = await new DeltaTable(new FileSystemObjectStore(dir.Path), "predictions").GetSnapshotAsync();
        Assert.Single(snapshot.Files);
        Assert.Equal(10, snapshot.CheckpointVersion); // the seeding's; the compacted version replays from it
    }

    [Fact]
    public async Task RunOnceAsync_TableRetentionPassed_CompactedFilesVacuumedAndOldLogCleanedWithTheRowsKept()
    {
        using var dir = new TempDir();
        var store = new FileSystemObjectStore(dir.Path);
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var table = new DeltaTable(store, "predictions", new DeltaTableOptions { TimeProvider = time });
        await table.CreateAsync(Simple, ["part"], new Dictionary<string, string?>
        {
            ["delta.logRetentionDuration"] = "interval 10 minutes",
            ["delta.deletedFileRetentionDuration"] = "interval 10 minutes",
        });
        for (var i = 0; i < 12; i++)
        {
            await table.AppendAsync([new Dictionary<string, object?> { ["id"] = (long)i, ["part"] = "p" }]);
        }

        var weekly = await SeedAsync(store, "conversions", 12, time); // Delta's defaults: 7 days of removed files
        await using var sut = new TableCompactor([new("predictions", table), new("conversions", weekly)], new TableCompactionOptions { SmallFileThreshold = 5 }, time);
        var partition = Path.Combine(dir.Path, "predictions", "part=p");

        var first = await sut.RunOnceAsync(); // compacts both: the 12 small files are tombstones younger than the retention
        Assert.Equal([12, 12], first.Select(o => o.Result!.FilesRemoved));
        Assert.Empty(first[0].Vacuum!.Deleted);
        Assert.Equal(13, Directory.GetFiles(partition).Length);

        time.Advance(TimeSpan.FromMinutes(11));
        var second = await sut.RunOnceAsync();

        Assert.Null(second[0].Result); // nothing left to compact
        Assert.Equal(12, second[0].Vacuum!.Deleted.Count);
        Assert.Single(Directory.GetFiles(partition));
        Assert.True(second[0].LogFilesDeleted > 0);
        Assert.DoesNotContain(Directory.GetFiles(Path.Combine(dir.Path, "predictions", "_delta_log")), f => f.EndsWith(LogFiles.CommitName(0), StringComparison.Ordinal));
        Assert.Empty(second[1].Vacuum!.Deleted); // the table with Delta's defaults keeps its removed files for 7 days
        Assert.Equal(13, Directory.GetFiles(Path.Combine(dir.Path, "conversions", "part=p")).Length);
        await table.WriteCheckpointAsync(await table.GetSnapshotAsync()); // as the next commits' checkpoints do (every 10)
        var fresh = new DeltaTable(store, "predictions");
        var snapshot = await fresh.GetSnapshotAsync();
        Assert.Empty(snapshot.Tombstones); // expired: the checkpoint no longer carries them, nor the snapshots read from it
        Assert.Equal(Enumerable.Range(0, 12).Select(i => (long)i), (await fresh.ReadRowsAsync(snapshot)).Select(r => (long)r["id"]!).Order());
    }

    [Fact]
    public async Task RunOnceAsync_VacuumOff_RemovedFilesStayPastTheRetention()
    {
        using var dir = new TempDir();
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var table = await SeedAsync(dir, "predictions", 12, time);
        await table.SetPropertiesAsync(new Dictionary<string, string?> { ["delta.deletedFileRetentionDuration"] = "interval 1 minutes" });
        await using var sut = new TableCompactor([new("predictions", table)], new TableCompactionOptions { SmallFileThreshold = 5, Vacuum = false }, time);

        await sut.RunOnceAsync();
        time.Advance(TimeSpan.FromMinutes(5));
        var outcome = Assert.Single(await sut.RunOnceAsync());

        Assert.Null(outcome.Vacuum);
        Assert.Equal(13, Directory.GetFiles(Path.Combine(dir.Path, "predictions", "part=p")).Length);
    }

    [Fact]
    public async Task RunOnceAsync_VacuumFailsOnTheStore_LoggedAsAWarningAndTheNextRoundFinishesIt()
    {
        using var dir = new TempDir();
        var store = new FaultInjectingObjectStore(new FileSystemObjectStore(dir.Path));
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var table = await SeedAsync(store, "predictions", 12, time);
        await table.SetPropertiesAsync(new Dictionary<string, string?> { ["delta.deletedFileRetentionDuration"] = "interval 1 minutes" });
        var log = new RecordingLogger();
        await using var sut = new TableCompactor([new("predictions", table)], new TableCompactionOptions { SmallFileThreshold = 5 }, time, log);
        Assert.Equal(12, Assert.Single(await sut.RunOnceAsync()).Result!.FilesRemoved);
        store.Add(new FaultRule { Operation = ObjectStoreOperation.Delete, KeyPrefix = "predictions/part=p/", Exception = _ => new IOException("delete refused") });
        time.Advance(TimeSpan.FromMinutes(5));

        var outcome = Assert.Single(await sut.RunOnceAsync());

        Assert.Null(outcome.Error);
        Assert.Null(outcome.Vacuum);
        var entry = Assert.Single(log.Entries, e => e.EventId == 3012);
        Assert.Equal(LogLevel.Warning, entry.Level);
        Assert.Equal($"{table.Location}: the retention pass (log clean-up and VACUUM) did not complete this round (delete refused); the next round tries again", entry.Message);

        store.Clear();
        Assert.Equal(12, Assert.Single(await sut.RunOnceAsync()).Vacuum!.Deleted.Count);
        Assert.Single(Directory.GetFiles(Path.Combine(dir.Path, "predictions", "part=p")));
    }

    /// <summary>Runs <paramref name="race"/> (another writer, on the store beneath) once, just before the put-if-absent
    /// of <paramref name="raceKey"/>: that writer's commit wins the version.</summary>
    private sealed class RacingStore(IObjectStore inner, string raceKey, Func<Task> race) : IObjectStore
    {
        private int _raced;

        public string Location => inner.Location;

        public async Task<bool> PutIfAbsentAsync(string key, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
        {
            if (key == raceKey && Interlocked.Exchange(ref _raced, 1) == 0)
            {
                await race();
            }

            return await inner.PutIfAbsentAsync(key, data, cancellationToken);
        }

        public Task PutAsync(string key, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default) => inner.PutAsync(key, data, cancellationToken);

        public Task<byte[]> GetAsync(string key, long offset = 0, long? length = null, CancellationToken cancellationToken = default) => inner.GetAsync(key, offset, length, cancellationToken);

        public Task PutStreamAsync(string key, Stream content, CancellationToken cancellationToken = default) => inner.PutStreamAsync(key, content, cancellationToken);

        public Task<bool> PutStreamIfAbsentAsync(string key, Stream content, CancellationToken cancellationToken = default) => inner.PutStreamIfAbsentAsync(key, content, cancellationToken);

        public Task<ObjectReadStream> OpenReadAsync(string key, long offset = 0, long? length = null, CancellationToken cancellationToken = default) => inner.OpenReadAsync(key, offset, length, cancellationToken);

        public Task<ObjectInfo?> StatAsync(string key, CancellationToken cancellationToken = default) => inner.StatAsync(key, cancellationToken);

        public async IAsyncEnumerable<ObjectInfo> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            await foreach (var o in inner.ListAsync(prefix, cancellationToken))
            {
                yield return o;
            }
        }

        public Task DeleteAsync(string key, CancellationToken cancellationToken = default) => inner.DeleteAsync(key, cancellationToken);
    }
}
