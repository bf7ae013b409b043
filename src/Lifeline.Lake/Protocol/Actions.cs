using System.Text.Json.Nodes;

namespace Lifeline.Lake.Protocol;

/// <summary>The <c>protocol</c> action.</summary>
public sealed record ProtocolAction(int MinReaderVersion, int MinWriterVersion)
{
    /// <summary>Reader features (reader version 3).</summary>
    public IReadOnlyList<string>? ReaderFeatures { get; init; }

    /// <summary>Writer features (writer version 7).</summary>
    public IReadOnlyList<string>? WriterFeatures { get; init; }

    internal JsonObject ToJson()
    {
        var o = new JsonObject { ["minReaderVersion"] = MinReaderVersion, ["minWriterVersion"] = MinWriterVersion };
        if (ReaderFeatures is not null)
        {
            o["readerFeatures"] = new JsonArray([.. ReaderFeatures.Select(f => (JsonNode)f)]);
        }

        if (WriterFeatures is not null)
        {
            o["writerFeatures"] = new JsonArray([.. WriterFeatures.Select(f => (JsonNode)f)]);
        }

        return o;
    }
}

/// <summary>The <c>metaData</c> action.</summary>
public sealed record MetadataAction
{
    public required string Id { get; init; }
    public string? Name { get; init; }
    public string? Description { get; init; }
    public string Provider { get; init; } = "parquet";
    public IReadOnlyDictionary<string, string?> FormatOptions { get; init; } = new Dictionary<string, string?>();
    /// <summary>The schema JSON; some old writers left it out (then the table has no columns).</summary>
    public string SchemaString { get; init; } = "{\"type\":\"struct\",\"fields\":[]}";
    public IReadOnlyList<string> PartitionColumns { get; init; } = [];
    public IReadOnlyDictionary<string, string?> Configuration { get; init; } = new Dictionary<string, string?>();
    public long? CreatedTime { get; init; }

    internal JsonObject ToJson() => new()
    {
        ["id"] = Id,
        ["name"] = Name,
        ["description"] = Description,
        ["format"] = new JsonObject { ["provider"] = Provider, ["options"] = ActionJson.Map(FormatOptions) },
        ["schemaString"] = SchemaString,
        ["partitionColumns"] = new JsonArray([.. PartitionColumns.Select(c => (JsonNode)c)]),
        ["configuration"] = ActionJson.Map(Configuration),
        ["createdTime"] = CreatedTime,
    };
}

/// <summary>The <c>add</c> action: a data file that is part of the table.</summary>
public sealed record AddAction
{
    /// <summary>The path as logged: relative to the table root and URL-encoded, or an absolute URI.</summary>
    public required string Path { get; init; }
    public IReadOnlyDictionary<string, string?> PartitionValues { get; init; } = new Dictionary<string, string?>();
    public long Size { get; init; }
    public long ModificationTime { get; init; }
    public bool DataChange { get; init; } = true;
    public string? Stats { get; init; }
    public IReadOnlyDictionary<string, string?>? Tags { get; init; }
    public JsonObject? DeletionVector { get; init; }
    public long? BaseRowId { get; init; }
    public long? DefaultRowCommitVersion { get; init; }

    internal JsonObject ToJson()
    {
        var o = new JsonObject
        {
            ["path"] = Path,
            ["partitionValues"] = ActionJson.Map(PartitionValues),
            ["size"] = Size,
            ["modificationTime"] = ModificationTime,
            ["dataChange"] = DataChange,
        };
        if (Stats is not null)
        {
            o["stats"] = Stats;
        }

        if (Tags is not null)
        {
            o["tags"] = ActionJson.Map(Tags);
        }

        if (DeletionVector is not null)
        {
            o["deletionVector"] = DeletionVector.DeepClone();
        }

        return o;
    }
}

/// <summary>The <c>remove</c> action: a tombstone for a data file.</summary>
public sealed record RemoveAction
{
    public required string Path { get; init; }
    public long? DeletionTimestamp { get; init; }
    public bool DataChange { get; init; } = true;
    public bool? ExtendedFileMetadata { get; init; }
    public IReadOnlyDictionary<string, string?>? PartitionValues { get; init; }
    public long? Size { get; init; }
    public JsonObject? DeletionVector { get; init; }

    internal JsonObject ToJson()
    {
        var o = new JsonObject { ["path"] = Path, ["deletionTimestamp"] = DeletionTimestamp, ["dataChange"] = DataChange };
        if (ExtendedFileMetadata is not null)
        {
            o["extendedFileMetadata"] = ExtendedFileMetadata;
        }

        if (PartitionValues is not null)
        {
            o["partitionValues"] = ActionJson.Map(PartitionValues);
        }

        if (Size is not null)
        {
            o["size"] = Size;
        }

        if (DeletionVector is not null)
        {
            o["deletionVector"] = DeletionVector.DeepClone();
        }

        return o;
    }
}

/// <summary>The <c>txn</c> action: the last version an idempotent writer committed.</summary>
public sealed record TxnAction(string AppId, long Version, long? LastUpdated)
{
    internal JsonObject ToJson() => new() { ["appId"] = AppId, ["version"] = Version, ["lastUpdated"] = LastUpdated };
}

/// <summary>One parsed log entry: exactly one of the properties is set.</summary>
internal sealed record LogAction
{
    public ProtocolAction? Protocol { get; init; }
    public MetadataAction? Metadata { get; init; }
    public AddAction? Add { get; init; }
    public RemoveAction? Remove { get; init; }
    public TxnAction? Txn { get; init; }
    public JsonObject? CommitInfo { get; init; }
    public JsonObject? DomainMetadata { get; init; }
    public JsonObject? CheckpointMetadata { get; init; }
    public JsonObject? Sidecar { get; init; }
}

