using System.Globalization;
using System.Text.Json.Nodes;
using Lifeline.Lake.Parquet;
using Lifeline.Lake.Protocol;
using Lifeline.Lake.Schema;

namespace Lifeline.Lake;

/// <summary>What VACUUM found and removed.</summary>
public sealed record VacuumResult(IReadOnlyList<string> Deleted, long BytesFreed, bool DryRun);

/// <summary>Checkpoints, VACUUM and log clean-up.</summary>
public sealed partial class DeltaTable
{
    private static readonly PrimitiveType S = PrimitiveType.String;
    private static readonly PrimitiveType L = PrimitiveType.Long;
    private static readonly MapType StringMap = new(S, S, true);

    private static StructType DeletionVectorType => new([
        new("storageType", S), new("pathOrInlineDv", S), new("offset", PrimitiveType.Integer), new("sizeInBytes", PrimitiveType.Integer),
        new("cardinality", L), new("maxRowIndex", L)]);

    /// <summary>The checkpoint schema Spark writes for reader 1 / writer 2 tables (as in the golden tables' _last_checkpoint).</summary>
    internal static readonly StructType CheckpointSchema = new([
        new("txn", new StructType([new("appId", S), new("version", L), new("lastUpdated", L)])),
        new("add", new StructType([
            new("path", S), new("partitionValues", StringMap), new("size", L), new("modificationTime", L), new("dataChange", PrimitiveType.Boolean),
            new("tags", StringMap), new("deletionVector", DeletionVectorType), new("baseRowId", L), new("defaultRowCommitVersion", L), new("stats", S)])),
        new("remove", new StructType([
            new("path", S), new("deletionTimestamp", L), new("dataChange", PrimitiveType.Boolean), new("extendedFileMetadata", PrimitiveType.Boolean),
            new("partitionValues", StringMap), new("size", L), new("deletionVector", DeletionVectorType), new("baseRowId", L), new("defaultRowCommitVersion", L)])),
        new("metaData", new StructType([
            new("id", S), new("name", S), new("description", S), new("format", new StructType([new("provider", S), new("options", StringMap)])),
            new("schemaString", S), new("partitionColumns", new ArrayType(S, true)), new("configuration", StringMap), new("createdTime", L)])),
        new("protocol", new StructType([
            new("minReaderVersion", PrimitiveType.Integer), new("minWriterVersion", PrimitiveType.Integer),
            new("readerFeatures", new ArrayType(S, true)), new("writerFeatures", new ArrayType(S, true))])),
        new("domainMetadata", new StructType([new("domain", S), new("configuration", S), new("removed", PrimitiveType.Boolean)])),
    ]);

    /// <summary>
    /// After a commit's put lost the race for <paramref name="version"/>: reads that winning commit and every one that
    /// landed after it, asks <paramref name="conflict"/> of each (a reason the commit being made cannot go after it, or
    /// null), and returns the first version not yet taken, to try next. As in Delta, any number of winners that do not
    /// conflict are passed over in one retry: counting each as a lost attempt made a commit that took longer to build
    /// than the table takes <see cref="DeltaTableOptions.MaxCommitRetries"/> commits (OPTIMIZE of a table that takes a
    /// commit a second) give up every time.
    /// </summary>
    private async Task<(long Next, string? Conflict)> CatchUpAsync(long version, Func<long, List<LogAction>, string?> conflict, CancellationToken ct)
    {
        var winner = await _log.ReadCommitAsync(version, ct);
        while (true)
        {
            if (conflict(version, winner) is { } reason)
            {
                return (version, reason);
            }

            version++;
            if (await _log.TryReadCommitAsync(version, ct) is not { } next)
            {
                return (version, null);
            }

            winner = next;
        }
    }

