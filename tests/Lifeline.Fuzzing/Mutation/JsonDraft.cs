using System.Text;
using System.Text.Json.Nodes;

namespace Lifeline.Fuzzing.Mutation;

/// <summary>
/// A JSON document being mutated: a tree for structural edits, plus raw text spliced in at render time for what a
/// tree cannot hold (duplicate keys, <c>1e999</c>, <c>NaN</c>, 10,000 levels of nesting).
/// </summary>
public sealed class JsonDraft
{
    private readonly List<(string Placeholder, string Raw)> _raw = [];
    private readonly List<(string Placeholder, string Name)> _keys = [];

    public JsonDraft(JsonNode? root) => Root = root;

    public JsonNode? Root { get; private set; }

    /// <summary>Root replaced by raw text (then the tree is ignored).</summary>
    public string? RawRoot { get; private set; }

    public static JsonDraft Parse(string json) => new(JsonNode.Parse(json));

    /// <summary>Every path in the tree (objects' properties and arrays' items), root excluded.</summary>
    public List<JsonPath> Paths()
    {
        var result = new List<JsonPath>();
        if (RawRoot is null && Root is not null)
        {
            Walk(Root, JsonPath.Root, result);
        }

        return result;
    }

    /// <summary>Paths of objects (where keys can be added or duplicated), root included.</summary>
    public List<JsonPath> ObjectPaths()
    {
        var result = new List<JsonPath>();
        if (RawRoot is null && Root is JsonObject)
        {
            result.Add(JsonPath.Root);
        }

        result.AddRange(Paths().Where(p => Get(p) is JsonObject));
        return result;
    }

    public JsonNode? Get(JsonPath path)
    {
        var node = Root;
        foreach (var segment in path.Segments)
        {
            node = (node, segment) switch
            {
                (JsonObject o, string name) when o.ContainsKey(name) => o[name],
                (JsonArray a, int i) when i < a.Count => a[i],
                _ => null,
            };
            if (node is null)
            {
                return null;
            }
        }

        return node;
    }

    /// <summary>Sets the value at <paramref name="path"/> to raw JSON text; false when the path no longer exists.</summary>
    public bool SetRaw(JsonPath path, string raw)
    {
        if (path.IsRoot)
        {
            RawRoot = raw;
            return true;
        }

        var placeholder = Placeholder(_raw.Count, "v");
        switch (Get(path.Parent), path.Last)
        {
            case (JsonObject o, string name) when o.ContainsKey(name):
                o[name] = placeholder;
                break;
            case (JsonArray a, int i) when i < a.Count:
                a[i] = placeholder;
                break;
            default:
                return false;
        }

        _raw.Add((placeholder, raw));
        return true;
    }

    public bool Remove(JsonPath path)
    {
        switch (Get(path.Parent), path.Last)
        {
            case (JsonObject o, string name) when o.ContainsKey(name):
                return o.Remove(name);
            case (JsonArray a, int i) when i < a.Count:
                a.RemoveAt(i);
                return true;
            default:
                return false;
        }
    }

    /// <summary>Adds a property <paramref name="name"/> with raw value text to the object at <paramref name="objectPath"/>; an existing name is added again (a duplicate key).</summary>
    public bool AddProperty(JsonPath objectPath, string name, string raw)
    {
        if (Get(objectPath) is not JsonObject o || RawRoot is not null)
        {
            return false;
        }

        var keyPlaceholder = Placeholder(_keys.Count, "k");
        var valuePlaceholder = Placeholder(_raw.Count, "v");
        o[keyPlaceholder] = valuePlaceholder;
        _keys.Add((keyPlaceholder, name));
        _raw.Add((valuePlaceholder, raw));
        return true;
    }

    public string Render()
    {
        if (RawRoot is not null)
        {
            return RawRoot;
        }

        var text = new StringBuilder(Root?.ToJsonString() ?? "null");
        foreach (var (placeholder, name) in _keys)
        {
            text.Replace("\"" + placeholder + "\"", System.Text.Json.JsonSerializer.Serialize(name));
        }

        foreach (var (placeholder, raw) in _raw)
        {
            text.Replace("\"" + placeholder + "\"", raw);
        }

        return text.ToString();
    }

    private static string Placeholder(int n, string kind) => $"@@fuzz-{kind}{n}@@";

    private static void Walk(JsonNode node, JsonPath at, List<JsonPath> into)
    {
        switch (node)
        {
            case JsonObject o:
                foreach (var (name, child) in o.ToList())
                {
                    var p = at.Append(name);
                    into.Add(p);
                    if (child is not null)
                    {
                        Walk(child, p, into);
                    }
                }

                break;
            case JsonArray a:
                for (var i = 0; i < a.Count; i++)
                {
                    var p = at.Append(i);
                    into.Add(p);
                    if (a[i] is { } child)
                    {
                        Walk(child, p, into);
                    }
                }

                break;
        }
    }
}

/// <summary>A path into a JSON document: property names and array indexes.</summary>
public sealed record JsonPath(IReadOnlyList<object> Segments)
{
    public static readonly JsonPath Root = new(Array.Empty<object>());

    public bool IsRoot => Segments.Count == 0;

    public JsonPath Parent => new(Segments.Take(Segments.Count - 1).ToArray());

    public object? Last => Segments.Count == 0 ? null : Segments[^1];

    /// <summary>The last property name on the path (the field a value belongs to).</summary>
    public string? FieldName => Segments.OfType<string>().LastOrDefault();

    public JsonPath Append(object segment) => new([.. Segments, segment]);

    public override string ToString() => "$" + string.Concat(Segments.Select(s => s is int i ? $"[{i}]" : "." + s));
}
