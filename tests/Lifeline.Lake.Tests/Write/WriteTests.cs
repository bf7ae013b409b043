using Lifeline.Lake.Schema;
using Lifeline.Lake.Tests.Golden;
using Lifeline.Storage.FileSystem;
using Microsoft.Extensions.Time.Testing;

namespace Lifeline.Lake.Tests.Write;

public sealed class WriteTests
{
    internal static readonly StructType AllTypes = new([
        new("id", PrimitiveType.Long, false), new("i", PrimitiveType.Integer), new("s", PrimitiveType.Short), new("b", PrimitiveType.Byte),
        new("f", PrimitiveType.Float), new("d", PrimitiveType.Double), new("dec", PrimitiveType.Decimal(12, 3)), new("flag", PrimitiveType.Boolean),
        new("name", PrimitiveType.String), new("bin", PrimitiveType.Binary), new("day", PrimitiveType.Date), new("ts", PrimitiveType.Timestamp),
        new("tags", new ArrayType(PrimitiveType.String, true)), new("attrs", new MapType(PrimitiveType.String, PrimitiveType.Long, true)),
        new("point", new StructType([new("x", PrimitiveType.Double), new("y", PrimitiveType.Double)])),
    ]);

    internal static Dictionary<string, object?> AllTypesRow(long i) => new()
    {
        ["id"] = i,
        ["i"] = (int)i,
        ["s"] = (short)i,
        ["b"] = (sbyte)(i % 100),
        ["f"] = i + 0.5f,
        ["d"] = i + 0.25,
        ["dec"] = i + 0.125m,
        ["flag"] = i % 2 == 0,
        ["name"] = i % 3 == 0 ? null : $"name-{i}",
        ["bin"] = new byte[] { (byte)i, 1, 2 },
        ["day"] = new DateOnly(2024, 1, 1).AddDays((int)i),
        ["ts"] = new DateTimeOffset(2024, 1, 1, 0, 0, 0, TimeSpan.Zero).AddMinutes(i),
        ["tags"] = i % 4 == 0 ? new List<object?>() : new List<object?> { "a", null, $"t{i}" },
        ["attrs"] = new Dictionary<string, long> { ["k"] = i },
        ["point"] = i % 5 == 0 ? null : new Dictionary<string, object?> { ["x"] = (double)i, ["y"] = -1.0 },
    };

    private static DeltaTable CreateSut(TempDir dir, TimeProvider? time = null) =>
        new(new FileSystemObjectStore(dir.Path), "tables/t", new DeltaTableOptions { TimeProvider = time ?? TimeProvider.System });

    private static List<IReadOnlyDictionary<string, object?>> Rows(IEnumerable<long> ids, string part = "a") =>
        [.. ids.Select(i => (IReadOnlyDictionary<string, object?>)new Dictionary<string, object?> { ["id"] = i, ["part"] = part })];

    private static readonly StructType Simple = new([new("id", PrimitiveType.Long), new("part", PrimitiveType.String)]);

    [Fact]
    public async Task Append_AllTypes_RoundTripsThroughParquet()
    {
        using var dir = new TempDir();
        var table = CreateSut(dir);
        await table.CreateAsync(AllTypes);
        var written = Enumerable.Range(0, 20).Select(i => AllTypesRow(i)).ToList();
        await table.AppendAsync([.. written]);
        var rows = (await table.ReadRowsAsync(await table.GetSnapshotAsync())).OrderBy(r => (long)r["id"]!).ToList();
        Assert.Equal(20, rows.Count);
        for (var i = 0; i < 20; i++)
        {
            var expected = written[i];
            var actual = rows[i];
            foreach (var key in new[] { "id", "i", "s", "b", "f", "d", "dec", "flag", "name", "day", "ts" })
            {
                Assert.Equal(expected[key], actual[key]);
            }

            Assert.Equal((byte[])expected["bin"]!, (byte[])actual["bin"]!);
            Assert.Equal((List<object?>)expected["tags"]!, (List<object?>)actual["tags"]!);
            Assert.Equal((long)i, ((Dictionary<object, object?>)actual["attrs"]!)["k"]);
            if (expected["point"] is null)
            {
                Assert.Null(actual["point"]);
            }
            else
            {
                Assert.Equal((double)i, ((Dictionary<string, object?>)actual["point"]!)["x"]);
            }
        }
    }

