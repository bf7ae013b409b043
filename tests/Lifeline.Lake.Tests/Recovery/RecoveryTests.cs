using System.Runtime.CompilerServices;
using Lifeline.Lake.Recovery;
using Lifeline.Lake.Schema;
using Lifeline.Lake.Tests.Golden;
using Lifeline.Storage;
using Lifeline.Storage.FileSystem;

namespace Lifeline.Lake.Tests.Recovery;

public sealed class RecoveryTests
{
    private static readonly StructType Simple = new([new("id", PrimitiveType.Long), new("part", PrimitiveType.String)]);

    private static async Task<DeltaTable> CreateTableAsync(IObjectStore store, string root, int commits)
    {
        var table = new DeltaTable(store, root);
        await table.CreateAsync(Simple, ["part"]);
        for (var i = 0; i < commits; i++)
        {
            await table.AppendAsync([new Dictionary<string, object?> { ["id"] = (long)i, ["part"] = i % 3 == 0 ? "a" : "b" }]);
        }

        return table;
    }

    private static async Task<List<string>> ContentAsync(DeltaTable table, long? version = null)
    {
        var snapshot = await table.GetSnapshotAsync(version);
        return [.. (await table.ReadRowsAsync(snapshot)).Select(r => $"{r["id"]}/{r["part"]}").Order(StringComparer.Ordinal)];
    }

    [Fact]
    public async Task Verify_HealthyTables_ReportNoProblems()
    {
        using var dir = new TempDir();
        var table = await CreateTableAsync(new FileSystemObjectStore(dir.Path), "t", 12);
        var report = await TableVerifier.VerifyAsync(table, fullRead: true);
        Assert.True(report.Ok, string.Join("; ", report.Problems.Select(p => p.Message)));
        Assert.Equal(12, report.RowsRead);
        Assert.True((await TableVerifier.VerifyAsync(GoldenData.Open("basic-with-inserts-deletes-checkpoint"), fullRead: true)).Ok);
    }

    [Fact]
    public async Task Verify_DamagedTable_NamesEachProblem()
    {
        using var dir = new TempDir();
        var table = await CreateTableAsync(new FileSystemObjectStore(dir.Path), "t", 3);
        var files = (await table.GetSnapshotAsync()).Files;
        File.Delete(Path.Combine(dir.Path, "t", files[0].RelativePath));
        await File.AppendAllTextAsync(Path.Combine(dir.Path, "t", files[1].RelativePath), "x");
        var third = Path.Combine(dir.Path, "t", files[2].RelativePath);
        var bytes = await File.ReadAllBytesAsync(third);
        Array.Clear(bytes, bytes.Length - 12, 8); // break the footer, keep the size
        await File.WriteAllBytesAsync(third, bytes);
        var report = await TableVerifier.VerifyAsync(table);
        Assert.False(report.Ok);
        Assert.Contains(report.Problems, p => p.Kind == "missing" && p.File == files[0].RelativePath);
        Assert.Contains(report.Problems, p => p.Kind == "size" && p.File == files[1].RelativePath);
        Assert.Contains(report.Problems, p => p.Kind == "corrupt" && p.File == files[2].RelativePath);
    }

    [Fact]
    public async Task Verify_LogGap_IsReported()
    {
        var report = await TableVerifier.VerifyAsync(GoldenData.Open("versions-not-contiguous"));
        Assert.Contains(report.Problems, p => p.Kind == "log-gap" && p.Version == 1);
    }

