using Lifeline.Storage.FileSystem;

namespace Lifeline.Lake.Tests.Golden;

/// <summary>Log replay on the Spark-written golden tables; expectations restated from Delta's LogReplaySuite / DeltaLogSuite.</summary>
public sealed class GoldenLogReplayTests
{
    internal static async Task<List<Dictionary<string, object?>>> RowsAsync(DeltaTable table, long? version = null)
    {
        var snapshot = await table.GetSnapshotAsync(version);
        return await table.ReadRowsAsync(snapshot);
    }

    internal static List<T> Col<T>(IEnumerable<Dictionary<string, object?>> rows, string column) => [.. rows.Select(r => (T)r[column]!)];

    [Fact]
    public async Task Read_InsertsDeletesCheckpoint_ReturnsSurvivingIdsAtVersion13()
    {
        var table = GoldenData.Open("basic-with-inserts-deletes-checkpoint");
        var snapshot = await table.GetSnapshotAsync();
        var expected = Enumerable.Range(0, 5).Concat(Enumerable.Range(10, 5)).Concat(Enumerable.Range(20, 5)).Concat(Enumerable.Range(30, 5))
            .Concat(Enumerable.Range(40, 5)).Concat(Enumerable.Range(50, 16)).Select(i => (long)i).Order();
        Assert.Equal(13, snapshot.Version);
        Assert.Equal(10, snapshot.CheckpointVersion);
        Assert.Equal(["id"], snapshot.Schema.Fields.Select(f => f.Name));
        Assert.Equal(expected, Col<long>(await table.ReadRowsAsync(snapshot), "id").Order());
    }

    [Fact]
    public async Task Read_InsertsUpdates_ReturnsUpdatedStrings()
    {
        var rows = await RowsAsync(GoldenData.Open("basic-with-inserts-updates"));
        var expected = Enumerable.Range(0, 100).Select(i => (i, i < 50 ? "N/A" : $"val={i}"));
        Assert.Equal(expected, rows.Select(r => ((int)r["id"]!, (string)r["str"]!)).OrderBy(x => x.Item1));
    }

    [Fact]
    public async Task Read_InsertsMerge_ReturnsMergedRows()
    {
        var rows = await RowsAsync(GoldenData.Open("basic-with-inserts-merge"));
        var expected = Enumerable.Range(10, 40).Select(i => (i, $"val={i}"))
            .Concat(Enumerable.Range(50, 50).Select(i => (i, "N/A"))).Concat(Enumerable.Range(100, 50).Select(i => (i, "EXT")));
        Assert.Equal(expected, rows.Select(r => (Convert.ToInt32(r["id"]), (string)r["str"]!)).OrderBy(x => x.Item1));
    }

    [Fact]
    public async Task Read_OverwriteRestore_ReturnsVersion3With200Ids()
    {
        var table = GoldenData.Open("basic-with-inserts-overwrite-restore");
        var snapshot = await table.GetSnapshotAsync();
        Assert.Equal(3, snapshot.Version);
        Assert.Equal(Enumerable.Range(0, 200).Select(i => (long)i), Col<long>(await table.ReadRowsAsync(snapshot), "id").Order());
    }

    [Fact]
    public async Task Read_OnlyCheckpointFiles_ReturnsRowsFromCheckpoint()
    {
        var rows = await RowsAsync(GoldenData.Open("only-checkpoint-files"));
        var expected = Enumerable.Range(5, 5).Concat(Enumerable.Range(0, 20)).Select(i => (long)i).Order();
        Assert.Equal(expected, Col<long>(rows, "id").Order());
    }

