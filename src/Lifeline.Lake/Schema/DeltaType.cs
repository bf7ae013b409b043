using System.Text.Json;
using System.Text.Json.Nodes;

namespace Lifeline.Lake.Schema;

/// <summary>A Delta data type as written in a table's <c>schemaString</c> (PROTOCOL.md "Schema Serialization Format").</summary>
public abstract record DeltaType
{
    /// <summary>Parses a schema JSON node: a string for primitives, an object for struct, array and map.</summary>
    public static DeltaType Parse(JsonNode? node)
    {
        switch (node)
        {
            case JsonValue v when v.TryGetValue<string>(out var name):
                return PrimitiveType.Parse(name);
            case JsonObject o:
                var type = (string?)o["type"];
                return type switch
                {
                    "struct" => StructType.ParseObject(o),
                    "array" => new ArrayType(Parse(o["elementType"]), (bool?)o["containsNull"] ?? true),
                    "map" => new MapType(Parse(o["keyType"]), Parse(o["valueType"]), (bool?)o["valueContainsNull"] ?? true),
                    _ => throw new DeltaProtocolException($"unknown data type '{type}' in the table schema"),
                };
            default:
                throw new DeltaProtocolException($"malformed data type '{node?.ToJsonString()}' in the table schema");
        }
    }

    /// <summary>The JSON form of this type.</summary>
    public abstract JsonNode ToJson();
}

/// <summary>A primitive Delta type: string, long, integer, short, byte, float, double, decimal(p,s), boolean, binary, date, timestamp, timestamp_ntz.</summary>
public sealed record PrimitiveType(string Name) : DeltaType
{
    public static readonly PrimitiveType String = new("string");
    public static readonly PrimitiveType Long = new("long");
    public static readonly PrimitiveType Integer = new("integer");
    public static readonly PrimitiveType Short = new("short");
    public static readonly PrimitiveType Byte = new("byte");
    public static readonly PrimitiveType Float = new("float");
    public static readonly PrimitiveType Double = new("double");
    public static readonly PrimitiveType Boolean = new("boolean");
    public static readonly PrimitiveType Binary = new("binary");
    public static readonly PrimitiveType Date = new("date");
    public static readonly PrimitiveType Timestamp = new("timestamp");
    public static readonly PrimitiveType TimestampNtz = new("timestamp_ntz");

    private static readonly HashSet<string> Known = ["string", "long", "integer", "short", "byte", "float", "double", "boolean", "binary", "date", "timestamp", "timestamp_ntz"];

    /// <summary>Precision of a decimal type, else 0.</summary>
    public int Precision { get; init; }

    /// <summary>Scale of a decimal type, else 0.</summary>
    public int Scale { get; init; }

    /// <summary>Whether this is decimal(p,s).</summary>
    public bool IsDecimal => Name.StartsWith("decimal", StringComparison.Ordinal);

    /// <summary>Creates decimal(precision, scale).</summary>
    public static PrimitiveType Decimal(int precision, int scale) => new($"decimal({precision},{scale})") { Precision = precision, Scale = scale };

    internal static PrimitiveType Parse(string name)
    {
        if (Known.Contains(name))
        {
            return new PrimitiveType(name);
        }

        if (name.StartsWith("decimal(", StringComparison.Ordinal) && name.EndsWith(')'))
        {
            var parts = name[8..^1].Split(',', StringSplitOptions.TrimEntries);
            if (parts.Length == 2 && int.TryParse(parts[0], out var p) && int.TryParse(parts[1], out var s))
            {
                return Decimal(p, s);
            }
        }

        if (name == "decimal")
        {
            return Decimal(10, 0);
        }

        throw new DeltaProtocolException($"unsupported data type '{name}' in the table schema");
    }

    /// <inheritdoc />
    public override JsonNode ToJson() => JsonValue.Create(Name);
}

/// <summary>An array type.</summary>
public sealed record ArrayType(DeltaType ElementType, bool ContainsNull) : DeltaType
{
    /// <inheritdoc />
    public override JsonNode ToJson() => new JsonObject { ["type"] = "array", ["elementType"] = ElementType.ToJson(), ["containsNull"] = ContainsNull };
}

/// <summary>A map type.</summary>
public sealed record MapType(DeltaType KeyType, DeltaType ValueType, bool ValueContainsNull) : DeltaType
{
    /// <inheritdoc />
    public override JsonNode ToJson() => new JsonObject { ["type"] = "map", ["keyType"] = KeyType.ToJson(), ["valueType"] = ValueType.ToJson(), ["valueContainsNull"] = ValueContainsNull };
}

/// <summary>One field of a struct.</summary>
public sealed record StructField(string Name, DeltaType Type, bool Nullable = true)
{
    /// <summary>The field's metadata object (column mapping ids, comments), kept as JSON.</summary>
    public JsonObject? Metadata { get; init; }

    /// <summary>The physical column name under column mapping, else the logical name.</summary>
    public string PhysicalName(bool columnMapping) =>
        columnMapping && Metadata?["delta.columnMapping.physicalName"] is JsonValue v && v.TryGetValue<string>(out var p) ? p : Name;
}

/// <summary>A struct type; a table schema is a struct.</summary>
public sealed record StructType(IReadOnlyList<StructField> Fields) : DeltaType
{
    /// <summary>Parses a <c>schemaString</c>.</summary>
    public static StructType ParseSchemaString(string schemaString)
    {
        JsonNode? node;
        try
        {
            node = JsonNode.Parse(schemaString);
        }
        catch (JsonException e)
        {
            throw new DeltaProtocolException($"the table schema is not valid JSON: {e.Message}");
        }

        return Parse(node) as StructType ?? throw new DeltaProtocolException("the table schema is not a struct");
    }

    internal static StructType ParseObject(JsonObject o)
    {
        var fields = new List<StructField>();
        foreach (var f in o["fields"]?.AsArray() ?? [])
        {
            var name = (string?)f?["name"] ?? throw new DeltaProtocolException("a schema field has no name");
            fields.Add(new StructField(name, Parse(f!["type"]), (bool?)f["nullable"] ?? true) { Metadata = f["metadata"]?.DeepClone() as JsonObject });
        }

        return new StructType(fields);
    }

    /// <summary>The field named <paramref name="name"/> (case-insensitive, as Spark resolves), or null.</summary>
    public StructField? Find(string name) =>
        Fields.FirstOrDefault(f => f.Name == name) ?? Fields.FirstOrDefault(f => string.Equals(f.Name, name, StringComparison.OrdinalIgnoreCase));

    /// <inheritdoc />
    public override JsonNode ToJson()
    {
        var fields = new JsonArray();
        foreach (var f in Fields)
        {
            fields.Add(new JsonObject { ["name"] = f.Name, ["type"] = f.Type.ToJson(), ["nullable"] = f.Nullable, ["metadata"] = f.Metadata?.DeepClone() ?? new JsonObject() });
        }

        return new JsonObject { ["type"] = "struct", ["fields"] = fields };
    }

    /// <summary>The <c>schemaString</c> form.</summary>
    public string ToSchemaString() => ToJson().ToJsonString();

    /// <inheritdoc />
    public bool Equals(StructType? other) => other is not null && ToSchemaString() == other.ToSchemaString();

    /// <inheritdoc />
    public override int GetHashCode() => ToSchemaString().GetHashCode(StringComparison.Ordinal);
}
