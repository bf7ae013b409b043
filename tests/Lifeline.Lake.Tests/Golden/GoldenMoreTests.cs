using static Lifeline.Lake.Tests.Golden.GoldenLogReplayTests;

namespace Lifeline.Lake.Tests.Golden;

/// <summary>More golden tables: type widening (DeltaTableReadsSuite), path canonicalization, commitInfo, features.</summary>
public sealed class GoldenMoreTests
{
    [Fact]
    public async Task Read_TypeWidening_ReturnsWidenedValues()
    {
        var rows = (await RowsAsync(GoldenData.Open("type-widening"))).OrderBy(r => (long)r["byte_long"]!).ToList();
        Assert.Equal([1L, long.MaxValue], rows.Select(r => (long)r["byte_long"]!));
        Assert.Equal([2L, long.MaxValue], rows.Select(r => (long)r["int_long"]!));
        Assert.Equal([(double)3.4f, 1.234567890123], rows.Select(r => (double)r["float_double"]!));
        Assert.Equal([5.0, 1.234567890123], rows.Select(r => (double)r["byte_double"]!));
        Assert.Equal([6.0, 1.234567890123], rows.Select(r => (double)r["short_double"]!));
        Assert.Equal([7.0, 1.234567890123], rows.Select(r => (double)r["int_double"]!));
        Assert.Equal([new DateTime(2024, 9, 9), new DateTime(2024, 9, 9, 12, 34, 56, 123).AddTicks(4560)], rows.Select(r => (DateTime)r["date_timestamp_ntz"]!));
        Assert.Equal([123.45m, 12345678901234.56m], rows.Select(r => (decimal)r["decimal_decimal_same_scale"]!));
        Assert.Equal([67.89m, 12345678901.23456m], rows.Select(r => (decimal)r["decimal_decimal_greater_scale"]!));
        Assert.Equal([1m, 123.4m], rows.Select(r => (decimal)r["byte_decimal"]!));
        Assert.Equal([2m, 12345.6m], rows.Select(r => (decimal)r["short_decimal"]!));
        Assert.Equal([3m, 1234567890.1m], rows.Select(r => (decimal)r["int_decimal"]!));
        Assert.Equal([4m, 123456789012345678.9m], rows.Select(r => (decimal)r["long_decimal"]!));
    }

    [Fact]
    public async Task Read_TypeWideningNested_ReturnsWidenedNestedValues()
    {
        var rows = (await RowsAsync(GoldenData.Open("type-widening-nested"))).OrderBy(r => (long)((Dictionary<string, object?>)r["struct"]!).Values.Single()!).ToList();
        Assert.Equal([1L, long.MaxValue], rows.Select(r => (long)((Dictionary<string, object?>)r["struct"]!).Values.Single()!));
        Assert.Equal(3L, ((Dictionary<object, object?>)rows[0]["map"]!)[2L]);
        Assert.Equal(long.MaxValue, ((Dictionary<object, object?>)rows[1]["map"]!)[long.MaxValue]);
        Assert.Equal(new object?[] { 4L, 5L }, (List<object?>)rows[0]["array"]!);
        Assert.Equal(new object?[] { long.MaxValue, long.MinValue }, (List<object?>)rows[1]["array"]!);
    }

    [Theory]
    [InlineData("canonicalized-paths-normal-a")]
    [InlineData("canonicalized-paths-normal-b")]
    [InlineData("canonicalized-paths-special-a")]
    [InlineData("canonicalized-paths-special-b")]
    public async Task Snapshot_RemoveWithDifferentlyWrittenAbsolutePath_CancelsTheAdd(string name)
    {
        var snapshot = await GoldenData.Open(name).GetSnapshotAsync();
        Assert.Equal(1, snapshot.Version);
        Assert.Empty(snapshot.Files);
    }

    [Fact]
    public async Task History_CommitInfo_ExposesWriterFields()
    {
        var entry = Assert.Single(await GoldenData.Open("deltalog-commit-info").GetHistoryAsync());
        Assert.Equal("WRITE", entry.Operation);
        Assert.Equal("username_0", (string?)entry.CommitInfo!["userName"]);
        Assert.Equal("job_id_0", (string?)entry.CommitInfo!["job"]!["jobId"]);
        Assert.Equal("foo", (string?)entry.CommitInfo!["userMetadata"]);
    }

    [Fact]
    public async Task History_ArbitraryOperationParameterTypes_Parse()
    {
        var history = await GoldenData.Open("commit-info-containing-arbitrary-operationParams-types").GetHistoryAsync();
        Assert.Equal(3, history.Count);
        Assert.All(history, h => Assert.NotNull(h.CommitInfo!["operationParameters"]));
    }