    private async Task MaybeCheckpointAsync(long version, CancellationToken ct)
    {
        try
        {
            var snapshot = await GetSnapshotAsync(version, ct);
            var interval = int.TryParse(snapshot.Property("delta.checkpointInterval"), NumberStyles.None, CultureInfo.InvariantCulture, out var i) && i > 0
                ? i : Options.DefaultCheckpointInterval;
            if (version > 0 && version % interval == 0)
            {
                await WriteCheckpointAsync(snapshot, ct);

                // as Delta writers do after a checkpoint (delta.enableExpiredLogCleanup, default true)
                if (snapshot.Property("delta.enableExpiredLogCleanup") != "false")
                {
                    await CleanupLogAsync(ct);
                }
            }
        }
        catch (Exception e) when (e is DeltaProtocolException or IOException)
        {
            // the commit is durable; a missing checkpoint only makes the next reader replay more commits
            Log.CheckpointSkipped(Options.Logger, Location, version, e.Message);
        }
    }

    /// <summary>Writes a classic single-file checkpoint of <paramref name="snapshot"/> and updates <c>_last_checkpoint</c>.</summary>
    public async Task WriteCheckpointAsync(Snapshot snapshot, CancellationToken cancellationToken = default)
    {
        var rows = new List<IReadOnlyDictionary<string, object?>>
        {
            Row("protocol", snapshot.Protocol.ToJson()),
            Row("metaData", snapshot.Metadata.ToJson()),
        };
        rows.AddRange(snapshot.Txns.Values.Select(t => Row("txn", t.ToJson())));
        rows.AddRange(snapshot.Files.Select(f => Row("add", (f.Add with { DataChange = false }).ToJson())));
        var cutoff = (Options.TimeProvider.GetUtcNow() - DeletedFileRetention(snapshot)).ToUnixTimeMilliseconds();
        var kept = snapshot.Tombstones.Where(t => (t.Value.DeletionTimestamp ?? 0) > cutoff).ToList();
        rows.AddRange(kept.Select(t => Row("remove", (t.Value with { DataChange = false }).ToJson())));
        var (data, _) = await ParquetFileWriter.WriteAsync(CheckpointSchema, rows, cancellationToken);
        await Store.PutAsync(_log.LogPrefix + LogFiles.CheckpointName(snapshot.Version), data, cancellationToken);
        var last = new JsonObject
        {
            ["version"] = snapshot.Version,
            ["size"] = rows.Count,
            ["sizeInBytes"] = data.Length,
            ["numOfAddFiles"] = snapshot.FilesByKey.Count,
        };
        await Store.PutAsync(_log.LogPrefix + LogFiles.LastCheckpoint, System.Text.Encoding.UTF8.GetBytes(last.ToJsonString()), cancellationToken);
        Log.CheckpointWritten(Options.Logger, Location, snapshot.Version);
        _log.CheckpointWritten(snapshot, kept);
    }

    private static Dictionary<string, object?> Row(string column, JsonObject action)
    {
        var type = (StructType)CheckpointSchema.Find(column)!.Type;
        return new Dictionary<string, object?> { [column] = FromJson(action, type) };
    }

    /// <summary>Turns action JSON into the nested values the Parquet writer takes, following <paramref name="type"/>.</summary>
    private static object? FromJson(JsonNode? node, DeltaType type)
    {
        if (node is null)
        {
            return null;
        }

        switch (type)
        {
            case StructType st:
                var o = (JsonObject)node;
                return st.Fields.ToDictionary(f => f.Name, f => FromJson(o[f.Name], f.Type));
            case MapType mt:
                var m = new Dictionary<string, object?>(StringComparer.Ordinal);
                foreach (var (k, v) in (JsonObject)node)
                {
                    m[k] = FromJson(v, mt.ValueType);
                }

                return m;
            case ArrayType at:
                return ((JsonArray)node).Select(x => FromJson(x, at.ElementType)).ToList();
            case PrimitiveType p:
                var value = (JsonValue)node;
                return p.Name switch
                {
                    "string" => value.TryGetValue<string>(out var s) ? s : value.ToJsonString(),
                    "long" => value.GetValue<long>(),
                    "integer" => value.GetValue<int>(),
                    "boolean" => value.GetValue<bool>(),
                    _ => throw new NotSupportedException(p.Name),
                };
            default:
                throw new NotSupportedException(type.ToString());
        }
    }

