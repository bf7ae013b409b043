using static Lifeline.Lake.Tests.Golden.GoldenLogReplayTests;

namespace Lifeline.Lake.Tests.Golden;

/// <summary>Row values of the golden tables; expectations restated from GoldenTables.scala and Delta's DeltaDataReaderSuite.</summary>
public sealed class GoldenDataReaderTests
{
    [Fact]
    public async Task Read_Primitives_ReturnsEveryTypeAndNullRow()
    {
        var rows = await RowsAsync(GoldenData.Open("data-reader-primitives"));
        Assert.Equal(11, rows.Count);
        var nullRow = Assert.Single(rows, r => r["as_int"] is null);
        Assert.All(nullRow.Values, Assert.Null);
        foreach (var row in rows.Where(r => r["as_int"] is not null))
        {
            var i = (int)row["as_int"]!;
            Assert.Equal((long)i, row["as_long"]);
            Assert.Equal((sbyte)i, row["as_byte"]);
            Assert.Equal((short)i, row["as_short"]);
            Assert.Equal(i % 2 == 0, row["as_boolean"]);
            Assert.Equal((float)i, row["as_float"]);
            Assert.Equal((double)i, row["as_double"]);
            Assert.Equal(i.ToString(System.Globalization.CultureInfo.InvariantCulture), row["as_string"]);
            Assert.Equal(new[] { (byte)i, (byte)i }, (byte[])row["as_binary"]!);
            Assert.Equal((decimal)i, row["as_big_decimal"]);
        }

        Assert.Equal(Enumerable.Range(0, 10), rows.Where(r => r["as_int"] is not null).Select(r => (int)r["as_int"]!).Order());
    }

    [Fact]
    public async Task Read_PartitionValues_ParsesEveryPrimitiveType()
    {
        var rows = await RowsAsync(GoldenData.Open("data-reader-partition-values"));
        Assert.Equal(3, rows.Count);
        foreach (var row in rows.Where(r => r["as_int"] is not null))
        {
            var i = (int)row["as_int"]!;
            Assert.Equal((long)i, row["as_long"]);
            Assert.Equal((sbyte)i, row["as_byte"]);
            Assert.Equal((short)i, row["as_short"]);
            Assert.Equal(i % 2 == 0, row["as_boolean"]);
            Assert.Equal((float)i, row["as_float"]);
            Assert.Equal((double)i, row["as_double"]);
            Assert.Equal(i.ToString(System.Globalization.CultureInfo.InvariantCulture), row["as_string"]);
            Assert.Equal("null", row["as_string_lit_null"]);
            Assert.Equal(new DateOnly(2021, 9, 8), row["as_date"]);
            Assert.Equal(new DateTimeOffset(2021, 9, 8, 11, 11, 11, TimeSpan.Zero), row["as_timestamp"]);
            Assert.Equal((decimal)i, row["as_big_decimal"]);
            Assert.Equal(Enumerable.Repeat(i, 3), ((List<object?>)row["as_list_of_records"]!).Select(x => (int)((Dictionary<string, object?>)x!)["val"]!));
            var nested = (Dictionary<string, object?>)row["as_nested_struct"]!;
            Assert.Equal(i.ToString(System.Globalization.CultureInfo.InvariantCulture), nested["aa"]);
            Assert.Equal((long)i, ((Dictionary<string, object?>)nested["ac"]!)["acb"]);
            Assert.Equal(i.ToString(System.Globalization.CultureInfo.InvariantCulture), row["value"]);
        }

        var nulls = Assert.Single(rows, r => r["as_int"] is null);
        foreach (var c in new[] { "as_long", "as_byte", "as_short", "as_boolean", "as_float", "as_double", "as_string", "as_string_lit_null", "as_date", "as_timestamp", "as_big_decimal" })
        {
            Assert.Null(nulls[c]);
        }

        Assert.Equal("2", nulls["value"]);
    }