    [Fact]
    public async Task Append_Stats_AreLoggedPerFile()
    {
        using var dir = new TempDir();
        var table = CreateSut(dir);
        await table.CreateAsync(AllTypes);
        await table.AppendAsync([.. Enumerable.Range(0, 10).Select(i => AllTypesRow(i))]);
        var snapshot = await table.GetSnapshotAsync();
        var stats = System.Text.Json.Nodes.JsonNode.Parse(snapshot.Files.Single().Add.Stats!)!;
        Assert.Equal(10, (long)stats["numRecords"]!);
        Assert.Equal(0, (long)stats["minValues"]!["id"]!);
        Assert.Equal(9, (long)stats["maxValues"]!["id"]!);
        Assert.Equal(4, (long)stats["nullCount"]!["name"]!);
        Assert.Equal(10, snapshot.RowCountFromStats);
    }

    [Fact]
    public async Task Append_PartitionedEveryPrimitiveType_FillsPartitionColumns()
    {
        using var dir = new TempDir();
        var table = CreateSut(dir);
        var partitions = new[] { "i", "s", "b", "d", "dec", "flag", "name", "day", "ts" };
        await table.CreateAsync(AllTypes, partitions);
        var written = Enumerable.Range(0, 6).Select(i => AllTypesRow(i)).ToList();
        await table.AppendAsync([.. written]);
        var snapshot = await table.GetSnapshotAsync();
        Assert.Equal(6, snapshot.Files.Count);
        Assert.Contains(snapshot.Files, f => f.RelativePath.Contains("name=__HIVE_DEFAULT_PARTITION__", StringComparison.Ordinal));
        Assert.Contains(snapshot.Files, f => f.RelativePath.Contains("ts=2024-01-01 00%3A01%3A00.000000", StringComparison.Ordinal));
        var rows = (await table.ReadRowsAsync(snapshot)).OrderBy(r => (long)r["id"]!).ToList();
        for (var i = 0; i < 6; i++)
        {
            foreach (var key in partitions)
            {
                Assert.Equal(written[i][key], rows[i][key]);
            }
        }
    }

    [Fact]
    public async Task Read_PartitionFilterAndColumns_SkipFilesAndColumns()
    {
        using var dir = new TempDir();
        var table = CreateSut(dir);
        await table.CreateAsync(Simple, ["part"]);
        await table.AppendAsync([.. Rows([1, 2], "a"), .. Rows([3], "b")]);
        var rows = new List<long>();
        await foreach (var batch in table.ReadAsync(await table.GetSnapshotAsync(), ["id"], p => (string?)p["part"] == "a"))
        {
            Assert.Equal(["id"], batch.Columns.Keys);
            rows.AddRange(((long?[])batch.Columns["id"]).Select(v => v!.Value));
        }

        Assert.Equal([1L, 2L], rows.Order());
    }

    [Fact]
    public async Task Create_Twice_Fails()
    {
        using var dir = new TempDir();
        var table = CreateSut(dir);
        await table.CreateAsync(Simple, ["part"], new Dictionary<string, string?> { ["delta.checkpointInterval"] = "5" });
        var e = await Assert.ThrowsAsync<DeltaProtocolException>(() => table.CreateAsync(Simple));
        Assert.Contains("already exists", e.Message, StringComparison.Ordinal);
        var snapshot = await table.GetSnapshotAsync();
        Assert.Equal("5", snapshot.Property("delta.checkpointInterval"));
        Assert.Equal(["part"], snapshot.Metadata.PartitionColumns);
        Assert.Equal((1, 2), (snapshot.Protocol.MinReaderVersion, snapshot.Protocol.MinWriterVersion));
    }

    [Fact]
    public async Task OverwriteAndDelete_ReplaceAndRemoveFiles_HistoryKeepsOldVersions()
    {
        using var dir = new TempDir();
        var table = CreateSut(dir);
        await table.CreateAsync(Simple, ["part"]);
        await table.AppendAsync(Rows([1, 2, 3], "a"));
        await table.AppendAsync(Rows([4, 5], "b"));
        var overwrite = await table.OverwriteAsync([.. Rows([10, 11], "a"), .. Rows([12], "c")]);
        Assert.Equal(3, overwrite.Version);
        Assert.Equal(2, overwrite.FilesRemoved);
        var delete = await table.DeletePartitionsAsync(p => (string?)p["part"] == "a");
        Assert.Equal(1, delete.FilesRemoved);
        var latest = await table.ReadRowsAsync(await table.GetSnapshotAsync());
        Assert.Equal([12L], latest.Select(r => (long)r["id"]!));
        Assert.Equal([1L, 2, 3, 4, 5], (await table.ReadRowsAsync(await table.GetSnapshotAsync(2))).Select(r => (long)r["id"]!).Order());
        var history = await table.GetHistoryAsync();
        Assert.Equal(["CREATE TABLE", "WRITE", "WRITE", "WRITE", "DELETE"], history.Select(h => h.Operation));
        Assert.Equal("Overwrite", (string?)history[3].CommitInfo!["operationParameters"]!["mode"]);
    }