    [Fact]
    public async Task Snapshot_CheckpointAtVersion0_ReadsTenFiles()
    {
        var snapshot = await GoldenData.Open("update-deleted-directory").GetSnapshotAsync();
        Assert.Equal(0, snapshot.CheckpointVersion);
        Assert.Equal(Enumerable.Range(1, 10).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)).Order(StringComparer.Ordinal), snapshot.Files.Select(f => f.RelativePath));
    }

    [Fact]
    public async Task Read_VacuumProtocolCheckFeature_IsReadable()
    {
        var table = GoldenData.Open("basic-with-vacuum-protocol-check-feature");
        var snapshot = await table.GetSnapshotAsync();
        Assert.Equal(["vacuumProtocolCheck"], snapshot.Protocol.ReaderFeatures);
        var rows = await table.ReadRowsAsync(snapshot);
        Assert.Equal(Enumerable.Range(0, 100).Select(i => (i, $"val={i}")), rows.Select(r => ((int)r["id"]!, (string)r["str"]!)).OrderBy(x => x.Item1));
    }

    [Theory]
    [InlineData("data-skipping-basic-stats-all-types")]
    [InlineData("data-skipping-basic-stats-all-types-checkpoint")]
    [InlineData("data-skipping-basic-stats-all-types-columnmapping-name")]
    public async Task Snapshot_FileStats_AreExposed(string name)
    {
        var table = GoldenData.Open(name);
        var snapshot = await table.GetSnapshotAsync();
        var file = Assert.Single(snapshot.Files);
        Assert.Equal(1, file.NumRecords);
        Assert.Single(await table.ReadRowsAsync(snapshot));
    }

    [Theory]
    // version, files (prefix of the part file's id, oldest first), dataSkippingNumIndexedCols in force, columns with
    // stats in the newest file; every append wrote one row (0, 0)
    [InlineData(0, new[] { "c09e5ddb" }, null, "col1,col2")]
    [InlineData(1, new[] { "c09e5ddb" }, "1", "col1,col2")] // SET TBLPROPERTIES: no new file, the old stats stay
    [InlineData(2, new[] { "c09e5ddb", "cb335794" }, "1", "col1")]
    [InlineData(3, new[] { "c09e5ddb", "cb335794" }, "0", "col1")]
    [InlineData(4, new[] { "c09e5ddb", "cb335794", "e5d736b6" }, "0", "")]
    public async Task Read_DataSkippingStatsAcrossVersions_ReadsAllVersions(long version, string[] files, string? indexedCols, string statsColumns)
    {
        // Time travel to every version of the table: each one reads its own rows, its own configuration, and the
        // files it added keep the stats that were collected when they were written (2, then 1, then 0 columns).
        var table = GoldenData.Open("data-skipping-change-stats-collected-across-versions");
        var snapshot = await table.GetSnapshotAsync(version);
        Assert.Equal(version, snapshot.Version);
        Assert.Equal(indexedCols, snapshot.Property("delta.dataSkippingNumIndexedCols"));
        Assert.Equal(files, snapshot.Files.OrderBy(f => f.Add.ModificationTime).Select(f => f.Add.Path["part-00001-".Length..][..8]));
        var read = await table.ReadRowsAsync(snapshot);
        Assert.Equal(Enumerable.Repeat("0:0", files.Length), read.Select(r => $"{r["col1"]}:{r["col2"]}"));
        Assert.Equal(files.Length, snapshot.RowCountFromStats);
        var newest = snapshot.Files.MaxBy(f => f.Add.ModificationTime)!;
        var stats = System.Text.Json.Nodes.JsonNode.Parse(newest.Add.Stats!)!.AsObject();
        Assert.Equal(1, newest.NumRecords);
        IEnumerable<string> withStats = stats["minValues"]?.AsObject().Select(p => p.Key).Order(StringComparer.Ordinal) ?? Enumerable.Empty<string>();
        Assert.Equal(statsColumns, string.Join(',', withStats));
    }

    [Fact]
    public async Task Read_DecimalsUpTo38Digits_MatchSparkStatistics()
    {
        // Spark's statistics for the file hold the exact min and max of every column: the decoded values must agree
        var table = GoldenData.Open("decimal-various-scale-precision");
        var snapshot = await table.GetSnapshotAsync();
        var rows = await table.ReadRowsAsync(snapshot);
        Assert.Equal(3, rows.Count);
        var stats = System.Text.Json.Nodes.JsonNode.Parse(snapshot.Files.Single().Add.Stats!)!;
        static decimal AsDecimal(object? value) => value switch
        {
            decimal d => d,
            System.Data.SqlTypes.SqlDecimal s => decimal.Parse(s.ToString(), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture),
            _ => throw new InvalidOperationException(value?.GetType().Name),
        };

        foreach (var field in snapshot.Schema.Fields)
        {
            var type = (Schema.PrimitiveType)field.Type;
            var values = rows.Select(r => r[field.Name]).Where(v => v is not null).ToList();
            Assert.Equal(3 - (long)stats["nullCount"]![field.Name]!, values.Count);
            if (values.Count == 0)
            {
                continue; // values that did not fit their column were written as null by Spark
            }

            Assert.All(values, v => Assert.IsType(type.Precision > 28 ? typeof(System.Data.SqlTypes.SqlDecimal) : typeof(decimal), v));
            var min = decimal.Parse(stats["minValues"]![field.Name]!.ToJsonString(), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture);
            var max = decimal.Parse(stats["maxValues"]![field.Name]!.ToJsonString(), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture);
            Assert.Equal(min, values.Select(AsDecimal).Min());
            Assert.Equal(max, values.Select(AsDecimal).Max());
        }
    }

    [Fact]
    public async Task Read_ParquetDecimalType_ReadsAllRows()
    {
        var table = GoldenData.Open("parquet-decimal-type");
        Assert.Equal(99998, await table.CountRowsAsync(await table.GetSnapshotAsync()));
    }

    [Theory]
    [InlineData("collations-table")]
    [InlineData("table-with-icebegCompatV2Enabled")]
    public async Task Snapshot_WriterOnlyFeatures_AreReadable(string name)
    {
        var table = GoldenData.Open(name);
        var snapshot = await table.GetSnapshotAsync();
        await table.ReadRowsAsync(snapshot);
        Assert.True(snapshot.Protocol.MinWriterVersion >= 7);
    }
}
