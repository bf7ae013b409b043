using System.Collections;
using System.Globalization;
using System.Text.Json.Nodes;
using Lifeline.Lake.Schema;
using Parquet;
using Parquet.Schema;

namespace Lifeline.Lake.Parquet;

/// <summary>Writes rows (dictionaries by column name) with a Delta schema into a Parquet file, with full nesting (Dremel striping).</summary>
internal static class ParquetFileWriter
{
    private static readonly ParquetOptions Options = new() { CompressionMethod = CompressionMethod.Snappy };

    /// <summary>Encodes the rows; returns the file bytes and the Delta statistics JSON (numRecords, minValues, maxValues, nullCount).</summary>
    public static Task<(byte[] Data, string Stats)> WriteAsync(StructType schema, IReadOnlyList<IReadOnlyDictionary<string, object?>> rows, CancellationToken cancellationToken) =>
        WriteAsync(schema, Enumerate(rows), cancellationToken);

    /// <summary>
    /// Encodes the rows as they come: only the row group being filled is held (about <see cref="RowGroupBytes"/> of
    /// values), never the rows already written, so OPTIMIZE streams the files it compacts through here (it held a
    /// whole output file's rows as dictionaries: over 1 GB for 600 one-second files of predictions).
    /// </summary>
    public static async Task<(byte[] Data, string Stats)> WriteAsync(StructType schema, IAsyncEnumerable<IReadOnlyDictionary<string, object?>> rows, CancellationToken cancellationToken)
    {
        using var stream = new MemoryStream();
        var (_, stats) = await WriteAsync(schema, rows, stream, cancellationToken);
        return (stream.ToArray(), stats);
    }

    /// <summary>
    /// As <see cref="WriteAsync(StructType, IAsyncEnumerable{IReadOnlyDictionary{string, object?}}, CancellationToken)"/>,
    /// into <paramref name="output"/> (a file OPTIMIZE spools its output to: a file of tens of MiB grown in a
    /// MemoryStream allocated about three times its size in large arrays, and RSS stepped up at every compaction);
    /// returns the bytes written and the statistics JSON.
    /// </summary>
    public static async Task<(long Length, string Stats)> WriteAsync(StructType schema, IAsyncEnumerable<IReadOnlyDictionary<string, object?>> rows, Stream output, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(output);
        var start = output.Position;
        var parquetSchema = ParquetSchemaMapper.ToParquet(schema);
        var nodes = new List<(Schema.StructField Field, LevelNode Node)>();
        for (var i = 0; i < schema.Fields.Count; i++)
        {
            nodes.Add((schema.Fields[i], ParquetSchemaMapper.Build(parquetSchema.Fields[i], schema.Fields[i].Type, false)));
        }

        var stats = new StatsBuilder(schema);
        await using (var writer = await ParquetWriter.CreateAsync(parquetSchema, output, Options, false, cancellationToken))
        {
            var columns = new Dictionary<LeafNode, LeafBuffer>();
            foreach (var (_, node) in nodes)
            {
                foreach (var leaf in node.Leaves)
                {
                    columns[leaf] = new LeafBuffer(1024);
                }
            }

            // Row groups of bounded size: Parquet.Net writes a column chunk as one page and compresses it into a buffer
            // rented from ArrayPool<byte>.Shared, which keeps one array of each size per thread. One row group for all
            // rows made those rents grow with the file (a checkpoint grows with the table), and every thread of a
            // long-lived process came to keep such an array (docs/benchmarks.md, "Soak").
            long bytes = 0;
            var buffered = 0;
            await foreach (var row in rows.WithCancellation(cancellationToken))
            {
                stats.Add(row);
                foreach (var (field, node) in nodes)
                {
                    row.TryGetValue(field.Name, out var value);
                    bytes += Stripe(node, value, 0, 0, columns, field.Name);
                }

                buffered++;
                if (bytes >= RowGroupBytes)
                {
                    await WriteRowGroupAsync(writer, nodes, columns, cancellationToken);
                    bytes = 0;
                    buffered = 0;
                }
            }

            if (buffered > 0 || stats.Rows == 0)
            {
                await WriteRowGroupAsync(writer, nodes, columns, cancellationToken);
            }
        }

        return (output.Position - start, stats.ToJson());
    }