    [Fact]
    public async Task Append_UnknownColumnOrNullInRequiredColumn_IsRefusedBeforeAnyFile()
    {
        using var dir = new TempDir();
        var table = CreateSut(dir);
        await table.CreateAsync(new StructType([new("id", PrimitiveType.Long, false)]));
        var e = await Assert.ThrowsAsync<ArgumentException>(() => table.AppendAsync([new Dictionary<string, object?> { ["id"] = 1L, ["extra"] = 2 }]));
        Assert.Contains("'extra'", e.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<ArgumentException>(() => table.AppendAsync([new Dictionary<string, object?> { ["id"] = null }]));
        Assert.Equal(0, (await table.GetSnapshotAsync()).Version);
        Assert.Empty(Directory.GetFiles(Path.Combine(dir.Path, "tables", "t"), "*.parquet"));
    }

    [Fact]
    public async Task Append_SameAppIdAndVersion_IsSkipped()
    {
        using var dir = new TempDir();
        var table = CreateSut(dir);
        await table.CreateAsync(Simple);
        var first = await table.AppendAsync(Rows([1]), new WriteOptions { AppId = "loader", TxnVersion = 7 });
        var again = await table.AppendAsync(Rows([1]), new WriteOptions { AppId = "loader", TxnVersion = 7 });
        var next = await table.AppendAsync(Rows([2]), new WriteOptions { AppId = "loader", TxnVersion = 8 });
        Assert.False(first.Skipped);
        Assert.True(again.Skipped);
        Assert.Equal(2, next.Version);
        var snapshot = await table.GetSnapshotAsync();
        Assert.Equal(8, snapshot.Txns["loader"].Version);
        Assert.Equal(2, (await table.ReadRowsAsync(snapshot)).Count);
    }

    [Fact]
    public async Task Append_EveryTenthCommit_WritesSparkCompatibleCheckpoint()
    {
        using var dir = new TempDir();
        var table = CreateSut(dir);
        await table.CreateAsync(Simple, ["part"]);
        for (var i = 0; i < 11; i++)
        {
            await table.AppendAsync(Rows([i], i % 2 == 0 ? "a" : "b"), new WriteOptions { AppId = "app", TxnVersion = i });
        }

        await table.DeletePartitionsAsync(p => (string?)p["part"] == "b");
        var logDir = Path.Combine(dir.Path, "tables", "t", "_delta_log");
        Assert.True(File.Exists(Path.Combine(logDir, "00000000000000000010.checkpoint.parquet")));
        var last = System.Text.Json.Nodes.JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(logDir, "_last_checkpoint")))!;
        Assert.Equal(10, (long)last["version"]!);

        // the column tree is the one Spark writes (compare with a golden checkpoint)
        Assert.Equal(await LeafPathsAsync(Path.Combine(GoldenData.Dir, "checkpoint", "_delta_log", "00000000000000000010.checkpoint.parquet")),
            await LeafPathsAsync(Path.Combine(logDir, "00000000000000000010.checkpoint.parquet")));

