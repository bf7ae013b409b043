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
    public async Task RunOnceAsync_ConcurrentCommitRemovesAnInputFile_LoggedAtInformationAsARaceAndTheTableKept()
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
        Assert.Equal((3011, LogLevel.Information), (entry.EventId, entry.Level));
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
