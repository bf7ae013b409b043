using System.Collections;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Lifeline.Lake.Schema;
using Lifeline.Lake.Tests.Golden;
using Lifeline.Storage.FileSystem;
using Microsoft.Extensions.Time.Testing;

namespace Lifeline.Lake.Tests.Write;

public sealed class OptimizeTests
{
    private static readonly StructType Simple = new([new("id", PrimitiveType.Long), new("part", PrimitiveType.String)]);

    private static DeltaTable CreateSut(TempDir dir, TimeProvider? time = null) =>
        new(new FileSystemObjectStore(dir.Path), "tables/t", new DeltaTableOptions { TimeProvider = time ?? TimeProvider.System });

    private static List<IReadOnlyDictionary<string, object?>> Rows(IEnumerable<long> ids, string part) =>
        [.. ids.Select(i => (IReadOnlyDictionary<string, object?>)new Dictionary<string, object?> { ["id"] = i, ["part"] = part })];

    /// <summary>Ten appends, each with a file in partition a and one in b: 20 small files.</summary>
    private static async Task<DeltaTable> SeedAsync(TempDir dir, TimeProvider? time = null)
    {
        var table = CreateSut(dir, time);
        await table.CreateAsync(Simple, ["part"]);
        for (var i = 0; i < 10; i++)
        {
            await table.AppendAsync([.. Rows([i * 10, (i * 10) + 1], "a"), .. Rows([(i * 10) + 2], "b")]);
        }

        return table;
    }