    [Theory]
    [InlineData("deltalog-state-reconstruction-without-protocol", "no protocol action")]
    [InlineData("deltalog-state-reconstruction-without-metadata", "no metaData action")]
    [InlineData("deltalog-state-reconstruction-from-checkpoint-missing-metadata", "no metaData action")]
    public async Task Snapshot_MissingProtocolOrMetadata_FailsClearly(string name, string message)
    {
        var e = await Assert.ThrowsAsync<DeltaProtocolException>(() => GoldenData.Open(name).GetSnapshotAsync());
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
        Assert.Contains(name, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Snapshot_LatestMetadataProtocol_UsesNewestActions()
    {
        var snapshot = await GoldenData.Open("log-replay-latest-metadata-protocol").GetSnapshotAsync();
        Assert.Equal(["col1", "col2"], snapshot.Schema.Fields.Select(f => f.Name).Order());
        Assert.Equal((3, 7), (snapshot.Protocol.MinReaderVersion, snapshot.Protocol.MinWriterVersion));
    }

    [Fact]
    public async Task Snapshot_CheckpointTable_IsVersion14WithOneFile()
    {
        var snapshot = await GoldenData.Open("checkpoint").GetSnapshotAsync();
        Assert.Equal(14, snapshot.Version);
        Assert.Equal(10, snapshot.CheckpointVersion);
        Assert.Equal(["15"], snapshot.Files.Select(f => f.RelativePath));
    }

    [Theory]
    [InlineData("snapshot-data0", 0, 10, "data-0-")]
    [InlineData("snapshot-data1", 1, 20, "data-")]
    [InlineData("snapshot-data2", 2, 10, "data-2-")]
    [InlineData("snapshot-data3", 3, 30, "data-")]
    [InlineData("snapshot-data2-deleted", 4, 20, "data-3-")]
    [InlineData("snapshot-repartitioned", 5, 20, "data-3-")]
    [InlineData("snapshot-vacuumed", 5, 20, "data-3-")]
    public async Task Read_SnapshotSeries_HasVersionRowsAndValues(string name, long version, int rows, string prefix)
    {
        var table = GoldenData.Open(name);
        var snapshot = await table.GetSnapshotAsync();
        var read = await table.ReadRowsAsync(snapshot);
        Assert.Equal(version, snapshot.Version);
        Assert.Equal(rows, read.Count);
        Assert.All(Col<string>(read, "col2"), s => Assert.StartsWith(prefix, s, StringComparison.Ordinal));
        if (name == "snapshot-vacuumed")
        {
            // vacuum left exactly the files the snapshot needs
            var onDisk = Directory.GetFiles(Path.Combine(GoldenData.Dir, name), "*.snappy.parquet").Select(Path.GetFileName).Order();
            Assert.Equal(onDisk, snapshot.Files.Select(f => f.RelativePath).Order());
        }
    }

    [Fact]
    public async Task Snapshot_SpecialCharacters_DecodesPaths()
    {
        Assert.Empty((await GoldenData.Open("log-replay-special-characters-a").GetSnapshotAsync()).Files);
        var b = await GoldenData.Open("log-replay-special-characters-b").GetSnapshotAsync();
        Assert.Equal(["special p@#h"], b.Files.Select(f => f.RelativePath));
    }

    [Fact]
    public async Task Read_EscapedChars_DecodesPartitionDirectories()
    {
        var rows = await RowsAsync(GoldenData.Open("data-reader-escaped-chars"));
        Assert.Equal([("foo1", "bar+%21"), ("foo2", "bar+%22"), ("foo3", "bar+%23")],
            rows.Select(r => ((string)r["_1"]!, (string)r["_2"]!)).Order());
    }

    [Fact]
    public async Task Snapshot_DeleteReAddSameFile_KeepsLatestAdd()
    {
        var snapshot = await GoldenData.Open("delete-re-add-same-file-different-transactions").GetSnapshotAsync();
        Assert.Equal(["bar", "foo"], snapshot.Files.Select(f => f.RelativePath));
        Assert.Equal(1700000000000L, snapshot.Files.Single(f => f.RelativePath == "foo").Add.ModificationTime);
    }

    [Fact]
    public async Task Snapshot_GetChanges_KnowsLastTransactionVersion()
    {
        var snapshot = await GoldenData.Open("deltalog-getChanges").GetSnapshotAsync();
        Assert.Equal(3, snapshot.Txns["fakeAppId"].Version);
        Assert.False(snapshot.Txns.ContainsKey("nonExistentAppId"));
    }

    [Fact]
    public async Task Snapshot_VersionsNotContiguous_FailsNamingTheGap()
    {
        var e = await Assert.ThrowsAsync<DeltaProtocolException>(() => GoldenData.Open("versions-not-contiguous").GetSnapshotAsync());
        Assert.Contains("not contiguous", e.Message, StringComparison.Ordinal);
        Assert.Contains("00000000000000000001.json", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Snapshot_InvalidProtocolVersion_FailsNamingVersion()
    {
        var e = await Assert.ThrowsAsync<DeltaUnsupportedFeatureException>(() => GoldenData.Open("deltalog-invalid-protocol-version").GetSnapshotAsync());
        Assert.Contains("reader version 99", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Snapshot_NoDeltaLog_IsNotATable()
    {
        await Assert.ThrowsAsync<DeltaTableNotFoundException>(() => GoldenData.Open("no-delta-log-folder").GetSnapshotAsync());
    }

    [Theory]
    [InlineData("dv-partitioned-with-checkpoint", "deletionVectors")]
    [InlineData("dv-with-columnmapping", "deletionVectors")]
    [InlineData("log-replay-dv-key-cases", "deletionVectors")]
    [InlineData("spark-variant-checkpoint", "variantType-preview")]
    public async Task Snapshot_UnsupportedReaderFeature_FailsNamingFeature(string name, string feature)
    {
        var e = await Assert.ThrowsAsync<DeltaUnsupportedFeatureException>(() => GoldenData.Open(name).GetSnapshotAsync());
        Assert.Equal(feature, e.Feature);
        Assert.Contains($"'{feature}'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Snapshot_MultiPartCheckpoint_ReadsAllParts()
    {
        var table = GoldenData.Open("multi-part-checkpoint");
        var snapshot = await table.GetSnapshotAsync();
        Assert.Equal(1, snapshot.Version);
        Assert.Equal(1, snapshot.CheckpointVersion);
        Assert.Empty(snapshot.Commits);
        var ids = Col<long>(await table.ReadRowsAsync(snapshot), "id").Order();
        Assert.Equal(new long[] { 0 }.Concat(Enumerable.Range(0, 30).Select(i => (long)i)).Order(), ids);
    }

    [Theory]
    [InlineData("v2-checkpoint-json")]
    [InlineData("v2-checkpoint-parquet")]
    public async Task Snapshot_V2Checkpoint_ReadsSidecars(string name)
    {
        var table = GoldenData.Open(name);
        var snapshot = await table.GetSnapshotAsync();
        Assert.Equal(2, snapshot.CheckpointVersion);
        Assert.Equal(10, (await table.ReadRowsAsync(snapshot)).Count);
    }

    [Fact]
    public async Task Snapshot_CorruptLastCheckpoint_FallsBackToListing()
    {
        using var dir = new TempDir();
        var table = GoldenData.Copy("corrupted-last-checkpoint", dir.Path);
        await File.WriteAllTextAsync(Path.Combine(dir.Path, "_delta_log", "_last_checkpoint"), "{\"version\":10,\"si");
        var snapshot = await table.GetSnapshotAsync();
        Assert.Equal(10, snapshot.Version);
        Assert.Equal(10, snapshot.CheckpointVersion);
        Assert.Equal(11, snapshot.Files.Count);
    }

    [Fact]
    public async Task Snapshot_LastCheckpointPointsToMissingCheckpoint_FallsBackToListing()
    {
        using var dir = new TempDir();
        var table = GoldenData.Copy("corrupted-last-checkpoint", dir.Path);
        await File.WriteAllTextAsync(Path.Combine(dir.Path, "_delta_log", "_last_checkpoint"), "{\"version\":99,\"size\":3}");
        Assert.Equal(11, (await table.GetSnapshotAsync()).Files.Count);
    }

    [Fact]
    public async Task Snapshot_TornCheckpoint_IsIgnored()
    {
        using var dir = new TempDir();
        var table = GoldenData.Copy("corrupted-last-checkpoint", dir.Path);
        var cp = Path.Combine(dir.Path, "_delta_log", "00000000000000000010.checkpoint.parquet");
        var bytes = await File.ReadAllBytesAsync(cp);
        await File.WriteAllBytesAsync(cp, bytes[..(bytes.Length / 2)]);
        var snapshot = await table.GetSnapshotAsync();
        Assert.Null(snapshot.CheckpointVersion);
        Assert.Equal(11, snapshot.Files.Count);
    }

    [Fact]
    public async Task Snapshot_CorruptCommitLine_FailsNamingTableVersionAndFile()
    {
        using var dir = new TempDir();
        var table = GoldenData.Copy("snapshot-data1", dir.Path);
        await File.AppendAllTextAsync(Path.Combine(dir.Path, "_delta_log", "00000000000000000001.json"), "{\"add\":{\"path\":");
        var e = await Assert.ThrowsAsync<DeltaProtocolException>(() => table.GetSnapshotAsync());
        Assert.Contains("version 1", e.Message, StringComparison.Ordinal);
        Assert.Contains("_delta_log/00000000000000000001.json", e.Message, StringComparison.Ordinal);
        Assert.Contains(new FileSystemObjectStore(dir.Path).Location, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Snapshot_UnknownVersion_FailsClearly()
    {
        var e = await Assert.ThrowsAsync<DeltaVersionNotFoundException>(() => GoldenData.Open("snapshot-data1").GetSnapshotAsync(7));
        Assert.Contains("version 7", e.Message, StringComparison.Ordinal);
    }

    /// <summary>The golden tables that cannot verify clean, and why (everything else must read fully).</summary>
    private static readonly Dictionary<string, string> NotClean = new()
    {
        // log-only tables: their add actions name files that were never written
        ["checkpoint"] = "missing",
        ["corrupted-last-checkpoint"] = "missing",
        ["delete-re-add-same-file-different-transactions"] = "missing",
        ["deltalog-commit-info"] = "missing",
        ["log-replay-special-characters-b"] = "missing",
        ["update-deleted-directory"] = "missing",
        // deliberately broken
        ["data-reader-absolute-paths-escaped-chars"] = "log",
        ["deltalog-invalid-protocol-version"] = "log",
        ["deltalog-state-reconstruction-from-checkpoint-missing-metadata"] = "log",
        ["deltalog-state-reconstruction-from-checkpoint-missing-protocol"] = "log",
        ["deltalog-state-reconstruction-without-metadata"] = "log",
        ["deltalog-state-reconstruction-without-protocol"] = "log",
        ["versions-not-contiguous"] = "log-gap",
        // features this reader refuses
        ["dv-partitioned-with-checkpoint"] = "log",
        ["dv-with-columnmapping"] = "log",
        ["log-replay-dv-key-cases"] = "log",
        ["spark-variant-checkpoint"] = "log",
    };

    [Fact]
    public async Task AllGoldenTables_VerifyWithFullReadOrReportTheExpectedProblem()
    {
        var clean = 0;
        foreach (var dir in Directory.GetDirectories(GoldenData.Dir, "_delta_log", SearchOption.AllDirectories))
        {
            var root = Path.GetRelativePath(GoldenData.Dir, Path.GetDirectoryName(dir)!).Replace('\\', '/');
            if (root.Contains("/_delta_log", StringComparison.Ordinal))
            {
                continue;
            }

            // verification never throws: every problem is reported, with a Delta error for the log ones
            var report = await Lifeline.Lake.Recovery.TableVerifier.VerifyAsync(new DeltaTable(new FileSystemObjectStore(GoldenData.Dir), root), fullRead: true);
            if (NotClean.TryGetValue(root, out var kind))
            {
                Assert.Contains(report.Problems, p => p.Kind == kind);
            }
            else
            {
                Assert.True(report.Ok, $"{root}: {string.Join("; ", report.Problems.Select(p => p.Message))}");
                clean++;
            }
        }

        Assert.Equal(90, clean); // 107 tables with a _delta_log: 90 clean, 17 with the expected problem
    }
}
