using Lifeline.Lake.Parquet;
using Lifeline.Lake.Tests.Write;
using Parquet;

namespace Lifeline.Lake.Tests.Parquet;

/// <summary>
/// The writer cuts row groups at about <see cref="ParquetFileWriter.RowGroupBytes"/> of values, so a file's column
/// chunks (and the compression buffers Parquet.Net rents for them) stay that size whatever the number of rows.
/// </summary>
public sealed class RowGroupTests
{
    [Fact]
    public async Task Write_ManyLargeRows_CutsRowGroupsOfBoundedSize_AndReadsBackEveryRow()
    {
        var padding = new string('x', 1000);
        var rows = Enumerable.Range(0, 5000).Select(i =>
        {
            var row = WriteTests.AllTypesRow(i);
            row["name"] = $"{i}-{padding}";
            return (IReadOnlyDictionary<string, object?>)row;
        }).ToList();

        var (data, _) = await ParquetFileWriter.WriteAsync(WriteTests.AllTypes, rows, CancellationToken.None);

        using (var stream = new MemoryStream(data))
        await using (var reader = await ParquetReader.CreateAsync(stream))
        {
            Assert.True(reader.RowGroupCount >= 4, $"{reader.RowGroupCount} row groups for ~5 MB of values");
            var name = reader.Schema.DataFields.Single(f => f.Name == "name");
            for (var g = 0; g < reader.RowGroupCount; g++)
            {
                using var rg = reader.OpenRowGroupReader(g);
                var chunk = rg.GetMetadata(name)!.MetaData!.TotalUncompressedSize;
                Assert.True(chunk <= ParquetFileWriter.RowGroupBytes * 11 / 10, $"row group {g}: the name column's chunk is {chunk} bytes");
            }
        }

        var read = new List<Dictionary<string, object?>>();
        await foreach (var batch in ParquetFileReader.ReadAsync(data, WriteTests.AllTypes, false, null, CancellationToken.None))
        {
            for (var i = 0; i < batch.RowCount; i++)
            {
                read.Add(batch.Row(i));
            }
        }

        Assert.Equal(rows.Count, read.Count);
        for (var i = 0; i < rows.Count; i++)
        {
            Assert.Equal(rows[i]["id"], read[i]["id"]);
            Assert.Equal(rows[i]["name"], read[i]["name"]);
            Assert.Equal(((List<object?>)rows[i]["tags"]!).Count, ((System.Collections.ICollection)read[i]["tags"]!).Count);
            Assert.Equal(rows[i]["point"] is null, read[i]["point"] is null);
        }
    }

    [Fact]
    public async Task Write_AStreamOfRows_HoldsOnlyTheRowGroupBeingFilled()
    {
        // OPTIMIZE streams the files it compacts through the writer: the rows already written must not be kept alive
        var padding = new string('x', 1000);
        var early = new List<WeakReference>();
        var collectedBeforeTheEnd = false;
        async IAsyncEnumerable<IReadOnlyDictionary<string, object?>> Rows()
        {
            for (var i = 0; i < 5000; i++)
            {
                if (i == 4000)
                {
                    GC.Collect();
                    GC.WaitForPendingFinalizers();
                    GC.Collect();
                    collectedBeforeTheEnd = early.All(w => !w.IsAlive);
                }

                var row = WriteTests.AllTypesRow(i);
                row["name"] = $"{i}-{padding}";
                if (i < 100)
                {
                    early.Add(new WeakReference(row));
                }

                yield return row;
                await Task.Yield();
            }
        }

        var (data, stats) = await ParquetFileWriter.WriteAsync(WriteTests.AllTypes, Rows(), CancellationToken.None);

        Assert.True(collectedBeforeTheEnd, "the first rows were still alive after 4 row groups had been written");
        Assert.Equal(5000L, (await ParquetFileReader.ReadFooterAsync(data, CancellationToken.None)).Rows);
        Assert.Contains("\"numRecords\":5000", stats, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Write_FewRows_IsOneRowGroup_AndNoRowsIsAValidEmptyFile()
    {
        var rows = Enumerable.Range(0, 10).Select(i => (IReadOnlyDictionary<string, object?>)WriteTests.AllTypesRow(i)).ToList();
        var (few, _) = await ParquetFileWriter.WriteAsync(WriteTests.AllTypes, rows, CancellationToken.None);
        var (none, _) = await ParquetFileWriter.WriteAsync(WriteTests.AllTypes, [], CancellationToken.None);

        Assert.Equal(10L, (await ParquetFileReader.ReadFooterAsync(few, CancellationToken.None)).Rows);
        using var stream = new MemoryStream(few);
        await using var reader = await ParquetReader.CreateAsync(stream);
        Assert.Equal(1, reader.RowGroupCount);
        Assert.Equal(0L, (await ParquetFileReader.ReadFooterAsync(none, CancellationToken.None)).Rows);
    }
}
