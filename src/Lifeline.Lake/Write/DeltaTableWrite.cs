using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Lifeline.Lake.Parquet;
using Lifeline.Lake.Protocol;
using Lifeline.Lake.Schema;

namespace Lifeline.Lake;

/// <summary>Options of one write.</summary>
public sealed record WriteOptions
{
    /// <summary>Idempotent writer id: with <see cref="TxnVersion"/>, a write whose version the table already has is skipped.</summary>
    public string? AppId { get; init; }

    /// <summary>The writer's monotonically increasing version for <see cref="AppId"/>.</summary>
    public long? TxnVersion { get; init; }

    /// <summary>Rows per data file (per partition). Default: 1,000,000.</summary>
    public int MaxRowsPerFile { get; init; } = 1_000_000;

    /// <summary>Called after the data files are written and before the commit (crash tests stop here).</summary>
    public Func<IReadOnlyList<string>, Task>? BeforeCommit { get; init; }
}

/// <summary>What a commit did.</summary>
public sealed record CommitResult(long Version, int FilesAdded, int FilesRemoved, int Attempts, bool Skipped = false);

/// <summary>Writing (writer version 2): create, append, overwrite, delete by partition, optimistic concurrency, checkpoints.</summary>
public sealed partial class DeltaTable
{
    /// <summary>The protocol this writer creates tables with.</summary>
    public static readonly ProtocolAction WriterProtocol = new(1, 2);

    private enum WriteKind
    {
        Append,
        Overwrite,
        Delete,
    }

    /// <summary>Creates the table (version 0). Fails when a table already exists at the location.</summary>
    public async Task<CommitResult> CreateAsync(StructType schema, IReadOnlyList<string>? partitionColumns = null,
        IReadOnlyDictionary<string, string?>? properties = null, string? name = null, CancellationToken cancellationToken = default)
    {
        partitionColumns ??= [];
        foreach (var p in partitionColumns)
        {
            if (schema.Find(p) is not { Type: PrimitiveType })
            {
                throw new ArgumentException($"partition column '{p}' is not a primitive column of the schema");
            }
        }

        var now = Options.TimeProvider.GetUtcNow().ToUnixTimeMilliseconds();
        var metadata = new MetadataAction
        {
            Id = Guid.NewGuid().ToString(),
            Name = name,
            SchemaString = schema.ToSchemaString(),
            PartitionColumns = partitionColumns,
            Configuration = properties ?? new Dictionary<string, string?>(),
            CreatedTime = now,
        };
        var actions = new List<JsonObject>
        {
            CommitInfo("CREATE TABLE", new JsonObject { ["partitionBy"] = new JsonArray([.. partitionColumns.Select(c => (JsonNode)c)]).ToJsonString() }, null, true),
            new() { ["protocol"] = WriterProtocol.ToJson() },
            new() { ["metaData"] = metadata.ToJson() },
        };
        if (!await Store.PutIfAbsentAsync(_log.LogPrefix + LogFiles.CommitName(0), Encode(actions), cancellationToken))
        {
            throw new DeltaProtocolException($"{Location}: a Delta table already exists (version 0 is committed)");
        }

        Log.Committed(Options.Logger, Location, 0, "CREATE TABLE");
        return new CommitResult(0, 0, 0, 1);
    }

    /// <summary>Appends rows (a blind append: it never conflicts with concurrent appends).</summary>
    public Task<CommitResult> AppendAsync(IReadOnlyList<IReadOnlyDictionary<string, object?>> rows, WriteOptions? options = null, CancellationToken cancellationToken = default) =>
        WriteAsync(WriteKind.Append, rows, null, options ?? new WriteOptions(), cancellationToken);

    /// <summary>Replaces all rows of the table with <paramref name="rows"/>.</summary>
    public Task<CommitResult> OverwriteAsync(IReadOnlyList<IReadOnlyDictionary<string, object?>> rows, WriteOptions? options = null, CancellationToken cancellationToken = default) =>
        WriteAsync(WriteKind.Overwrite, rows, null, options ?? new WriteOptions(), cancellationToken);