    /// <summary>Parses a Delta interval property such as <c>interval 7 days</c>.</summary>
    internal static TimeSpan? ParseInterval(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        var parts = text.Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var offset = parts.Length > 0 && parts[0].Equals("interval", StringComparison.OrdinalIgnoreCase) ? 1 : 0;
        if (parts.Length - offset != 2 || !double.TryParse(parts[offset], NumberStyles.Float, CultureInfo.InvariantCulture, out var n))
        {
            throw new DeltaProtocolException($"invalid interval '{text}' (expected e.g. 'interval 7 days')");
        }

        return parts[offset + 1].TrimEnd('s').ToLowerInvariant() switch
        {
            "millisecond" => TimeSpan.FromMilliseconds(n),
            "second" => TimeSpan.FromSeconds(n),
            "minute" => TimeSpan.FromMinutes(n),
            "hour" => TimeSpan.FromHours(n),
            "day" => TimeSpan.FromDays(n),
            "week" => TimeSpan.FromDays(7 * n),
            _ => throw new DeltaProtocolException($"invalid interval unit in '{text}'"),
        };
    }

    /// <summary><c>delta.deletedFileRetentionDuration</c>, default 7 days.</summary>
    public static TimeSpan DeletedFileRetention(Snapshot snapshot) => ParseInterval(snapshot.Property("delta.deletedFileRetentionDuration")) ?? TimeSpan.FromDays(7);

    /// <summary><c>delta.logRetentionDuration</c>, default 30 days.</summary>
    public static TimeSpan LogRetention(Snapshot snapshot) => ParseInterval(snapshot.Property("delta.logRetentionDuration")) ?? TimeSpan.FromDays(30);

    /// <summary>
    /// Deletes files under the table root that the latest snapshot does not reference and that are older than the
    /// retention (default <c>delta.deletedFileRetentionDuration</c>); tombstones younger than the retention are kept.
    /// A retention shorter than the table's needs <paramref name="allowShortRetention"/>.
    /// </summary>
    public async Task<VacuumResult> VacuumAsync(TimeSpan? retention = null, bool dryRun = false, bool allowShortRetention = false, CancellationToken cancellationToken = default)
    {
        var snapshot = await GetSnapshotAsync(null, cancellationToken);
        var configured = DeletedFileRetention(snapshot);
        var effective = retention ?? configured;
        if (effective < configured && !allowShortRetention)
        {
            throw new DeltaProtocolException(
                $"{Location}: vacuum retention {effective} is shorter than delta.deletedFileRetentionDuration ({configured}); concurrent readers could lose files. Pass the override to do it anyway.");
        }

        var now = Options.TimeProvider.GetUtcNow();
        var cutoff = now - effective;
        var keep = new HashSet<string>(snapshot.FilesByKey.Values.Select(f => f.RelativePath), StringComparer.Ordinal);
        foreach (var t in snapshot.Tombstones.Values)
        {
            if ((t.DeletionTimestamp ?? 0) > cutoff.ToUnixTimeMilliseconds())
            {
                keep.Add(LogReader.DecodePath(t.Path, Location));
            }
        }

        var deleted = new List<string>();
        long bytes = 0;
        await foreach (var info in Store.ListAsync(Root, cancellationToken))
        {
            var relative = info.Key[Root.Length..];
            if (IsHidden(relative) || keep.Contains(relative) || info.LastModified > cutoff)
            {
                continue;
            }

            deleted.Add(relative);
            bytes += info.Size;
            if (!dryRun)
            {
                await Store.DeleteAsync(info.Key, cancellationToken);
            }
        }

        if (!dryRun)
        {
            Log.Vacuumed(Options.Logger, Location, deleted.Count);
        }

        return new VacuumResult(deleted, bytes, dryRun);
    }