    /// <summary>Every row rendered as text, sorted: equal lists mean the same rows, values and types.</summary>
    private static async Task<List<string>> RowsOf(DeltaTable table, long? version = null)
    {
        var rows = await table.ReadRowsAsync(await table.GetSnapshotAsync(version));
        return [.. rows.Select(r => string.Join("|", r.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key}={Render(kv.Value)}"))).Order(StringComparer.Ordinal)];
    }

    private static string Render(object? value) => value switch
    {
        null => "null",
        byte[] b => Convert.ToHexString(b),
        string s => s,
        IDictionary d => "{" + string.Join(",", d.Keys.Cast<object>().Select(k => $"{Render(k)}:{Render(d[k])}").Order(StringComparer.Ordinal)) + "}",
        IEnumerable e => "[" + string.Join(",", e.Cast<object?>().Select(Render)) + "]",
        IFormattable f => $"{value.GetType().Name}:{f.ToString(null, CultureInfo.InvariantCulture)}",
        _ => value.ToString()!,
    };

    private static List<JsonObject> CommitActions(TempDir dir, long version) =>
        [.. File.ReadAllLines(Path.Combine(dir.Path, "tables", "t", "_delta_log", $"{version:D20}.json"), Encoding.UTF8).Select(l => JsonNode.Parse(l)!.AsObject())];

    [Fact]
    public async Task Optimize_SmallFilesPerPartition_SameRowsInOneFilePerPartition()
    {
        using var dir = new TempDir();
        var table = await SeedAsync(dir);
        var before = await RowsOf(table);
        Assert.Equal(20, (await table.GetSnapshotAsync()).Files.Count);

        var result = await table.OptimizeAsync();

        Assert.Equal(11, result.Version);
        Assert.Equal((20, 2, 2), (result.FilesRemoved, result.FilesAdded, result.PartitionsOptimized));
        var snapshot = await table.GetSnapshotAsync();
        Assert.Equal(2, snapshot.Files.Count);
        Assert.Equal(before, await RowsOf(table));
        Assert.Equal(30, snapshot.RowCountFromStats);
        var a = JsonNode.Parse(snapshot.Files.Single(f => f.Add.PartitionValues["part"] == "a").Add.Stats!)!;
        Assert.Equal((20L, 0L, 91L), ((long)a["numRecords"]!, (long)a["minValues"]!["id"]!, (long)a["maxValues"]!["id"]!));
        var info = (await table.GetHistoryAsync()).Single(e => e.Version == 11).CommitInfo!;
        Assert.Equal("OPTIMIZE", (string?)info["operation"]);
        Assert.False((bool)info["isBlindAppend"]!);
        Assert.Equal("20", (string?)info["operationMetrics"]!["numRemovedFiles"]);
        Assert.Equal("2", (string?)info["operationMetrics"]!["numAddedFiles"]);
        Assert.Equal(result.BytesAdded.ToString(CultureInfo.InvariantCulture), (string?)info["operationMetrics"]!["numAddedBytes"]);
        Assert.Equal("[]", (string?)info["operationParameters"]!["zOrderBy"]);
    }

    [Fact]
    public async Task Optimize_AllTypes_RowsIdenticalBeforeAndAfter()
    {
        using var dir = new TempDir();
        var table = CreateSut(dir);
        await table.CreateAsync(WriteTests.AllTypes, ["flag"]);
        for (var i = 0; i < 4; i++)
        {
            await table.AppendAsync([.. Enumerable.Range(i * 5, 5).Select(j => WriteTests.AllTypesRow(j))]);
        }

        var before = await RowsOf(table);
        var result = await table.OptimizeAsync();

        Assert.Equal(8, result.FilesRemoved);
        Assert.Equal(2, (await table.GetSnapshotAsync()).Files.Count);
        Assert.Equal(before, await RowsOf(table));
    }

    [Fact]
    public async Task Optimize_CommitIsDataChangeFalse_StreamingReaderSeesNoNewData()
    {
        using var dir = new TempDir();
        var table = await SeedAsync(dir);
        var result = await table.OptimizeAsync();

        var actions = CommitActions(dir, result.Version!.Value);
        var files = actions.Where(a => a["add"] is not null || a["remove"] is not null).Select(a => (a["add"] ?? a["remove"])!).ToList();
        Assert.Equal(22, files.Count);
        Assert.All(files, f => Assert.False((bool)f["dataChange"]!));
        Assert.All(actions.Where(a => a["remove"] is not null), r => Assert.NotNull(r["remove"]!["deletionTimestamp"]));

        // what a Delta streaming source does: the rows of the adds with dataChange=true, commit by commit
        static long NewRows(List<JsonObject> commit) =>
            commit.Where(a => a["add"] is JsonObject add && (bool)add["dataChange"]!).Sum(a => (long)JsonNode.Parse((string)a["add"]!["stats"]!)!["numRecords"]!);
        Assert.Equal(0, NewRows(actions));
        await table.AppendAsync(Rows([100], "a"));
        Assert.Equal(1, NewRows(CommitActions(dir, result.Version.Value + 1)));
    }

    [Fact]
    public async Task Optimize_ConcurrentAppendBeforeCommit_AppendIsKept()
    {
        using var dir = new TempDir();
        var table = await SeedAsync(dir);
        var other = CreateSut(dir); // another writer (as the scoring service beside the scheduled compaction)
        var before = await RowsOf(table);

        var result = await table.OptimizeAsync(new OptimizeOptions { BeforeCommit = async _ => await other.AppendAsync(Rows([500, 501], "a")) });

        Assert.Equal((12L, 2), (result.Version, result.Attempts));
        var after = await RowsOf(CreateSut(dir));
        Assert.Equal(32, after.Count);
        Assert.Equal(await RowsOf(table, 11), after); // version 11 is the concurrent append: its rows and the compacted ones
        Assert.True(before.All(after.Contains));
        Assert.Equal(3, (await CreateSut(dir).GetSnapshotAsync()).Files.Count); // two compacted + the concurrent append's
    }

    [Fact]
    public async Task Optimize_MoreConcurrentAppendsThanRetriesWhileItWrites_CommitsAfterThemInOneRetry()
    {
        // lifeline up's predictions table takes a commit a second: an OPTIMIZE that takes longer than
        // MaxCommitRetries (10) seconds to write its files must still commit, after all of them, not give up
        using var dir = new TempDir();
        var table = await SeedAsync(dir);
        var other = CreateSut(dir);
        var before = await RowsOf(table);
        const int appends = 25;

        var result = await table.OptimizeAsync(new OptimizeOptions
        {
            BeforeCommit = async _ =>
            {
                for (var i = 0; i < appends; i++)
                {
                    await other.AppendAsync(Rows([1000 + i], "a"));
                }
            },
        });

        Assert.Equal((10L + appends + 1, 2), (result.Version, result.Attempts));
        var after = await RowsOf(CreateSut(dir));
        Assert.Equal(before.Count + appends, after.Count);
        Assert.True(before.All(after.Contains));
        Assert.Equal(2 + appends, (await CreateSut(dir).GetSnapshotAsync()).Files.Count); // two compacted + each append's
    }

    [Fact]
    public async Task Optimize_ConcurrentCommitRemovedAnInput_FailsAndLeavesTheTableAsItWas()
    {
        using var dir = new TempDir();
        var table = await SeedAsync(dir);
        var other = CreateSut(dir);
        var before = await RowsOf(table);
        var parquetBefore = Directory.GetFiles(dir.Path, "*.parquet", SearchOption.AllDirectories).Length;
        IReadOnlyList<string> ours = [];

        var e = await Assert.ThrowsAsync<DeltaConcurrentModificationException>(() => table.OptimizeAsync(new OptimizeOptions
        {
            BeforeCommit = async written =>
            {
                ours = [.. written];
                await other.OptimizeAsync(new OptimizeOptions { PartitionFilter = p => (string?)p["part"] == "b" });
            },
        }));

        Assert.Contains("removed file", e.Message, StringComparison.Ordinal);
        Assert.Equal(11, await table.GetLatestVersionAsync()); // only the other OPTIMIZE committed
        Assert.Equal(before, await RowsOf(CreateSut(dir)));
        Assert.Equal(2, ours.Count);
        Assert.All(ours, p => Assert.False(File.Exists(Path.Combine(dir.Path, "tables", "t", p))));
        Assert.Equal(parquetBefore + 1, Directory.GetFiles(dir.Path, "*.parquet", SearchOption.AllDirectories).Length);
    }

    [Fact]
    public async Task Optimize_TimeTravelBeforeOptimize_ReadsUntilVacuumRetentionPasses()
    {
        using var dir = new TempDir();
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var table = await SeedAsync(dir, time);
        var before = await RowsOf(table);
        await table.OptimizeAsync();

        Assert.Empty((await table.VacuumAsync()).Deleted); // the removed files stay for the retention (7 days)
        Assert.Equal(before, await RowsOf(table, 10));
        Assert.Equal(20, (await table.GetSnapshotAsync(10)).Files.Count);

        time.Advance(TimeSpan.FromDays(8));
        Assert.Equal(20, (await table.VacuumAsync()).Deleted.Count);
        Assert.Equal(before, await RowsOf(table));
    }

    [Fact]
    public async Task Optimize_TargetAndMinFileSize_BinsFilesAndLeavesLargeOnesAlone()
    {
        using var dir = new TempDir();
        var table = CreateSut(dir);
        await table.CreateAsync(Simple);
        await table.AppendAsync(Rows(Enumerable.Range(0, 5000).Select(i => (long)i * 7919), "x")); // one large file
        for (var i = 0; i < 6; i++)
        {
            await table.AppendAsync(Rows([i], "x"));
        }

        var files = (await table.GetSnapshotAsync()).Files;
        var large = files.Max(f => f.Add.Size);
        var small = files.Where(f => f.Add.Size < large).Max(f => f.Add.Size);
        var before = await RowsOf(table);

        // room for two small files per output file; the large file is above the minimum and is not touched
        var result = await table.OptimizeAsync(new OptimizeOptions { TargetFileSize = (2 * small) + 1, MinFileSize = large });

        Assert.Equal((6, 3), (result.FilesRemoved, result.FilesAdded));
        var after = await table.GetSnapshotAsync();
        Assert.Equal(4, after.Files.Count);
        Assert.Contains(after.Files, f => f.Add.Size == large && f.Add.DataChange);
        Assert.Equal(before, await RowsOf(table));
    }

    [Fact]
    public async Task Optimize_NothingToCompact_DoesNotCommit()
    {
        using var dir = new TempDir();
        var table = CreateSut(dir);
        await table.CreateAsync(Simple, ["part"]);
        await table.AppendAsync([.. Rows([1], "a"), .. Rows([2], "b")]);

        var result = await table.OptimizeAsync();

        Assert.Null(result.Version);
        Assert.Equal(2, result.CandidateFiles);
        Assert.Equal(1, await table.GetLatestVersionAsync());
        Assert.Equal(2, await table.CountSmallFilesAsync());
    }
}