    /// <summary>Deletes every file whose partition values (typed, by column name) match <paramref name="partitionPredicate"/>.</summary>
    public Task<CommitResult> DeletePartitionsAsync(Func<IReadOnlyDictionary<string, object?>, bool> partitionPredicate, WriteOptions? options = null, CancellationToken cancellationToken = default) =>
        WriteAsync(WriteKind.Delete, [], partitionPredicate, options ?? new WriteOptions(), cancellationToken);

    private async Task<CommitResult> WriteAsync(WriteKind kind, IReadOnlyList<IReadOnlyDictionary<string, object?>> rows,
        Func<IReadOnlyDictionary<string, object?>, bool>? predicate, WriteOptions options, CancellationToken ct)
    {
        var read = await GetSnapshotAsync(null, ct);
        CheckWritable(read, kind);
        if (options.AppId is { } appId && options.TxnVersion is { } txnVersion && read.Txns.TryGetValue(appId, out var done) && done.Version >= txnVersion)
        {
            return new CommitResult(read.Version, 0, 0, 0, Skipped: true);
        }

        var known = read.Schema.Fields.Select(f => f.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var row in rows)
        {
            foreach (var column in row.Keys)
            {
                if (!known.Contains(column))
                {
                    throw new ArgumentException($"{Location}: column '{column}' is not in the table schema ({string.Join(", ", known)}); schema evolution is not supported");
                }
            }
        }

        // 1. data files first: a crash before the commit leaves only orphans that VACUUM removes
        var adds = new List<AddAction>();
        var schema = read.Schema;
        var partitionColumns = read.Metadata.PartitionColumns;
        var dataSchema = new StructType([.. schema.Fields.Where(f => !partitionColumns.Contains(f.Name))]);
        foreach (var group in rows.GroupBy(r => PartitionKey(r, partitionColumns)))
        {
            var groupRows = group.ToList();
            for (var offset = 0; offset < groupRows.Count; offset += options.MaxRowsPerFile)
            {
                var chunk = groupRows.GetRange(offset, Math.Min(options.MaxRowsPerFile, groupRows.Count - offset));
                adds.Add(await WriteDataFileAsync(dataSchema, partitionColumns, chunk, ct));
            }
        }

        if (options.BeforeCommit is { } hook)
        {
            await hook([.. adds.Select(a => Uri.UnescapeDataString(a.Path))]);
        }

        // 2. the commit
        var now = Options.TimeProvider.GetUtcNow().ToUnixTimeMilliseconds();
        var removed = kind switch
        {
            WriteKind.Overwrite => read.Files.ToList(),
            WriteKind.Delete => read.Files.Where(f => predicate!(TypedPartitionValues(read, f))).ToList(),
            _ => [],
        };
        var operation = kind == WriteKind.Delete ? "DELETE" : "WRITE";
        var parameters = kind == WriteKind.Delete
            ? new JsonObject { ["predicate"] = "partition predicate" }
            : new JsonObject { ["mode"] = kind == WriteKind.Append ? "Append" : "Overwrite", ["partitionBy"] = new JsonArray([.. partitionColumns.Select(c => (JsonNode)c)]).ToJsonString() };
        var body = new List<JsonObject>();
        if (options.AppId is { } id && options.TxnVersion is { } tv)
        {
            body.Add(new JsonObject { ["txn"] = new TxnAction(id, tv, now).ToJson() });
        }

        body.AddRange(removed.Select(f => new JsonObject
        {
            ["remove"] = new RemoveAction
            {
                Path = f.Add.Path,
                DeletionTimestamp = now,
                DataChange = true,
                ExtendedFileMetadata = true,
                PartitionValues = f.Add.PartitionValues,
                Size = f.Add.Size,
            }.ToJson(),
        }));
        body.AddRange(adds.Select(a => new JsonObject { ["add"] = a.ToJson() }));

        var removedPaths = removed.Select(f => f.RelativePath).ToHashSet(StringComparer.Ordinal);
        var version = read.Version + 1;
        for (var attempt = 1; ; attempt++)
        {
            var actions = new List<JsonObject> { CommitInfo(operation, parameters, read.Version, kind == WriteKind.Append) };
            actions.AddRange(body);
            if (await Store.PutIfAbsentAsync(_log.LogPrefix + LogFiles.CommitName(version), Encode(actions), ct))
            {
                Log.Committed(Options.Logger, Location, version, operation);
                await MaybeCheckpointAsync(version, ct);
                return new CommitResult(version, adds.Count, removed.Count, attempt);
            }

            if (attempt > Options.MaxCommitRetries)
            {
                throw new DeltaConcurrentModificationException($"{Location}: version {version}: gave up after {attempt} attempts lost to concurrent commits");
            }

            // lost the race: check what every winner since did, then try the version after the last
            var (next, _) = await CatchUpAsync(version, (v, winner) =>
            {
                CheckConflict(kind, read, winner, removedPaths, predicate, options, v);
                return null;
            }, ct);
            Log.CommitRetry(Options.Logger, Location, version, next);
            version = next;
        }
    }