    /// <summary>A list of rows as the stream <see cref="WriteAsync(StructType, IAsyncEnumerable{IReadOnlyDictionary{string, object?}}, CancellationToken)"/> takes.</summary>
    internal static async IAsyncEnumerable<IReadOnlyDictionary<string, object?>> Enumerate(IReadOnlyList<IReadOnlyDictionary<string, object?>> rows)
    {
        foreach (var row in rows)
        {
            yield return row;
        }

        await Task.CompletedTask;
    }

    /// <summary>
    /// The values a row group holds at most, about (strings and binaries by length, other values as 8 bytes, plus
    /// their levels): 1 MiB keeps every column chunk's page, and the buffer Parquet.Net rents to compress it, at most
    /// about that size whatever the number of rows.
    /// </summary>
    internal const long RowGroupBytes = 1 << 20;

    private const int LevelBytes = 8; // a definition and a repetition level

    private static async Task WriteRowGroupAsync(ParquetWriter writer, List<(Schema.StructField Field, LevelNode Node)> nodes,
        Dictionary<LeafNode, LeafBuffer> columns, CancellationToken cancellationToken)
    {
        using var rg = writer.CreateRowGroup();
        foreach (var (_, node) in nodes)
        {
            foreach (var leaf in node.Leaves)
            {
                await WriteLeafAsync(rg, leaf, columns[leaf], cancellationToken);
                columns[leaf].Clear();
            }
        }
    }

    private sealed class LeafBuffer(int capacity)
    {
        public List<object> Values { get; } = new(capacity);
        public List<int> Def { get; } = new(capacity);
        public List<int> Rep { get; } = new(capacity);

        public void Clear()
        {
            Values.Clear();
            Def.Clear();
            Rep.Clear();
        }
    }

    /// <summary>Stripes one value into its leaves' buffers; returns about how many bytes it added (see <see cref="RowGroupBytes"/>).</summary>
    private static long Stripe(LevelNode node, object? value, int rep, int parentDef, Dictionary<LeafNode, LeafBuffer> columns, string path)
    {
        if (value is null)
        {
            if (!node.Nullable)
            {
                throw new ArgumentException($"column '{path}' is not nullable but the value is null");
            }

            foreach (var leaf in node.Leaves)
            {
                columns[leaf].Def.Add(parentDef);
                columns[leaf].Rep.Add(rep);
            }

            return LevelBytes * node.Leaves.Count;
        }

        switch (node)
        {
            case LeafNode leaf:
                var buffer = columns[leaf];
                buffer.Values.Add(value);
                buffer.Def.Add(leaf.PresentDef);
                buffer.Rep.Add(rep);
                return LevelBytes + value switch
                {
                    string str => str.Length,
                    byte[] bin => bin.Length,
                    _ => 8,
                };
            case StructNode s:
                long structBytes = 0;
                foreach (var (name, child) in s.Children)
                {
                    structBytes += Stripe(child, GetMember(value, name, path), rep, s.PresentDef, columns, path + "." + name);
                }

                return structBytes;
            case ListNode l:
                var items = value as IList ?? throw new ArgumentException($"column '{path}' expects a list, got {value.GetType().Name}");
                if (items.Count == 0)
                {
                    foreach (var lf in l.Leaves)
                    {
                        columns[lf].Def.Add(l.PresentDef);
                        columns[lf].Rep.Add(rep);
                    }

                    return LevelBytes * l.Leaves.Count;
                }

                long listBytes = 0;
                for (var i = 0; i < items.Count; i++)
                {
                    listBytes += Stripe(l.Item, items[i], i == 0 ? rep : l.RepLevel, l.ElementDef, columns, path + "[]");
                }

                return listBytes;
            case MapNode m:
                var map = value as IDictionary ?? throw new ArgumentException($"column '{path}' expects a map, got {value.GetType().Name}");
                if (map.Count == 0)
                {
                    foreach (var lf in m.Leaves)
                    {
                        columns[lf].Def.Add(m.PresentDef);
                        columns[lf].Rep.Add(rep);
                    }

                    return LevelBytes * m.Leaves.Count;
                }

                long mapBytes = 0;
                var first = true;
                foreach (DictionaryEntry entry in map)
                {
                    var r = first ? rep : m.RepLevel;
                    first = false;
                    mapBytes += Stripe(m.Key, entry.Key, r, m.ElementDef, columns, path + ".key");
                    mapBytes += Stripe(m.Value, entry.Value, r, m.ElementDef, columns, path + ".value");
                }

                return mapBytes;
            default:
                return 0;
        }
    }