    [Fact]
    public async Task Replicate_Incremental_CopiesOnlyNewVersionsAndReadsIdentically()
    {
        using var dir = new TempDir();
        var source = await CreateTableAsync(new FileSystemObjectStore(dir.Sub("primary")), "lake/t", 12);
        var target = new DeltaTable(new FileSystemObjectStore(dir.Sub("replica")), "copy/t");
        var first = await TableReplicator.ReplicateAsync(source, target);
        Assert.Equal(13, first.VersionsCopied);
        Assert.Equal(0, first.LagVersions);
        Assert.Equal(await ContentAsync(source), await ContentAsync(target));
        Assert.Equal(await ContentAsync(source, 5), await ContentAsync(target, 5));
        Assert.Equal(10, (await target.GetSnapshotAsync()).CheckpointVersion);

        var again = await TableReplicator.ReplicateAsync(source, target);
        Assert.Equal((0, 0), (again.VersionsCopied, again.FilesCopied));

        await source.AppendAsync([new Dictionary<string, object?> { ["id"] = 100L, ["part"] = "z" }]);
        var lag = await TableReplicator.GetLagAsync(source, target);
        Assert.Equal(1, lag.LagVersions);
        var one = await TableReplicator.ReplicateAsync(source, target);
        Assert.Equal((1, 1), (one.VersionsCopied, one.FilesCopied));
        Assert.Equal(await ContentAsync(source), await ContentAsync(target));
    }

    [Fact]
    public async Task ReplicateFrom_ReplicaAtKnownVersion_ListsNoLogAndCopiesNewCommitsAndCheckpoint()
    {
        using var dir = new TempDir();
        var primary = new FailingStore(new FileSystemObjectStore(dir.Sub("primary")), int.MaxValue);
        var source = await CreateTableAsync(primary, "t", 8);
        var replicaStore = new FailingStore(new FileSystemObjectStore(dir.Sub("replica")), int.MaxValue);
        var target = new DeltaTable(replicaStore, "t");
        var first = await TableReplicator.ReplicateFromAsync(source, target, -1, 8); // nothing known: the whole-log path
        Assert.Equal((9, 8L), (first.VersionsCopied, first.TargetVersion));
        for (var i = 0; i < 4; i++)
        {
            await source.AppendAsync([new Dictionary<string, object?> { ["id"] = 100L + i, ["part"] = "z" }]); // versions 9-12, checkpoint 10
        }

        primary.ListedPrefixes.Clear();
        replicaStore.ListedPrefixes.Clear();
        var next = await TableReplicator.ReplicateFromAsync(source, target, 8, 12);
        Assert.Equal((8L, 12L, 4, 4), (next.TargetVersionBefore, next.TargetVersion, next.VersionsCopied, next.FilesCopied - 1)); // 4 data files and the checkpoint
        Assert.Empty(replicaStore.ListedPrefixes);
        Assert.Equal(["t/_delta_log/00000000000000000010.checkpoint."], primary.ListedPrefixes); // that one version's checkpoint files, never the log
        Assert.Equal(await ContentAsync(source), await ContentAsync(target));
        Assert.Equal(10, (await target.GetSnapshotAsync()).CheckpointVersion);

        Directory.Delete(Path.Combine(dir.Sub("replica"), "t"), recursive: true); // the replica was reset: its version is not what the caller knows
        var again = await TableReplicator.ReplicateFromAsync(source, target, 12, 12);
        Assert.Equal(13, again.VersionsCopied);
        Assert.Equal(await ContentAsync(source), await ContentAsync(target));
    }

    [Fact]
    public async Task Replicate_WriteFailsMidway_ResumesToIdenticalReplica()
    {
        using var dir = new TempDir();
        var source = await CreateTableAsync(new FileSystemObjectStore(dir.Sub("primary")), "t", 8);
        var replicaStore = new FileSystemObjectStore(dir.Sub("replica"));
        var failing = new FailingStore(replicaStore, failAfterPuts: 7);
        await Assert.ThrowsAsync<IOException>(() => TableReplicator.ReplicateAsync(source, new DeltaTable(failing, "t")));
        var partial = new DeltaTable(replicaStore, "t");
        var reached = (await partial.GetSnapshotAsync()).Version;
        Assert.InRange(reached, 0, 7);
        // what the replica has is a consistent prefix of the source
        Assert.Equal(await ContentAsync(source, reached), await ContentAsync(partial));
        Assert.True((await TableVerifier.VerifyAsync(partial)).Ok);

        var resumed = await TableReplicator.ReplicateAsync(source, partial);
        Assert.Equal(reached, resumed.TargetVersionBefore);
        Assert.Equal(await ContentAsync(source), await ContentAsync(partial));
    }

