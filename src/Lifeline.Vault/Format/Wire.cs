using System.Text.Json;
using System.Text.Json.Serialization;

namespace Lifeline.Vault.Format;

/// <summary>keys/&lt;id&gt; (plain JSON).</summary>
internal sealed record KeyFileJson
{
    public int Version { get; init; } = 1;
    public DateTimeOffset Created { get; init; }
    public string Host { get; init; } = "";
    public string Kdf { get; init; } = "argon2id";
    public int MemoryKiB { get; init; }
    public int Iterations { get; init; }
    public int Parallelism { get; init; }
    public byte[] Salt { get; init; } = [];
    public byte[] WrappedKey { get; init; } = [];
}

/// <summary>config (encrypted JSON).</summary>
internal sealed record ConfigJson
{
    public int Version { get; init; } = 1;
    public string Id { get; init; } = "";
    public int ChunkerMin { get; init; }
    public int ChunkerAvg { get; init; }
    public int ChunkerMax { get; init; }
    public byte[] GearSeed { get; init; } = [];
    public int PackSize { get; init; }
}

/// <summary>snapshots/&lt;id&gt; (encrypted JSON).</summary>
internal sealed record SnapshotJson
{
    public DateTimeOffset Time { get; init; }
    public string Host { get; init; } = "";
    public string Source { get; init; } = "";
    public List<string> Paths { get; init; } = [];
    public List<string> Tags { get; init; } = [];
    public string? Parent { get; init; }
    public string Tree { get; init; } = "";
    public string? OriginalId { get; init; }
    public SnapshotSummary? Summary { get; init; }
}

/// <summary>locks/&lt;id&gt; (encrypted JSON).</summary>
internal sealed record LockJson
{
    public string Host { get; init; } = "";
    public int Pid { get; init; }
    public bool Exclusive { get; init; }
    public DateTimeOffset Created { get; init; }
    public DateTimeOffset Expires { get; init; }
}

/// <summary>A tree blob: one directory.</summary>
internal sealed record TreeJson
{
    public List<NodeJson> Nodes { get; init; } = [];
}

/// <summary>One entry of a tree.</summary>
internal sealed record NodeJson
{
    public string Name { get; init; } = "";
    public string Type { get; init; } = "file";
    public int Mode { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public long Size { get; init; }

    public long Mtime { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public long Inode { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public long Ctime { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public List<string>? Content { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Subtree { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Target { get; init; }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = false)]
[JsonSerializable(typeof(KeyFileJson))]
[JsonSerializable(typeof(ConfigJson))]
[JsonSerializable(typeof(SnapshotJson))]
[JsonSerializable(typeof(LockJson))]
[JsonSerializable(typeof(TreeJson))]
internal sealed partial class WireJson : JsonSerializerContext
{
    public static byte[] Serialize<T>(T value, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> info)
        => JsonSerializer.SerializeToUtf8Bytes(value, info);

    public static T Deserialize<T>(ReadOnlySpan<byte> utf8, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> info, string what)
    {
        try
        {
            return JsonSerializer.Deserialize(utf8, info) ?? throw new VaultCorruptException($"{what} is empty JSON");
        }
        catch (JsonException e)
        {
            throw new VaultCorruptException($"{what} does not decode ({e.Message})", e);
        }
    }
}