    [Fact]
    public async Task Read_ArrayPrimitives_ReturnsOneElementArrays()
    {
        var rows = await RowsAsync(GoldenData.Open("data-reader-array-primitives"));
        Assert.Equal(10, rows.Count);
        foreach (var row in rows)
        {
            var i = (int)((List<object?>)row["as_array_int"]!).Single()!;
            Assert.Equal((long)i, ((List<object?>)row["as_array_long"]!).Single());
            Assert.Equal((sbyte)i, ((List<object?>)row["as_array_byte"]!).Single());
            Assert.Equal(i % 2 == 0, ((List<object?>)row["as_array_boolean"]!).Single());
            Assert.Equal(i.ToString(System.Globalization.CultureInfo.InvariantCulture), ((List<object?>)row["as_array_string"]!).Single());
            Assert.Equal(new[] { (byte)i, (byte)i }, (byte[])((List<object?>)row["as_array_binary"]!).Single()!);
            Assert.Equal((decimal)i, ((List<object?>)row["as_array_big_decimal"]!).Single());
        }
    }

    [Fact]
    public async Task Read_ArrayComplexObjects_ReturnsNestedListsMapsAndRecords()
    {
        var rows = await RowsAsync(GoldenData.Open("data-reader-array-complex-objects"));
        Assert.Equal(10, rows.Count);
        foreach (var row in rows)
        {
            var i = (int)row["i"]!;
            var d3 = (List<object?>)row["3d_int_list"]!;
            Assert.Equal(2, d3.Count);
            Assert.All(d3, l2 => Assert.All((List<object?>)l2!, l1 => Assert.Equal(new object?[] { i, i, i }, (List<object?>)l1!)));
            var d4 = (List<object?>)row["4d_int_list"]!;
            Assert.Equal(i, ((List<object?>)((List<object?>)((List<object?>)((List<object?>)d4[1]!)[1]!)[1]!))[2]);
            var maps = (List<object?>)row["list_of_maps"]!;
            Assert.Equal(2, maps.Count);
            Assert.All(maps, m => Assert.Equal((long)i, ((Dictionary<object, object?>)m!)[i.ToString(System.Globalization.CultureInfo.InvariantCulture)]));
            Assert.Equal(3, ((List<object?>)row["list_of_records"]!).Count);
        }
    }