    private static object? GetMember(object value, string name, string path) => value switch
    {
        IReadOnlyDictionary<string, object?> d => d.TryGetValue(name, out var v) ? v : null,
        IDictionary d => d.Contains(name) ? d[name] : null,
        _ => throw new ArgumentException($"column '{path}' expects a struct (dictionary), got {value.GetType().Name}"),
    };

    private static async Task WriteLeafAsync(ParquetRowGroupWriter rg, LeafNode leaf, LeafBuffer buffer, CancellationToken ct)
    {
        var df = leaf.Field;
        int[]? def = df.MaxDefinitionLevel > 0 ? [.. buffer.Def] : null;
        int[]? rep = df.MaxRepetitionLevel > 0 ? [.. buffer.Rep] : null;
        var t = df.ClrType;
        var v = buffer.Values;
        var inv = CultureInfo.InvariantCulture;
        if (t == typeof(ReadOnlyMemory<char>) || t == typeof(string))
        {
            await WriteColumnAsync<ReadOnlyMemory<char>>(rg, df, v.Select(x => (Convert.ToString(x, inv) ?? "").AsMemory()).ToArray(), def, rep, ct);
        }
        else if (t == typeof(ReadOnlyMemory<byte>) || t == typeof(byte[]))
        {
            await WriteColumnAsync<ReadOnlyMemory<byte>>(rg, df, v.Select(x => new ReadOnlyMemory<byte>((byte[])x)).ToArray(), def, rep, ct);
        }
        else if (t == typeof(DateTime))
        {
            await WriteColumnAsync<DateTime>(rg, df, v.Select(x => x switch
            {
                DateTimeOffset o => o.UtcDateTime,
                DateTime d => d,
                _ => throw new ArgumentException($"column '{df.Path}' expects a timestamp"),
            }).ToArray(), def, rep, ct);
        }
        else if (t == typeof(DateOnly))
        {
            await WriteColumnAsync<DateOnly>(rg, df, v.Select(x => x switch
            {
                DateOnly d => d,
                DateTime d => DateOnly.FromDateTime(d),
                DateTimeOffset o => DateOnly.FromDateTime(o.UtcDateTime),
                _ => throw new ArgumentException($"column '{df.Path}' expects a date"),
            }).ToArray(), def, rep, ct);
        }
        else if (t == typeof(bool))
        {
            await WriteColumnAsync<bool>(rg, df, v.Select(x => (bool)x).ToArray(), def, rep, ct);
        }
        else if (t == typeof(long))
        {
            await WriteColumnAsync<long>(rg, df, v.Select(x => Convert.ToInt64(x, inv)).ToArray(), def, rep, ct);
        }
        else if (t == typeof(int))
        {
            await WriteColumnAsync<int>(rg, df, v.Select(x => Convert.ToInt32(x, inv)).ToArray(), def, rep, ct);
        }
        else if (t == typeof(short))
        {
            await WriteColumnAsync<short>(rg, df, v.Select(x => Convert.ToInt16(x, inv)).ToArray(), def, rep, ct);
        }
        else if (t == typeof(sbyte))
        {
            await WriteColumnAsync<sbyte>(rg, df, v.Select(x => Convert.ToSByte(x, inv)).ToArray(), def, rep, ct);
        }
        else if (t == typeof(float))
        {
            await WriteColumnAsync<float>(rg, df, v.Select(x => Convert.ToSingle(x, inv)).ToArray(), def, rep, ct);
        }
        else if (t == typeof(double))
        {
            await WriteColumnAsync<double>(rg, df, v.Select(x => Convert.ToDouble(x, inv)).ToArray(), def, rep, ct);
        }
        else if (t == typeof(decimal))
        {
            await WriteColumnAsync<decimal>(rg, df, v.Select(x => Convert.ToDecimal(x, inv)).ToArray(), def, rep, ct);
        }
        else
        {
            throw new NotSupportedException($"cannot write Parquet column type {t.Name} ({df.Path})");
        }
    }

