using System.Collections;
using Lifeline.Lake.Schema;
using Parquet;
using Parquet.Schema;

namespace Lifeline.Lake.Parquet;

/// <summary>A column-oriented batch of rows (one Parquet row group): top-level column name → one value per row.</summary>
public sealed class ColumnBatch
{
    /// <summary>Creates a batch.</summary>
    public ColumnBatch(int rowCount, IReadOnlyDictionary<string, IList> columns)
    {
        RowCount = rowCount;
        Columns = columns;
    }

    /// <summary>Number of rows.</summary>
    public int RowCount { get; }

    /// <summary>The values of each column, one list entry per row. Top-level primitive columns are typed arrays
    /// (<c>int?[]</c>, <c>long?[]</c>, <c>string?[]</c>, <c>DateTimeOffset?[]</c>, ...), others <c>object?[]</c>. Primitives as CLR values (string, long, int, short, sbyte, float, double,
    /// decimal, bool, byte[], DateOnly, DateTimeOffset for timestamp, DateTime for timestamp_ntz), structs as
    /// <c>Dictionary&lt;string, object?&gt;</c>, arrays as <c>List&lt;object?&gt;</c>, maps as <c>Dictionary&lt;object, object?&gt;</c>.</summary>
    public IReadOnlyDictionary<string, IList> Columns { get; }

    /// <summary>Row <paramref name="index"/> as a dictionary.</summary>
    public Dictionary<string, object?> Row(int index)
    {
        var row = new Dictionary<string, object?>(Columns.Count, StringComparer.Ordinal);
        foreach (var (name, values) in Columns)
        {
            row[name] = values[index];
        }

        return row;
    }
}

/// <summary>Reads Parquet files into column batches with full nesting (Dremel record assembly over raw levels).</summary>
internal static class ParquetFileReader
{
    private static readonly ParquetOptions Options = new() { UseDateOnlyTypeForDates = true };
    private static readonly ParquetOptions BigDecimalOptions = new() { UseDateOnlyTypeForDates = true, UseBigDecimal = true };

    /// <summary>Reads the footer only (throws when it is unreadable).</summary>
    public static async Task<(ParquetSchema Schema, long Rows)> ReadFooterAsync(byte[] data, CancellationToken cancellationToken)
    {
        using var stream = new MemoryStream(data, writable: false);
        await using var reader = await ParquetReader.CreateAsync(stream, Options, leaveStreamOpen: true, cancellationToken);
        long rows = 0;
        for (var i = 0; i < reader.RowGroupCount; i++)
        {
            using var rg = reader.OpenRowGroupReader(i);
            rows += rg.RowCount;
        }

        return (reader.Schema, rows);
    }

    /// <summary>
    /// Reads every row group. <paramref name="schema"/> (optional) guides value types and names (physical names under
    /// column mapping); <paramref name="columns"/> (optional) limits the top-level columns read.
    /// </summary>
    public static async IAsyncEnumerable<ColumnBatch> ReadAsync(
        byte[] data, StructType? schema, bool columnMapping, IReadOnlySet<string>? columns,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var stream = new MemoryStream(data, writable: false);
        var reader = await ParquetReader.CreateAsync(stream, Options, leaveStreamOpen: true, cancellationToken);
        if (reader.Schema.DataFields.Any(f => f is DecimalDataField { Precision: > 28 }))
        {
            // .NET decimal holds 28 digits: such files are read with Parquet.Net's BigDecimal (then SqlDecimal)
            await reader.DisposeAsync();
            stream.Position = 0;
            reader = await ParquetReader.CreateAsync(stream, BigDecimalOptions, leaveStreamOpen: true, cancellationToken);
        }

        await using var readerScope = reader;
        var nodes = new List<(string Name, LevelNode Node)>();
        foreach (var field in reader.Schema.Fields)
        {
            var deltaField = schema?.Fields.FirstOrDefault(f => f.PhysicalName(columnMapping) == field.Name)
                ?? schema?.Fields.FirstOrDefault(f => string.Equals(f.PhysicalName(columnMapping), field.Name, StringComparison.OrdinalIgnoreCase));
            var name = deltaField?.Name ?? field.Name;
            if (columns is not null && !columns.Contains(name))
            {
                continue;
            }

            nodes.Add((name, ParquetSchemaMapper.Build(field, deltaField?.Type, columnMapping)));
        }

        for (var g = 0; g < reader.RowGroupCount; g++)
        {
            using var rg = reader.OpenRowGroupReader(g);
            var rowCount = checked((int)rg.RowCount);
            var result = new Dictionary<string, IList>(nodes.Count, StringComparer.Ordinal);
            foreach (var (name, node) in nodes)
            {
                if (node is LeafNode { MaxRep: 0 } flatLeaf && await ReadFlatAsync(rg, flatLeaf, rowCount, cancellationToken) is { } flatValues)
                {
                    result[name] = flatValues;
                    continue;
                }

                var cursors = new Dictionary<LeafNode, LeafCursor>();
                foreach (var leaf in node.Leaves)
                {
                    cursors[leaf] = await ReadLeafAsync(rg, leaf, cancellationToken);
                }

                var values = new object?[rowCount];
                if (node is LeafNode flat && flat.MaxRep == 0)
                {
                    var c = cursors[flat];
                    for (var r = 0; r < rowCount; r++)
                    {
                        values[r] = c.Def is null || c.Def[r] == flat.PresentDef ? c.Values[c.ValuePos++] : null;
                    }
                }
                else
                {
                    var assembler = new Assembler(cursors);
                    for (var r = 0; r < rowCount; r++)
                    {
                        values[r] = assembler.Read(node);
                    }
                }

                result[name] = values;
            }

            yield return new ColumnBatch(rowCount, result);
        }
    }