        // a reader starting from the checkpoint sees the same table as one replaying every commit
        var snapshot = await table.GetSnapshotAsync();
        Assert.Equal(10, snapshot.CheckpointVersion);
        Assert.Equal(6, (await table.ReadRowsAsync(snapshot)).Count);
        Assert.Equal(10, snapshot.Txns["app"].Version);
        File.Delete(Path.Combine(logDir, "00000000000000000010.checkpoint.parquet"));
        var replayed = await CreateSut(dir).GetSnapshotAsync(); // another reader: the writer's own snapshot is cached
        Assert.Equal(snapshot.Version, replayed.Version);
        Assert.Null(replayed.CheckpointVersion);
        Assert.Equal(snapshot.Files.Select(f => f.RelativePath), replayed.Files.Select(f => f.RelativePath));
    }

    private static async Task<List<string>> LeafPathsAsync(string file)
    {
        await using var stream = File.OpenRead(file);
        await using var reader = await global::Parquet.ParquetReader.CreateAsync(stream);
        return [.. reader.Schema.DataFields.Select(f => f.Path.ToString() + ":" + f.ClrType.Name + ":" + f.MaxDefinitionLevel + ":" + f.MaxRepetitionLevel)];
    }

    [Fact]
    public async Task Append_ConcurrentWriters_AllCommitWithoutConflict()
    {
        using var dir = new TempDir();
        var store = new FileSystemObjectStore(dir.Path);
        await new DeltaTable(store, "t").CreateAsync(Simple);
        var writers = Enumerable.Range(0, 6).Select(w => Task.Run(() => new DeltaTable(store, "t").AppendAsync(Rows([w])))).ToList();
        var results = await Task.WhenAll(writers);
        Assert.Equal(Enumerable.Range(1, 6).Select(v => (long)v), results.Select(r => r.Version).Order());
        var snapshot = await new DeltaTable(store, "t").GetSnapshotAsync();
        Assert.Equal(6, (await new DeltaTable(store, "t").ReadRowsAsync(snapshot)).Count);
    }

    [Fact]
    public async Task Delete_ConcurrentDeleteOfSameFiles_FailsWithConcurrentModification()
    {
        using var dir = new TempDir();
        var store = new FileSystemObjectStore(dir.Path);
        var a = new DeltaTable(store, "t");
        await a.CreateAsync(Simple, ["part"]);
        await a.AppendAsync(Rows([1, 2], "x"));
        // the second writer read version 1, then loses the race to a delete of the same partition
        var b = new DeltaTable(store, "t", new DeltaTableOptions());
        var raced = false;
        var e = await Assert.ThrowsAsync<DeltaConcurrentModificationException>(() => b.OverwriteAsync(Rows([9], "x"), new WriteOptions
        {
            BeforeCommit = async _ =>
            {
                if (!raced)
                {
                    raced = true;
                    await a.DeletePartitionsAsync(p => (string?)p["part"] == "x");
                }
            },
        }));
        Assert.Contains("version 2", e.Message, StringComparison.Ordinal);
        Assert.Empty((await a.GetSnapshotAsync()).Files);
    }

    [Fact]
    public async Task Append_RacingADelete_RetriesAndCommits()
    {
        using var dir = new TempDir();
        var store = new FileSystemObjectStore(dir.Path);
        var a = new DeltaTable(store, "t");
        await a.CreateAsync(Simple, ["part"]);
        await a.AppendAsync(Rows([1], "x"));
        var raced = false;
        var result = await new DeltaTable(store, "t").AppendAsync(Rows([2], "y"), new WriteOptions
        {
            BeforeCommit = async _ =>
            {
                if (!raced)
                {
                    raced = true;
                    await a.DeletePartitionsAsync(p => (string?)p["part"] == "x");
                }
            },
        });
        Assert.Equal(3, result.Version);
        Assert.Equal(2, result.Attempts);
        Assert.Equal([2L], (await a.ReadRowsAsync(await a.GetSnapshotAsync())).Select(r => (long)r["id"]!));
    }

    [Fact]
    public async Task Vacuum_HonoursDeletedFileRetention()
    {
        using var dir = new TempDir();
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var table = CreateSut(dir, time);
        await table.CreateAsync(Simple);
        await table.AppendAsync(Rows([1]));
        await table.OverwriteAsync(Rows([2]));
        Assert.Empty((await table.VacuumAsync()).Deleted);
        await Assert.ThrowsAsync<DeltaProtocolException>(() => table.VacuumAsync(TimeSpan.Zero));
        time.Advance(TimeSpan.FromDays(8));
        var result = await table.VacuumAsync(dryRun: true);
        Assert.Single(result.Deleted);
        Assert.True(File.Exists(Path.Combine(dir.Path, "tables", "t", result.Deleted[0])));
        result = await table.VacuumAsync();
        Assert.False(File.Exists(Path.Combine(dir.Path, "tables", "t", result.Deleted[0])));
        Assert.Equal([2L], (await table.ReadRowsAsync(await table.GetSnapshotAsync())).Select(r => (long)r["id"]!));
    }

    [Fact]
    public async Task CleanupLog_KeepsCheckpointNeededToReconstruct()
    {
        using var dir = new TempDir();
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var table = CreateSut(dir, time);
        await table.CreateAsync(Simple, properties: new Dictionary<string, string?> { ["delta.logRetentionDuration"] = "interval 1 days", ["delta.checkpointInterval"] = "3" });
        for (var i = 0; i < 7; i++)
        {
            await table.AppendAsync(Rows([i]));
        }

        var logDir = Path.Combine(dir.Path, "tables", "t", "_delta_log");
        foreach (var f in Directory.GetFiles(logDir))
        {
            File.SetLastWriteTimeUtc(f, time.GetUtcNow().UtcDateTime.AddDays(-2));
        }

        Assert.Equal(0, await new DeltaTable(new FileSystemObjectStore(dir.Path), "tables/t", new DeltaTableOptions { TimeProvider = new FakeTimeProvider(time.GetUtcNow().AddDays(-3)) }).CleanupLogAsync());
        var deleted = await table.CleanupLogAsync();
        Assert.Equal(7, deleted); // commits 0-5 and checkpoint 3; checkpoint 6 stays
        var snapshot = await table.GetSnapshotAsync();
        Assert.Equal(7, snapshot.Version);
        Assert.Equal(7, (await table.ReadRowsAsync(snapshot)).Count);
        await Assert.ThrowsAnyAsync<DeltaProtocolException>(() => table.GetSnapshotAsync(2));
    }

    [Fact]
    public async Task SetProperties_MergesIntoTheConfigurationInOneCommitAndKeepsTheRows()
    {
        using var dir = new TempDir();
        var table = CreateSut(dir);
        await table.CreateAsync(Simple, properties: new Dictionary<string, string?> { ["owner"] = "scoring", ["delta.checkpointInterval"] = "5" });
        await table.AppendAsync(Rows([1, 2]));

        var result = await table.SetPropertiesAsync(new Dictionary<string, string?> { ["delta.deletedFileRetentionDuration"] = "interval 10 minutes", ["owner"] = null });

        Assert.Equal((2L, false), (result.Version, result.Skipped));
        var snapshot = await CreateSut(dir).GetSnapshotAsync(); // a fresh reader sees the commit
        Assert.Equal(TimeSpan.FromMinutes(10), DeltaTable.DeletedFileRetention(snapshot));
        Assert.Null(snapshot.Property("owner"));
        Assert.Equal("5", snapshot.Property("delta.checkpointInterval"));
        Assert.Equal([1L, 2L], (await table.ReadRowsAsync(snapshot)).Select(r => (long)r["id"]!).Order());
        Assert.Equal("SET TBLPROPERTIES", (await table.GetHistoryAsync()).Last().Operation);
    }

    [Fact]
    public async Task SetProperties_ValuesAlreadySet_SkippedWithoutACommit()
    {
        using var dir = new TempDir();
        var table = CreateSut(dir);
        await table.CreateAsync(Simple, properties: new Dictionary<string, string?> { ["delta.logRetentionDuration"] = "interval 1 hours" });

        var result = await table.SetPropertiesAsync(new Dictionary<string, string?> { ["delta.logRetentionDuration"] = "interval 1 hours", ["absent"] = null });

        Assert.Equal((0L, true), (result.Version, result.Skipped));
        Assert.Equal(0, (await table.GetSnapshotAsync()).Version);
    }

    [Fact]
    public async Task SetProperties_RetentionThatDoesNotParse_RefusedNamingItAndNothingCommitted()
    {
        using var dir = new TempDir();
        var table = CreateSut(dir);
        await table.CreateAsync(Simple);

        var e = await Assert.ThrowsAsync<DeltaProtocolException>(() => table.SetPropertiesAsync(new Dictionary<string, string?> { ["delta.deletedFileRetentionDuration"] = "ten minutes" }));

        Assert.Contains("ten minutes", e.Message, StringComparison.Ordinal);
        Assert.Equal(0, (await table.GetSnapshotAsync()).Version);
    }

    [Fact]
    public async Task SetProperties_ConcurrentAppendWonTheVersion_RetriedAtTheNextVersionWithTheAppendKept()
    {
        using var dir = new TempDir();
        var store = new FileSystemObjectStore(dir.Path);
        var table = new DeltaTable(store, "tables/t");
        await table.CreateAsync(Simple);
        await table.GetSnapshotAsync(); // this writer's cached snapshot is version 0
        await new DeltaTable(store, "tables/t").AppendAsync(Rows([7])); // another writer commits version 1 meanwhile

        var result = await table.SetPropertiesAsync(new Dictionary<string, string?> { ["delta.logRetentionDuration"] = "interval 2 hours" });

        var snapshot = await new DeltaTable(store, "tables/t").GetSnapshotAsync();
        Assert.Equal(snapshot.Version, result.Version);
        Assert.Equal("interval 2 hours", snapshot.Property("delta.logRetentionDuration"));
        Assert.Equal([7L], (await table.ReadRowsAsync(snapshot)).Select(r => (long)r["id"]!));
    }
}