/// <summary>Converts actions from and to the JSON of commit files (and of checkpoint rows turned into JSON).</summary>
internal static class ActionJson
{
    public static JsonObject Map(IReadOnlyDictionary<string, string?> map)
    {
        var o = new JsonObject();
        foreach (var (k, v) in map)
        {
            o[k] = v;
        }

        return o;
    }

    public static LogAction? Parse(JsonObject o)
    {
        if (o["add"] is JsonObject add)
        {
            return new LogAction { Add = ParseAdd(add) };
        }

        if (o["remove"] is JsonObject rm)
        {
            return new LogAction
            {
                Remove = new RemoveAction
                {
                    Path = Str(rm, "path") ?? throw new DeltaProtocolException("a remove action has no path"),
                    DeletionTimestamp = Long(rm, "deletionTimestamp"),
                    DataChange = Bool(rm, "dataChange") ?? true,
                    ExtendedFileMetadata = Bool(rm, "extendedFileMetadata"),
                    PartitionValues = rm["partitionValues"] is JsonObject pv ? StrMap(pv) : null,
                    Size = Long(rm, "size"),
                    DeletionVector = rm["deletionVector"]?.DeepClone() as JsonObject,
                },
            };
        }

        if (o["metaData"] is JsonObject md)
        {
            return new LogAction { Metadata = ParseMetadata(md) };
        }

        if (o["protocol"] is JsonObject p)
        {
            return new LogAction
            {
                Protocol = new ProtocolAction((int)(Long(p, "minReaderVersion") ?? throw new DeltaProtocolException("protocol has no minReaderVersion")), (int)(Long(p, "minWriterVersion") ?? 0))
                {
                    ReaderFeatures = StrList(p["readerFeatures"]),
                    WriterFeatures = StrList(p["writerFeatures"]),
                },
            };
        }

        if (o["txn"] is JsonObject t)
        {
            return new LogAction { Txn = new TxnAction(Str(t, "appId") ?? "", Long(t, "version") ?? -1, Long(t, "lastUpdated")) };
        }

        if (o["commitInfo"] is JsonObject ci)
        {
            return new LogAction { CommitInfo = ci };
        }

        if (o["domainMetadata"] is JsonObject dm)
        {
            return new LogAction { DomainMetadata = dm };
        }

        if (o["checkpointMetadata"] is JsonObject cm)
        {
            return new LogAction { CheckpointMetadata = cm };
        }

        if (o["sidecar"] is JsonObject sc)
        {
            return new LogAction { Sidecar = sc };
        }

        return null; // cdc and unknown actions do not change the table state
    }

    private static AddAction ParseAdd(JsonObject add) => new()
    {
        Path = Str(add, "path") ?? throw new DeltaProtocolException("an add action has no path"),
        PartitionValues = add["partitionValues"] is JsonObject pv ? StrMap(pv) : new Dictionary<string, string?>(),
        Size = Long(add, "size") ?? 0,
        ModificationTime = Long(add, "modificationTime") ?? 0,
        DataChange = Bool(add, "dataChange") ?? true,
        Stats = Str(add, "stats"),
        Tags = add["tags"] is JsonObject tags ? StrMap(tags) : null,
        DeletionVector = add["deletionVector"]?.DeepClone() as JsonObject,
        BaseRowId = Long(add, "baseRowId"),
        DefaultRowCommitVersion = Long(add, "defaultRowCommitVersion"),
    };

    private static MetadataAction ParseMetadata(JsonObject md)
    {
        var format = md["format"] as JsonObject;
        return new MetadataAction
        {
            Id = Str(md, "id") ?? "",
            Name = Str(md, "name"),
            Description = Str(md, "description"),
            Provider = format is null ? "parquet" : Str(format, "provider") ?? "parquet",
            FormatOptions = format?["options"] is JsonObject fo ? StrMap(fo) : new Dictionary<string, string?>(),
            SchemaString = Str(md, "schemaString") ?? "{\"type\":\"struct\",\"fields\":[]}",
            PartitionColumns = StrList(md["partitionColumns"]) ?? [],
            Configuration = md["configuration"] is JsonObject c ? StrMap(c) : new Dictionary<string, string?>(),
            CreatedTime = Long(md, "createdTime"),
        };
    }

    public static string? Str(JsonObject o, string name) => o[name] is JsonValue v ? (v.TryGetValue<string>(out var s) ? s : v.ToJsonString()) : null;

    public static long? Long(JsonObject o, string name) => o[name] is JsonValue v
        ? (v.TryGetValue<long>(out var l) ? l : v.TryGetValue<int>(out var i) ? i : v.TryGetValue<double>(out var d) ? (long)d : v.TryGetValue<string>(out var s) && long.TryParse(s, out var p) ? p : null)
        : null;

    public static bool? Bool(JsonObject o, string name) => o[name] is JsonValue v && v.TryGetValue<bool>(out var b) ? b : null;

    public static Dictionary<string, string?> StrMap(JsonObject o)
    {
        var d = new Dictionary<string, string?>(o.Count, StringComparer.Ordinal);
        foreach (var (k, v) in o)
        {
            d[k] = v is JsonValue jv ? (jv.TryGetValue<string>(out var s) ? s : jv.ToJsonString()) : v?.ToJsonString();
        }

        return d;
    }

    public static List<string>? StrList(JsonNode? node) => node is JsonArray a ? [.. a.Select(x => (string?)x ?? "")] : null;
}