    internal sealed class LeafCursor
    {
        public required object?[] Values { get; init; }
        public int[]? Def { get; init; }
        public int[]? Rep { get; init; }
        public int Count { get; init; }
        public int Pos { get; set; }
        public int ValuePos { get; set; }

        public int CurrentDef(int maxDef) => Def is null ? maxDef : Def[Pos];
    }

    private sealed class Assembler(Dictionary<LeafNode, LeafCursor> cursors)
    {
        public object? Read(LevelNode node)
        {
            var first = node.Leaves[0];
            var c = cursors[first];
            var d = c.CurrentDef(first.PresentDef);
            if (d < node.PresentDef)
            {
                SkipOne(node);
                return null;
            }

            switch (node)
            {
                case LeafNode leaf:
                    c.Pos++;
                    return c.Values[c.ValuePos++];
                case StructNode s:
                    var dict = new Dictionary<string, object?>(s.Children.Count, StringComparer.Ordinal);
                    foreach (var (name, child) in s.Children)
                    {
                        dict[name] = Read(child);
                    }

                    return dict;
                case ListNode l:
                    var list = new List<object?>();
                    if (d < l.ElementDef)
                    {
                        SkipOne(node);
                        return list;
                    }

                    do
                    {
                        list.Add(Read(l.Item));
                    }
                    while (c.Pos < c.Count && c.Rep is not null && c.Rep[c.Pos] == l.RepLevel);

                    return list;
                case MapNode m:
                    var map = new Dictionary<object, object?>();
                    if (d < m.ElementDef)
                    {
                        SkipOne(node);
                        return map;
                    }

                    do
                    {
                        var key = Read(m.Key) ?? throw new DeltaProtocolException("a map key is null");
                        map[key] = Read(m.Value);
                    }
                    while (c.Pos < c.Count && c.Rep is not null && c.Rep[c.Pos] == m.RepLevel);

                    return map;
                default:
                    throw new InvalidOperationException();
            }
        }

        private void SkipOne(LevelNode node)
        {
            foreach (var leaf in node.Leaves)
            {
                var lc = cursors[leaf];
                if (lc.CurrentDef(leaf.PresentDef) == leaf.PresentDef)
                {
                    lc.ValuePos++;
                }

                lc.Pos++;
            }
        }
    }

    /// <summary>
    /// The fast path for a top-level primitive column: Parquet.Net decodes straight into a typed nullable array,
    /// converted only when the Delta type asks for it. Returns null for types it does not handle.
    /// </summary>
    private static async Task<IList?> ReadFlatAsync(ParquetRowGroupReader rg, LeafNode leaf, int n, CancellationToken ct)
    {
        var df = leaf.Field;
        var t = df.ClrType;
        if (t == typeof(ReadOnlyMemory<char>))
        {
            var buffer = new string?[n];
            await rg.ReadAsync(df, buffer.AsMemory(), null, ct);
            return buffer;
        }

        var delta = leaf.DeltaType;
        if (t == typeof(DateTime))
        {
            var raw = await ReadTypedAsync<DateTime>(rg, df, n, ct);
            switch (delta?.Name)
            {
                case "timestamp_ntz":
                    return Array.ConvertAll(raw, v => v is { } d ? DateTime.SpecifyKind(d, DateTimeKind.Unspecified) : (DateTime?)null);
                case "date":
                    return Array.ConvertAll(raw, v => v is { } d ? DateOnly.FromDateTime(d) : (DateOnly?)null);
                default:
                    return Array.ConvertAll(raw, v => v is { } d ? new DateTimeOffset(DateTime.SpecifyKind(d, DateTimeKind.Utc)) : (DateTimeOffset?)null);
            }
        }

        var same = delta is null || delta.Name switch
        {
            "long" => t == typeof(long),
            "integer" => t == typeof(int),
            "short" => t == typeof(short),
            "byte" => t == typeof(sbyte),
            "double" => t == typeof(double),
            "float" => t == typeof(float),
            "boolean" => t == typeof(bool),
            "date" => t == typeof(DateOnly),
            _ => delta.IsDecimal && t == typeof(decimal),
        };
        if (!same)
        {
            return null; // type widening and the like go through the general path, which converts per value
        }

        return t == typeof(int) ? await ReadTypedAsync<int>(rg, df, n, ct)
            : t == typeof(long) ? await ReadTypedAsync<long>(rg, df, n, ct)
            : t == typeof(double) ? await ReadTypedAsync<double>(rg, df, n, ct)
            : t == typeof(float) ? await ReadTypedAsync<float>(rg, df, n, ct)
            : t == typeof(bool) ? await ReadTypedAsync<bool>(rg, df, n, ct)
            : t == typeof(short) ? await ReadTypedAsync<short>(rg, df, n, ct)
            : t == typeof(sbyte) ? await ReadTypedAsync<sbyte>(rg, df, n, ct)
            : t == typeof(decimal) ? await ReadTypedAsync<decimal>(rg, df, n, ct)
            : t == typeof(DateOnly) ? await ReadTypedAsync<DateOnly>(rg, df, n, ct)
            : null;
    }