    private void CheckConflict(WriteKind kind, Snapshot read, List<LogAction> winner, HashSet<string> removedPaths,
        Func<IReadOnlyDictionary<string, object?>, bool>? predicate, WriteOptions options, long version)
    {
        foreach (var a in winner)
        {
            if (a.Metadata is not null || a.Protocol is not null)
            {
                throw new DeltaConcurrentModificationException($"{Location}: version {version}: a concurrent commit changed the table's metadata or protocol");
            }

            if (a.Txn is { } t && t.AppId == options.AppId)
            {
                throw new DeltaConcurrentModificationException($"{Location}: version {version}: a concurrent commit by the same application '{t.AppId}'");
            }

            if (kind == WriteKind.Append)
            {
                continue; // blind appends read nothing
            }

            if (a.Remove is { } rm && removedPaths.Contains(LogReader.DecodePath(rm.Path, Location)))
            {
                throw new DeltaConcurrentModificationException($"{Location}: version {version}: a concurrent commit deleted file {rm.Path} that this {kind} also deletes");
            }

            if (a.Add is { DataChange: true } add)
            {
                var file = new DataFile(LogReader.DecodePath(add.Path, Location), add);
                if (kind == WriteKind.Overwrite || predicate!(TypedPartitionValues(read, file)))
                {
                    throw new DeltaConcurrentModificationException($"{Location}: version {version}: a concurrent commit added file {add.Path} in data this {kind} replaces");
                }
            }
        }
    }

    private static void CheckWritable(Snapshot snapshot, WriteKind kind)
    {
        if (snapshot.Protocol.MinWriterVersion > 2)
        {
            throw new DeltaUnsupportedFeatureException(
                $"{snapshot.Table}: version {snapshot.Version}: writer version {snapshot.Protocol.MinWriterVersion} is not supported (this writer supports 1 and 2)",
                $"writerVersion {snapshot.Protocol.MinWriterVersion}");
        }

        if (kind != WriteKind.Append && snapshot.Property("delta.appendOnly") == "true")
        {
            throw new DeltaProtocolException($"{snapshot.Table}: version {snapshot.Version}: the table is append-only (delta.appendOnly=true)");
        }

        if (snapshot.Schema.Fields.Any(f => f.Metadata?.ContainsKey("delta.invariants") == true))
        {
            throw new DeltaUnsupportedFeatureException($"{snapshot.Table}: version {snapshot.Version}: column invariants cannot be enforced by this writer", "invariants");
        }
    }

    internal static Dictionary<string, object?> TypedPartitionValues(Snapshot snapshot, DataFile file)
    {
        var values = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var column in snapshot.Metadata.PartitionColumns)
        {
            var field = snapshot.Schema.Find(column);
            file.Add.PartitionValues.TryGetValue(field?.PhysicalName(snapshot.ColumnMapping) ?? column, out var text);
            values[column] = field is null ? text : ValueConverter.ParsePartitionValue(text, field.Type, column);
        }