    private static async Task WriteColumnAsync<T>(ParquetRowGroupWriter rg, DataField df, T[] values, int[]? def, int[]? rep, CancellationToken ct)
        where T : struct
    {
        if (def is null && rep is null)
        {
            // a required flat column: the plain overload sets the row group's row count
            await rg.WriteAsync<T>(df, values, null, null, ct);
        }
        else
        {
            await rg.WriteAllPartsAsync<T>(df, values, def, rep, ct);
        }
    }

    /// <summary>Delta file statistics gathered row by row: numRecords, and per top-level primitive column its null count
    /// and (not for binary and boolean) its minimum and maximum.</summary>
    private sealed class StatsBuilder(StructType schema)
    {
        private readonly List<(string Name, bool MinMax)> _fields = [.. schema.Fields
            .Where(f => f.Type is PrimitiveType)
            .Select(f => (f.Name, ((PrimitiveType)f.Type).Name is not ("binary" or "boolean")))];

        private readonly Dictionary<string, (long Nulls, IComparable? Lo, IComparable? Hi)> _columns = new(StringComparer.Ordinal);

        public long Rows { get; private set; }

        public void Add(IReadOnlyDictionary<string, object?> row)
        {
            Rows++;
            foreach (var (name, minMax) in _fields)
            {
                var (nulls, lo, hi) = _columns.TryGetValue(name, out var c) ? c : default;
                if (!row.TryGetValue(name, out var value) || value is null)
                {
                    nulls++;
                }
                else if (minMax)
                {
                    var v = (IComparable)value;
                    if (lo is null || v.CompareTo(lo) < 0)
                    {
                        lo = v;
                    }

                    if (hi is null || v.CompareTo(hi) > 0)
                    {
                        hi = v;
                    }
                }

                _columns[name] = (nulls, lo, hi);
            }
        }

        public string ToJson()
        {
            var min = new JsonObject();
            var max = new JsonObject();
            var nulls = new JsonObject();
            foreach (var (name, _) in _fields)
            {
                var (n, lo, hi) = _columns.TryGetValue(name, out var c) ? c : default;
                nulls[name] = n;
                if (lo is not null && hi is not null && StatValue(lo) is { } l && StatValue(hi) is { } h)
                {
                    min[name] = l;
                    max[name] = h;
                }
            }

            return new JsonObject { ["numRecords"] = Rows, ["minValues"] = min, ["maxValues"] = max, ["nullCount"] = nulls }.ToJsonString();
        }
    }

    private static JsonNode? StatValue(object value) => value switch
    {
        string s => s.Length <= 32 ? JsonValue.Create(s) : null,
        long x => JsonValue.Create(x),
        int x => JsonValue.Create(x),
        short x => JsonValue.Create(x),
        sbyte x => JsonValue.Create(x),
        float x => float.IsFinite(x) ? JsonValue.Create(x) : null,
        double x => double.IsFinite(x) ? JsonValue.Create(x) : null,
        decimal x => JsonValue.Create(x),
        DateOnly d => JsonValue.Create(d.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)),
        DateTimeOffset t => JsonValue.Create(t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture)),
        DateTime t => JsonValue.Create(t.ToString("yyyy-MM-dd'T'HH:mm:ss.fff", CultureInfo.InvariantCulture)),
        _ => null,
    };
}
