using System.Text.Json.Nodes;
using Lifeline.Lake.Schema;

namespace Lifeline.Lake.Protocol;

/// <summary>One commit of the history: its version, timestamp and commitInfo.</summary>
public sealed record CommitEntry(long Version, DateTimeOffset Timestamp, string? Operation, JsonObject? CommitInfo, string FileName);

/// <summary>A data file of a snapshot, with its decoded path relative to the table root.</summary>
public sealed record DataFile(string RelativePath, AddAction Add)
{
    /// <summary>Whether the file lies outside the table root (an absolute URI in the log); such files are not read.</summary>
    public bool IsExternal => LogReader.IsExternal(RelativePath);

    /// <summary>Number of records from the file statistics, if logged and readable (statistics are optional hints: unreadable ones count as absent).</summary>
    public long? NumRecords
    {
        get
        {
            try
            {
                return Add.Stats is { } s && System.Text.Json.Nodes.JsonNode.Parse(s, documentOptions: LogReader.LogJsonOptions) is JsonObject o ? ActionJson.Long(o, "numRecords") : null;
            }
            catch (Exception e) when (e is System.Text.Json.JsonException or InvalidOperationException or FormatException or DeltaProtocolException)
            {
                return null;
            }
        }
    }
}

/// <summary>The state of a table at one version: protocol, metadata, active files, tombstones and idempotent-writer versions.</summary>
public sealed class Snapshot
{
    internal Snapshot(string table, long version, ProtocolAction protocol, MetadataAction metadata, StructType schema,
        Dictionary<string, DataFile> files, Dictionary<string, RemoveAction> tombstones, Dictionary<string, TxnAction> txns,
        DateTimeOffset timestamp, IReadOnlyList<CommitEntry> commits, long? checkpointVersion)
    {
        Table = table;
        Version = version;
        Protocol = protocol;
        Metadata = metadata;
        Schema = schema;
        FilesByKey = files;
        Tombstones = tombstones;
        Txns = txns;
        Timestamp = timestamp;
        Commits = commits;
        CheckpointVersion = checkpointVersion;
    }

    /// <summary>The table's location, for messages.</summary>
    public string Table { get; }

    /// <summary>The version this snapshot shows.</summary>
    public long Version { get; }

    /// <summary>The protocol in force.</summary>
    public ProtocolAction Protocol { get; }

    /// <summary>The metadata in force.</summary>
    public MetadataAction Metadata { get; }

    /// <summary>The parsed table schema.</summary>
    public StructType Schema { get; }

    /// <summary>The commit timestamp of <see cref="Version"/>.</summary>
    public DateTimeOffset Timestamp { get; }

    /// <summary>The commits replayed after the checkpoint (or all of them), oldest first.</summary>
    public IReadOnlyList<CommitEntry> Commits { get; }

    /// <summary>The checkpoint this snapshot started from, if any.</summary>
    public long? CheckpointVersion { get; }

    internal Dictionary<string, DataFile> FilesByKey { get; }

    internal Dictionary<string, RemoveAction> Tombstones { get; }

    /// <summary>The active data files, ordered by path.</summary>
    public IReadOnlyList<DataFile> Files => _files ??= [.. FilesByKey.Values.OrderBy(f => f.RelativePath, StringComparer.Ordinal)];

    private IReadOnlyList<DataFile>? _files;

    /// <summary>The last committed version of each idempotent writer (appId → version).</summary>
    public IReadOnlyDictionary<string, TxnAction> Txns { get; }

    /// <summary>Whether column mapping (name or id mode) is on.</summary>
    public bool ColumnMapping => Metadata.Configuration.TryGetValue("delta.columnMapping.mode", out var m) && m is "name" or "id";

    /// <summary>The table property <paramref name="key"/>, or null.</summary>
    public string? Property(string key) => Metadata.Configuration.TryGetValue(key, out var v) ? v : null;

    /// <summary>Total rows according to file statistics (null if any file lacks numRecords).</summary>
    public long? RowCountFromStats
    {
        get
        {
            long total = 0;
            foreach (var f in FilesByKey.Values)
            {
                if (f.NumRecords is not { } n)
                {
                    return null;
                }

                total += n;
            }

            return total;
        }
    }
}