    /// <summary>Hidden paths (a segment starting with '.' or '_', except partition directories like '_col=v') are never vacuumed.</summary>
    internal static bool IsHidden(string relative)
    {
        foreach (var segment in relative.Split('/'))
        {
            if (segment.StartsWith('.') || (segment.StartsWith('_') && !segment.Contains('=', StringComparison.Ordinal)))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Sets table properties (Delta's <c>ALTER TABLE SET TBLPROPERTIES</c>): one commit of the metadata with
    /// <paramref name="properties"/> merged into its configuration (a null value removes the key). Returns the commit,
    /// or the current version with <see cref="CommitResult.Skipped"/> when every property already has its value. A
    /// commit lost to a concurrent append is retried at the next version; one lost to a concurrent change of the
    /// metadata or protocol fails with <see cref="DeltaConcurrentModificationException"/>. A retention property must
    /// parse (<c>interval N unit</c>); concurrent writers that read the old metadata fail their commit and retry.
    /// </summary>
    public async Task<CommitResult> SetPropertiesAsync(IReadOnlyDictionary<string, string?> properties, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(properties);
        foreach (var (key, value) in properties)
        {
            if (string.IsNullOrWhiteSpace(key))
            {
                throw new ArgumentException("a table property has an empty name", nameof(properties));
            }

            if (value is not null && key.EndsWith("Duration", StringComparison.Ordinal) && key.StartsWith("delta.", StringComparison.Ordinal))
            {
                _ = ParseInterval(value); // throws DeltaProtocolException naming the bad interval
            }
        }

        var read = await GetSnapshotAsync(null, cancellationToken);
        var configuration = new Dictionary<string, string?>(read.Metadata.Configuration, StringComparer.Ordinal);
        var changed = false;
        foreach (var (key, value) in properties)
        {
            var had = configuration.TryGetValue(key, out var old);
            if (value is null ? had : !had || old != value)
            {
                changed = true;
            }

            if (value is null)
            {
                configuration.Remove(key);
            }
            else
            {
                configuration[key] = value;
            }
        }

        if (!changed)
        {
            return new CommitResult(read.Version, 0, 0, 0, Skipped: true);
        }

        var metadata = new JsonObject { ["metaData"] = (read.Metadata with { Configuration = configuration }).ToJson() };
        var parameters = new JsonObject { ["properties"] = new JsonObject([.. properties.Select(p => KeyValuePair.Create(p.Key, (JsonNode?)p.Value))]).ToJsonString() };
        var version = read.Version + 1;
        for (var attempt = 1; ; attempt++)
        {
            var actions = new List<JsonObject> { CommitInfo("SET TBLPROPERTIES", parameters, read.Version, false), metadata };
            if (await Store.PutIfAbsentAsync(_log.LogPrefix + LogFiles.CommitName(version), Encode(actions), cancellationToken))
            {
                Log.Committed(Options.Logger, Location, version, "SET TBLPROPERTIES");
                await MaybeCheckpointAsync(version, cancellationToken);
                return new CommitResult(version, 0, 0, attempt);
            }

            if (attempt > Options.MaxCommitRetries)
            {
                throw new DeltaConcurrentModificationException($"{Location}: SET TBLPROPERTIES: gave up after {attempt} attempts lost to concurrent commits; run it again");
            }

            var (next, conflict) = await CatchUpAsync(version, (v, winner) => winner.Any(a => a.Metadata is not null || a.Protocol is not null)
                ? $"{Location}: SET TBLPROPERTIES: version {v}, a concurrent commit, changed the table's metadata or protocol; run it again" : null, cancellationToken);
            if (conflict is not null)
            {
                throw new DeltaConcurrentModificationException(conflict);
            }

            version = next;
        }
    }

    /// <summary>
    /// Deletes log files older than <c>delta.logRetentionDuration</c> that come before the newest checkpoint that is
    /// itself older than the retention, so the table stays reconstructable from that checkpoint. Returns the count.
    /// </summary>
    public async Task<int> CleanupLogAsync(CancellationToken cancellationToken = default)
    {
        var snapshot = await GetSnapshotAsync(null, cancellationToken);
        var cutoff = Options.TimeProvider.GetUtcNow() - LogRetention(snapshot);
        var listing = await _log.ListAsync(cancellationToken);
        var checkpoint = listing.Where(f => f.Kind == LogFileKind.Checkpoint && f.Info.LastModified <= cutoff).Select(f => f.Version).DefaultIfEmpty(-1).Max();
        if (checkpoint <= 0)
        {
            return 0;
        }

        var count = 0;
        foreach (var file in listing.Where(f => f.Version < checkpoint && f.Info.LastModified <= cutoff))
        {
            await Store.DeleteAsync(file.Info.Key, cancellationToken);
            count++;
        }

        Log.LogCleaned(Options.Logger, Location, count, checkpoint);
        return count;
    }
}
