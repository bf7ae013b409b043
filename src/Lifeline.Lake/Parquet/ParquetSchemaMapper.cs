using Lifeline.Lake.Schema;
using Parquet.Schema;
using PqField = Parquet.Schema.Field;
using PqStructField = Parquet.Schema.StructField;

namespace Lifeline.Lake.Parquet;

/// <summary>
/// The level tree of one Parquet column tree (Dremel definition and repetition levels), matched to the Delta type
/// it holds. Both the record assembler and the striper walk it.
/// </summary>
internal abstract class LevelNode
{
    /// <summary>The definition level at which this node's value is present (not null).</summary>
    public int PresentDef { get; init; }

    /// <summary>Whether the Parquet node is optional (a null is representable).</summary>
    public bool Nullable { get; init; }

    public List<LeafNode> Leaves { get; } = [];
}

internal sealed class LeafNode : LevelNode
{
    public required DataField Field { get; init; }
    public PrimitiveType? DeltaType { get; init; }
    public int MaxRep { get; init; }
}

internal sealed class StructNode : LevelNode
{
    public required List<(string Name, LevelNode Node)> Children { get; init; }
}

internal sealed class ListNode : LevelNode
{
    public int ElementDef => PresentDef + 1;
    public int RepLevel { get; init; }
    public required LevelNode Item { get; init; }
}

internal sealed class MapNode : LevelNode
{
    public int ElementDef => PresentDef + 1;
    public int RepLevel { get; init; }
    public required LevelNode Key { get; init; }
    public required LevelNode Value { get; init; }
}

/// <summary>Maps Delta types to Parquet schemas (for writing) and builds level trees (for both directions).</summary>
internal static class ParquetSchemaMapper
{
    /// <summary>The Parquet schema Spark-compatible writers use for a Delta struct.</summary>
    public static ParquetSchema ToParquet(StructType schema) => new(schema.Fields.Select(f => ToParquet(f.Name, f.Type, f.Nullable)).ToArray());

    private static PqField ToParquet(string name, DeltaType type, bool nullable)
    {
        switch (type)
        {
            case PrimitiveType p when p.IsDecimal:
                return new DecimalDataField(name, p.Precision, p.Scale, forceByteArrayEncoding: false, isNullable: nullable);
            case PrimitiveType p:
                return p.Name switch
                {
                    "timestamp" => new DateTimeDataField(name, DateTimeFormat.Timestamp, isAdjustedToUTC: true, unit: DateTimeTimeUnit.Micros, isNullable: nullable),
                    "timestamp_ntz" => new DateTimeDataField(name, DateTimeFormat.Timestamp, isAdjustedToUTC: false, unit: DateTimeTimeUnit.Micros, isNullable: nullable),
                    _ => new DataField(name, ClrTypeOf(p), isNullable: nullable),
                };
            // Parquet.Net writes groups (struct, list, map) as optional, as Spark does for nullable columns; a non-nullable
            // group is still written optional (readers accept it), so `nullable` only matters for leaves.
            case StructType s:
                return new PqStructField(name, s.Fields.Select(f => ToParquet(f.Name, f.Type, f.Nullable)).ToArray());
            case ArrayType a:
                return new ListField(name, ToParquet("element", a.ElementType, a.ContainsNull));
            case MapType m:
                return new MapField(name, ToParquet("key", m.KeyType, false), ToParquet("value", m.ValueType, m.ValueContainsNull));
            default:
                throw new NotSupportedException($"cannot write Delta type {type}");
        }
    }

    public static Type ClrTypeOf(PrimitiveType p) => p.Name switch
    {
        "string" => typeof(string),
        "long" => typeof(long),
        "integer" => typeof(int),
        "short" => typeof(short),
        "byte" => typeof(sbyte),
        "float" => typeof(float),
        "double" => typeof(double),
        "boolean" => typeof(bool),
        "binary" => typeof(byte[]),
        "date" => typeof(DateOnly),
        _ => throw new NotSupportedException($"cannot write Delta type {p.Name}"),
    };

    /// <summary>
    /// Builds the level tree of a top-level Parquet field, matching Delta types where a Delta type is given
    /// (children are matched by physical name). Throws when the file's levels are not the standard three-level
    /// encoding this reader understands.
    /// </summary>
    public static LevelNode Build(PqField field, DeltaType? deltaType, bool columnMapping, int parentDef = 0, int parentRep = 0)
    {
        var def = parentDef + (field.IsNullable ? 1 : 0);
        LevelNode node;
        switch (field)
        {
            case DataField df:
                if (df.MaxDefinitionLevel != def || df.MaxRepetitionLevel != parentRep)
                {
                    throw new DeltaProtocolException($"unsupported Parquet nesting for column '{df.Path}' (legacy list or map encoding)");
                }

                var leaf = new LeafNode { Field = df, DeltaType = deltaType as PrimitiveType, PresentDef = def, Nullable = field.IsNullable, MaxRep = parentRep };
                leaf.Leaves.Add(leaf);
                return leaf;
            case PqStructField sf:
                var st = deltaType as StructType;
                var children = new List<(string, LevelNode)>();
                foreach (var child in sf.Fields)
                {
                    var deltaField = st?.Fields.FirstOrDefault(f => f.PhysicalName(columnMapping) == child.Name)
                        ?? st?.Fields.FirstOrDefault(f => string.Equals(f.PhysicalName(columnMapping), child.Name, StringComparison.OrdinalIgnoreCase));
                    children.Add((deltaField?.Name ?? child.Name, Build(child, deltaField?.Type, columnMapping, def, parentRep)));
                }

                node = new StructNode { Children = children, PresentDef = def, Nullable = field.IsNullable };
                foreach (var (_, c) in children)
                {
                    node.Leaves.AddRange(c.Leaves);
                }

                return node;
            case ListField lf:
                var item = Build(lf.Item, (deltaType as ArrayType)?.ElementType, columnMapping, def + 1, parentRep + 1);
                node = new ListNode { Item = item, PresentDef = def, RepLevel = parentRep + 1, Nullable = field.IsNullable };
                node.Leaves.AddRange(item.Leaves);
                return node;
            case MapField mf:
                var mt = deltaType as MapType;
                var key = Build(mf.Key, mt?.KeyType, columnMapping, def + 1, parentRep + 1);
                var value = Build(mf.Value, mt?.ValueType, columnMapping, def + 1, parentRep + 1);
                node = new MapNode { Key = key, Value = value, PresentDef = def, RepLevel = parentRep + 1, Nullable = field.IsNullable };
                node.Leaves.AddRange(key.Leaves);
                node.Leaves.AddRange(value.Leaves);
                return node;
            default:
                throw new DeltaProtocolException($"unsupported Parquet field '{field.Name}' ({field.SchemaType})");
        }
    }
}