    [Fact]
    public async Task Read_Map_ReturnsTypedKeysAndValues()
    {
        var rows = await RowsAsync(GoldenData.Open("data-reader-map"));
        Assert.Equal(10, rows.Count);
        foreach (var row in rows)
        {
            var i = (int)row["i"]!;
            Assert.Equal(i, ((Dictionary<object, object?>)row["a"]!)[i]);
            Assert.Equal((sbyte)i, ((Dictionary<object, object?>)row["b"]!)[(long)i]);
            Assert.Equal(i % 2 == 0, ((Dictionary<object, object?>)row["c"]!)[(short)i]);
            Assert.Equal((double)i, ((Dictionary<object, object?>)row["d"]!)[(float)i]);
            Assert.Equal((decimal)i, ((Dictionary<object, object?>)row["e"]!)[i.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            var f = (List<object?>)((Dictionary<object, object?>)row["f"]!)[i]!;
            Assert.Equal(Enumerable.Repeat(i, 3), f.Select(x => (int)((Dictionary<string, object?>)x!)["val"]!));
        }
    }

    [Fact]
    public async Task Read_NestedStruct_ReturnsStructs()
    {
        var rows = await RowsAsync(GoldenData.Open("data-reader-nested-struct"));
        Assert.Equal(Enumerable.Range(0, 10), rows.Select(r => (int)r["b"]!).Order());
        foreach (var row in rows)
        {
            var i = (int)row["b"]!;
            var a = (Dictionary<string, object?>)row["a"]!;
            Assert.Equal(i.ToString(System.Globalization.CultureInfo.InvariantCulture), a["aa"]);
            Assert.Equal(i.ToString(System.Globalization.CultureInfo.InvariantCulture), a["ab"]);
            var ac = (Dictionary<string, object?>)a["ac"]!;
            Assert.Equal(i, ac["aca"]);
            Assert.Equal((long)i, ac["acb"]);
        }
    }

    [Fact]
    public async Task Read_ArrayOfNulls_ReturnsNullElements()
    {
        var row = Assert.Single(await RowsAsync(GoldenData.Open("data-reader-nullable-field-invalid-schema-key")));
        Assert.Equal(new object?[] { null, null, null }, (List<object?>)row["array_can_contain_null"]!);
    }

    [Theory]
    [InlineData("data-reader-date-types-UTC", "", "UTC")]
    [InlineData("data-reader-date-types-Iceland", "", "Atlantic/Reykjavik")]
    [InlineData("data-reader-date-types-PST", "", "America/Los_Angeles")]
    [InlineData("data-reader-date-types-America", "Los_Angeles", "America/Los_Angeles")]
    [InlineData("data-reader-date-types-JST", "", "Asia/Tokyo")]
    [InlineData("data-reader-date-types-Etc", "GMT+9", "Etc/GMT+9")]
    [InlineData("data-reader-date-types-Asia", "Beirut", "Asia/Beirut")]
    public async Task Read_DateTypes_ReturnsInstantOfWriterLocalTime(string name, string sub, string zone)
    {
        var row = Assert.Single(await RowsAsync(GoldenData.Open(name, sub)));
        var tz = TimeZoneInfo.FindSystemTimeZoneById(zone);
        var local = new DateTime(2020, 1, 1, 8, 9, 10, DateTimeKind.Unspecified);
        Assert.Equal(new DateTimeOffset(local, tz.GetUtcOffset(local)).ToUniversalTime(), row["timestamp"]);
        Assert.Equal(new DateOnly(2020, 1, 1), row["date"]);
    }

    [Fact]
    public async Task Read_BasicDecimal_ReturnsDecimalsAndDecimalPartitions()
    {
        foreach (var name in new[] { "basic-decimal-table", "basic-decimal-table-legacy" })
        {
            var rows = (await RowsAsync(GoldenData.Open(name))).OrderBy(r => (decimal)r["part"]!).ToList();
            Assert.Equal([-2342342.23423m, 0.00004m, 234m, 2342222.23454m], rows.Select(r => (decimal)r["part"]!));
            // values beyond the column scale were rounded by Spark on write (0.001 in decimal(5,2) is 0.00)
            Assert.Equal([-999.99m, 0m, 1m, 111.11m], rows.Select(r => (decimal)r["col1"]!));
            Assert.Equal([-99999.99999m, 0m, 2m, 22222.22222m], rows.Select(r => (decimal)r["col2"]!));
            Assert.Equal([-9999999999.9999999999m, 0m, 3m, 3333333333.3333333333m], rows.Select(r => (decimal)r["col3"]!));
        }
    }

    [Fact]
    public async Task Read_DecimalDecodeBug124_ReturnsLargeDecimal()
    {
        var row = Assert.Single(await RowsAsync(GoldenData.Open("124-decimal-decode-bug")));
        Assert.Equal(1000000m, row["large_decimal"]);
    }

    [Fact]
    public async Task Read_IteratorBug125_ReturnsRowsAcrossEmptyFiles()
    {
        var rows = await RowsAsync(GoldenData.Open("125-iterator-bug"));
        Assert.Equal([1, 2, 3, 4, 5], rows.Select(r => (int)r["col1"]!).Order());
    }

    [Theory]
    [InlineData("table-with-columnmapping-mode-name")]
    [InlineData("table-with-columnmapping-mode-id")]
    public async Task Read_ColumnMapping_UsesLogicalNames(string name)
    {
        var table = GoldenData.Open(name);
        var snapshot = await table.GetSnapshotAsync();
        var rows = await table.ReadRowsAsync(snapshot);
        Assert.True(snapshot.ColumnMapping);
        Assert.Equal(6, rows.Count);
        foreach (var field in snapshot.Schema.Fields)
        {
            Assert.All(rows, r => Assert.True(r.ContainsKey(field.Name)));
        }

        // every primitive column has a value in at least one row (physical names were resolved)
        Assert.Contains(rows, r => r.Values.Any(v => v is not null));
        Assert.All(snapshot.Schema.Fields.Where(f => f.Type is Schema.PrimitiveType), f => Assert.Contains(rows, r => r[f.Name] is not null));
    }

    [Fact]
    public async Task Read_TimestampNtz_ReturnsLocalDateTimes()
    {
        var rows = await RowsAsync(GoldenData.Open("data-reader-timestamp_ntz"));
        Assert.Equal(9, rows.Count);
        Assert.Contains(rows, r => r["tsNtz"] is DateTime { Kind: DateTimeKind.Unspecified });
        Assert.Contains(rows, r => r["tsNtzPartition"] is DateTime);
    }

    [Fact]
    public async Task Read_TimestampPartitionIso8601_ParsesUtc()
    {
        var rows = await RowsAsync(GoldenData.Open("kernel-timestamp-partition-col-ISO8601"));
        Assert.Equal([new DateTimeOffset(2024, 1, 1, 10, 0, 0, TimeSpan.Zero), new DateTimeOffset(2024, 1, 2, 12, 30, 0, TimeSpan.Zero)],
            rows.Select(r => (DateTimeOffset)r["ts"]!).Order());
    }

    [Theory]
    [InlineData("kernel-timestamp-INT96")]
    [InlineData("kernel-timestamp-TIMESTAMP_MICROS")]
    [InlineData("kernel-timestamp-TIMESTAMP_MILLIS")]
    public async Task Read_TimestampEncodings_AgreeAcrossEncodings(string name)
    {
        var reference = (await RowsAsync(GoldenData.Open("kernel-timestamp-TIMESTAMP_MICROS"))).Select(r => string.Join('|', r.OrderBy(kv => kv.Key).Select(kv => kv.Value))).Order();
        var rows = (await RowsAsync(GoldenData.Open(name))).Select(r => string.Join('|', r.OrderBy(kv => kv.Key).Select(kv => kv.Value))).Order();
        Assert.Equal(reference, rows);
    }

    [Fact]
    public async Task Read_KernelTimestampUtc_PartitionAndDataAgree()
    {
        var rows = (await RowsAsync(GoldenData.Open("kernel-timestamp-TIMESTAMP_MICROS"))).OrderBy(r => (int)r["id"]!).ToList();
        static DateTimeOffset Utc(int y, int mo, int d, int h, int mi, int s, int ms = 0) => new(y, mo, d, h, mi, s, ms, TimeSpan.Zero);
        Assert.Equal([Utc(2020, 1, 1, 8, 9, 10, 1), Utc(2021, 10, 1, 8, 9, 20), Utc(2021, 10, 1, 8, 9, 20), Utc(1969, 1, 1, 0, 0, 0)],
            rows.Take(4).Select(r => (DateTimeOffset)r["part"]!));
        Assert.Equal([Utc(2020, 2, 1, 8, 9, 10), Utc(1999, 1, 1, 9, 0, 0), Utc(2000, 1, 1, 9, 0, 0), Utc(1969, 1, 1, 0, 0, 0)],
            rows.Take(4).Select(r => (DateTimeOffset)r["time"]!));
        Assert.Null(rows[4]["part"]);
        Assert.Null(rows[4]["time"]);
    }

    [Fact]
    public async Task Read_KernelTimestampPst_DataColumnIsPacificInstant()
    {
        var rows = (await RowsAsync(GoldenData.Open("kernel-timestamp-PST"))).OrderBy(r => (int)r["id"]!).ToList();
        var pst = TimeZoneInfo.FindSystemTimeZoneById("America/Los_Angeles");
        var local = new DateTime(2020, 2, 1, 8, 9, 10);
        Assert.Equal(new DateTimeOffset(local, pst.GetUtcOffset(local)).ToUniversalTime(), rows[0]["time"]);
    }

    [Fact]
    public async Task Read_ParquetAllTypes_Reads200Rows()
    {
        Assert.Equal(200, (await RowsAsync(GoldenData.Open("parquet-all-types"))).Count);
    }
}