    [Fact]
    public async Task Replicate_SourceLogCleanedUp_SeedsReplicaFromCheckpoint()
    {
        using var dir = new TempDir();
        var source = new DeltaTable(new FileSystemObjectStore(dir.Sub("primary")), "t");
        await source.CreateAsync(Simple, properties: new Dictionary<string, string?> { ["delta.checkpointInterval"] = "3", ["delta.logRetentionDuration"] = "interval 0 seconds" });
        for (var i = 0; i < 7; i++)
        {
            await source.AppendAsync([new Dictionary<string, object?> { ["id"] = (long)i, ["part"] = "p" }]);
        }

        // the clean-up after checkpoint 6 removed commits 0-5
        Assert.False(File.Exists(Path.Combine(dir.Sub("primary"), "t", "_delta_log", $"{0:D20}.json")));
        var target = new DeltaTable(new FileSystemObjectStore(dir.Sub("replica")), "t");
        await TableReplicator.ReplicateAsync(source, target);
        Assert.Equal(await ContentAsync(source), await ContentAsync(target));
        Assert.Equal(7, (await target.GetSnapshotAsync()).Version);
        Assert.True((await TableVerifier.VerifyAsync(target, fullRead: true)).Ok);
    }

    [Fact]
    public async Task Replicate_GoldenTableWithCheckpoints_ReadsIdentically()
    {
        using var dir = new TempDir();
        var source = GoldenData.Open("basic-with-inserts-deletes-checkpoint");
        var target = new DeltaTable(new FileSystemObjectStore(dir.Path), "t");
        await TableReplicator.ReplicateAsync(source, target);
        Assert.Equal(await ContentAsync2(source), await ContentAsync2(target));

        static async Task<List<long>> ContentAsync2(DeltaTable t) => [.. (await t.ReadRowsAsync(await t.GetSnapshotAsync())).Select(r => (long)r["id"]!).Order()];
    }

    /// <summary>
    /// A store decorator that fails with an I/O error after a number of writes: the copier stops at an exact point, in
    /// process (a real SIGKILL of 'lifeline lake replicate' is Lifeline.Cli.Tests LakeReplicateCrashTests).
    /// </summary>
    private sealed class FailingStore(IObjectStore inner, int failAfterPuts) : IObjectStore
    {
        private int _puts;

        public System.Collections.Concurrent.ConcurrentQueue<string> ListedPrefixes { get; } = new();

        public string Location => inner.Location;

        public Task PutAsync(string key, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default) =>
            Interlocked.Increment(ref _puts) > failAfterPuts ? throw new IOException("injected crash") : inner.PutAsync(key, data, cancellationToken);

        public Task<bool> PutIfAbsentAsync(string key, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default) =>
            Interlocked.Increment(ref _puts) > failAfterPuts ? throw new IOException("injected crash") : inner.PutIfAbsentAsync(key, data, cancellationToken);

        public Task<byte[]> GetAsync(string key, long offset = 0, long? length = null, CancellationToken cancellationToken = default) => inner.GetAsync(key, offset, length, cancellationToken);

        public Task PutStreamAsync(string key, Stream content, CancellationToken cancellationToken = default) =>
            Interlocked.Increment(ref _puts) > failAfterPuts ? throw new IOException("injected crash") : inner.PutStreamAsync(key, content, cancellationToken);

        public Task<bool> PutStreamIfAbsentAsync(string key, Stream content, CancellationToken cancellationToken = default) =>
            Interlocked.Increment(ref _puts) > failAfterPuts ? throw new IOException("injected crash") : inner.PutStreamIfAbsentAsync(key, content, cancellationToken);

        public Task<ObjectReadStream> OpenReadAsync(string key, long offset = 0, long? length = null, CancellationToken cancellationToken = default) => inner.OpenReadAsync(key, offset, length, cancellationToken);

        public Task<ObjectInfo?> StatAsync(string key, CancellationToken cancellationToken = default) => inner.StatAsync(key, cancellationToken);

        public async IAsyncEnumerable<ObjectInfo> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            ListedPrefixes.Enqueue(prefix);
            await foreach (var o in inner.ListAsync(prefix, cancellationToken))
            {
                yield return o;
            }
        }

        public Task DeleteAsync(string key, CancellationToken cancellationToken = default) => inner.DeleteAsync(key, cancellationToken);
    }
}