        return values;
    }

    private static string PartitionKey(IReadOnlyDictionary<string, object?> row, IReadOnlyList<string> partitionColumns) =>
        partitionColumns.Count == 0 ? "" : string.Join('\u0001', partitionColumns.Select(c => ValueConverter.FormatPartitionValue(row.TryGetValue(c, out var v) ? v : null) ?? "\u0000"));

    private Task<AddAction> WriteDataFileAsync(StructType dataSchema, IReadOnlyList<string> partitionColumns, List<IReadOnlyDictionary<string, object?>> rows, CancellationToken ct)
    {
        var partitionValues = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var c in partitionColumns)
        {
            partitionValues[c] = ValueConverter.FormatPartitionValue(rows[0].TryGetValue(c, out var v) ? v : null);
        }

        return WriteFileAsync(dataSchema, partitionColumns, partitionValues, ParquetFileWriter.Enumerate(rows), dataChange: true, spool: false, ct);
    }

    /// <summary>Writes the rows, as they come (OPTIMIZE's are never all in memory), as one Parquet file in the partition
    /// <paramref name="partitionValues"/> names (its text, in <paramref name="partitionColumns"/>' order) and returns its add action.
    /// With <paramref name="spool"/> (OPTIMIZE's files, tens of MiB) the file is written to a temporary file and streamed
    /// to the store; else (an append's small file, its rows in memory already) it is built in memory and put at once.</summary>
    private async Task<AddAction> WriteFileAsync(StructType dataSchema, IReadOnlyList<string> partitionColumns, Dictionary<string, string?> partitionValues,
        IAsyncEnumerable<IReadOnlyDictionary<string, object?>> rows, bool dataChange, bool spool, CancellationToken ct)
    {
        var dir = new StringBuilder();
        foreach (var c in partitionColumns)
        {
            var text = partitionValues[c];
            dir.Append(EscapePartition(c)).Append('=').Append(text is null ? "__HIVE_DEFAULT_PARTITION__" : EscapePartition(text)).Append('/');
        }

        var relative = dir + $"part-00000-{Guid.NewGuid()}.c000.snappy.parquet";
        long size;
        string stats;
        if (!spool)
        {
            (var data, stats) = await ParquetFileWriter.WriteAsync(dataSchema, rows, ct);
            await Store.PutAsync(Root + relative, data, ct);
            size = data.Length;
        }
        else
        {
            await using var file = new FileStream(Path.Combine(Path.GetTempPath(), $"lifeline-optimize-{Guid.NewGuid():N}.parquet"), FileMode.CreateNew,
                FileAccess.ReadWrite, FileShare.None, 1 << 16, FileOptions.DeleteOnClose | FileOptions.Asynchronous);
            (size, stats) = await ParquetFileWriter.WriteAsync(dataSchema, rows, file, ct);
            file.Position = 0;
            await Store.PutStreamAsync(Root + relative, file, ct);
        }

        return new AddAction
        {
            Path = EncodePath(relative),
            PartitionValues = partitionValues,
            Size = size,
            ModificationTime = Options.TimeProvider.GetUtcNow().ToUnixTimeMilliseconds(),
            DataChange = dataChange,
            Stats = stats,
        };
    }

    /// <summary>Hive-style escaping of partition directory names (as Spark does), so the path is a valid object key.</summary>
    private static string EscapePartition(string value)
    {
        var sb = new StringBuilder(value.Length);
        foreach (var ch in value)
        {
            if (ch < ' ' || "\"#%'*/:=?\\\u007F{[]^".Contains(ch))
            {
                sb.Append('%').Append(((int)ch).ToString("X2", CultureInfo.InvariantCulture));
            }
            else
            {
                sb.Append(ch);
            }
        }

        return sb.ToString();
    }

    /// <summary>URL-encodes a relative path for the log (each segment, keeping '/').</summary>
    internal static string EncodePath(string relative) => string.Join('/', relative.Split('/').Select(Uri.EscapeDataString));

    private JsonObject CommitInfo(string operation, JsonObject parameters, long? readVersion, bool blindAppend)
    {
        var info = new JsonObject
        {
            ["timestamp"] = Options.TimeProvider.GetUtcNow().ToUnixTimeMilliseconds(),
            ["operation"] = operation,
            ["operationParameters"] = parameters.DeepClone(),
        };
        if (readVersion is not null)
        {
            info["readVersion"] = readVersion;
        }

        info["isolationLevel"] = "Serializable";
        info["isBlindAppend"] = blindAppend;
        info["engineInfo"] = Options.EngineInfo;
        info["txnId"] = Guid.NewGuid().ToString();
        return new JsonObject { ["commitInfo"] = info };
    }

    internal static byte[] Encode(IEnumerable<JsonObject> actions) =>
        Encoding.UTF8.GetBytes(string.Join('\n', actions.Select(a => a.ToJsonString())) + "\n");
}