    private static async Task<T?[]> ReadTypedAsync<T>(ParquetRowGroupReader rg, DataField df, int n, CancellationToken ct)
        where T : struct
    {
        var buffer = new T?[n];
        if (df.MaxDefinitionLevel == 0)
        {
            var required = new T[n];
            await rg.ReadAsync<T>(df, required.AsMemory(), null, ct);
            for (var i = 0; i < n; i++)
            {
                buffer[i] = required[i];
            }

            return buffer;
        }

        await rg.ReadAsync<T>(df, buffer.AsMemory(), null, ct);
        return buffer;
    }

    private static async Task<LeafCursor> ReadLeafAsync(ParquetRowGroupReader rg, LeafNode leaf, CancellationToken ct)
    {
        var df = leaf.Field;
        var meta = rg.GetMetadata(df)?.MetaData ?? throw new DeltaProtocolException($"column '{df.Path}' has no metadata");
        var n = checked((int)meta.NumValues);
        var t = df.ClrType;
        var (values, def, rep) =
            t == typeof(bool) ? await ReadAsync<bool>(rg, df, n, ct) :
            t == typeof(sbyte) ? await ReadAsync<sbyte>(rg, df, n, ct) :
            t == typeof(byte) ? await ReadAsync<byte>(rg, df, n, ct) :
            t == typeof(short) ? await ReadAsync<short>(rg, df, n, ct) :
            t == typeof(ushort) ? await ReadAsync<ushort>(rg, df, n, ct) :
            t == typeof(int) ? await ReadAsync<int>(rg, df, n, ct) :
            t == typeof(uint) ? await ReadAsync<uint>(rg, df, n, ct) :
            t == typeof(long) ? await ReadAsync<long>(rg, df, n, ct) :
            t == typeof(ulong) ? await ReadAsync<ulong>(rg, df, n, ct) :
            t == typeof(float) ? await ReadAsync<float>(rg, df, n, ct) :
            t == typeof(double) ? await ReadAsync<double>(rg, df, n, ct) :
            t == typeof(decimal) ? await ReadAsync<decimal>(rg, df, n, ct) :
            t == typeof(global::Parquet.Data.BigDecimal) ? await ReadAsync<global::Parquet.Data.BigDecimal>(rg, df, n, ct) :
            t == typeof(DateTime) ? await ReadAsync<DateTime>(rg, df, n, ct) :
            t == typeof(DateOnly) ? await ReadAsync<DateOnly>(rg, df, n, ct) :
            t == typeof(TimeSpan) ? await ReadAsync<TimeSpan>(rg, df, n, ct) :
            t == typeof(TimeOnly) ? await ReadAsync<TimeOnly>(rg, df, n, ct) :
            t == typeof(Guid) ? await ReadAsync<Guid>(rg, df, n, ct) :
            t == typeof(ReadOnlyMemory<char>) ? await ReadAsync<ReadOnlyMemory<char>>(rg, df, n, ct) :
            t == typeof(ReadOnlyMemory<byte>) ? await ReadAsync<ReadOnlyMemory<byte>>(rg, df, n, ct) :
            throw new DeltaProtocolException($"unsupported Parquet column type {t.Name} for column '{df.Path}'");
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = ValueConverter.FromParquet(values[i], leaf.DeltaType);
        }

        return new LeafCursor { Values = values, Def = df.MaxDefinitionLevel == 0 ? null : def, Rep = df.MaxRepetitionLevel == 0 ? null : rep, Count = n };
    }

    private static async Task<(object?[] Values, int[] Def, int[] Rep)> ReadAsync<T>(ParquetRowGroupReader rg, DataField df, int n, CancellationToken ct)
        where T : struct
    {
        var buffer = new T[n];
        var def = new int[n];
        var rep = new int[n];
        await rg.ReadRawAsync<T>(df, buffer, def, rep, ct);
        var count = n;
        if (df.MaxDefinitionLevel > 0)
        {
            count = 0;
            foreach (var d in def)
            {
                if (d == df.MaxDefinitionLevel)
                {
                    count++;
                }
            }
        }

        var values = new object?[count];
        for (var i = 0; i < count; i++)
        {
            values[i] = buffer[i];
        }

        return (values, def, rep);
    }
}
