using System.Text;
using Lifeline.Fuzzing.Core;
using Lifeline.Fuzzing.Mutation;

namespace Lifeline.Fuzzing.Http;

/// <summary>
/// Structure-aware mutation of valid HTTP requests: JSON values (types, ranges, non-finite numbers, sizes, nesting,
/// timestamps), keys (removed, unknown, duplicated), the body's bytes (trailing bytes, truncation, BOM, invalid UTF-8,
/// other charsets), the method, the path's spelling, the query, the token and the content type.
/// </summary>
public sealed class HttpMutator(IReadOnlyDictionary<string, string?> tokens)
{
    private static readonly string[] Methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE", "PROPFIND", "get", "Post", "put", "delete", "pAtCh", "FUZZ"];

    private static readonly string?[] ContentTypes =
    [
        null, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/xml",
        "application/json; charset=utf-8", "application/json; charset=latin1", "application/json; charset=utf-16",
        "APPLICATION/JSON", "application/problem+json", "application/vnd.api+json", "application/jsonx", "json", "",
        "application/octet-stream", "*/*",
    ];

    /// <summary>Size of the largest generated string values (bytes); the bench raises it.</summary>
    public int MaxStringLength { get; init; } = 20_000;

    public HttpCase Generate(HttpTemplate template, FuzzRandom r, int index)
    {
        var steps = new List<IFuzzStep>();
        var count = r.NextDouble() switch
        {
            < 0.08 => 0,
            < 0.55 => 1,
            < 0.85 => 2,
            _ => r.Next(3, 6),
        };
        for (var i = 0; i < count; i++)
        {
            var draft = new HttpDraft(template, tokens);
            foreach (var s in steps.OfType<IHttpStep>())
            {
                s.Apply(draft);
            }

            if (Next(draft, r) is { } step)
            {
                steps.Add(step);
            }
        }

        return new HttpCase(template, tokens, steps, index);
    }

    private IHttpStep? Next(HttpDraft d, FuzzRandom r)
    {
        var roll = r.Next(100);
        if (d.Json is not null && roll < 45)
        {
            return JsonStep(d.Json, r);
        }

        if (roll < 55 && (d.Json is not null || d.Template.RawBody is not null))
        {
            return BytesStep(r);
        }

        return r.Next(6) switch
        {
            0 => new SetMethod(r.Pick(Methods)),
            1 => new SetPath("spelling", PathSpellings.Mutate(d.Path, r)),
            2 => TokenStep(r),
            3 => new SetContentType(r.Pick(ContentTypes)),
            4 when d.Query.Count > 0 || r.Chance(0.3) => QueryStep(d, r),
            _ => r.Chance(0.5) ? TokenStep(r) : new SetPath("spelling", PathSpellings.Mutate(d.Path, r)),
        };
    }

    private IHttpStep TokenStep(FuzzRandom r)
    {
        var labels = tokens.Keys.ToList();
        var roll = r.Next(10);
        if (roll < 7)
        {
            var label = r.Pick(labels);
            return new SetToken(label, tokens[label] is { } t ? "Bearer " + t : null);
        }

        var real = tokens.Values.OfType<string>().ToList();
        var some = real.Count > 0 ? r.Pick(real) : "x";
        return r.Next(7) switch
        {
            // the scheme is case-insensitive (RFC 9110): the oracle grants the token's role to these
            0 => new SetToken("scheme-case", "bearer " + some),
            1 => new SetToken("no-scheme", some),
            2 => new SetToken("basic", "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("admin:" + some))),
            3 => new SetToken("empty-bearer", "Bearer "),
            4 => new SetToken("prefix-token", "Bearer " + some[..^1]),
            5 => new SetToken("long-garbage", "Bearer " + r.String(r.Next(100, 5000))),
            _ => new SetToken("token-suffix", "Bearer " + some + "x"),
        };
    }

    private static IHttpStep QueryStep(HttpDraft d, FuzzRandom r)
    {
        var i = d.Query.Count == 0 ? 0 : r.Next(d.Query.Count);
        var value = Uri.EscapeDataString(RawToText(r.Pick(r.Pick(new[] { Values.Integers, Values.Strings, Values.NonFinite, Values.Doubles }))));
        return r.Next(4) switch
        {
            0 => new EditQuery("drop", i, null, null),
            1 => new EditQuery("repeat", i, null, r.Chance(0.5) ? null : value),
            2 => new EditQuery("add", 0, r.Pick(new[] { "max_results", "page_token", "filter", "order_by", "x", "path", "run_id", "%00" }), value),
            _ => new EditQuery("value", i, null, value),
        };
    }

    private IHttpStep JsonStep(JsonDraft json, FuzzRandom r)
    {
        var paths = json.Paths();
        var objects = json.ObjectPaths();
        var roll = r.Next(100);
        if (paths.Count == 0 || roll < 6)
        {
            return new ReplaceBody("root", r.Pick(new[]
            {
                "null", "[]", "\"\"", "1", "true", "[" + json.Render() + "]", "{}", "", " ", Values.Nested(r.Pick(new[] { 10, 64, 65, 1000, 20000 }), r.Chance(0.5)),
            }));
        }

        if (roll < 18 && objects.Count > 0)
        {
            // a duplicate of an existing key, with another value or the same one
            var o = r.Pick(objects);
            if (json.Get(o) is System.Text.Json.Nodes.JsonObject obj && obj.Count > 0)
            {
                var (name, value) = obj.ElementAt(r.Next(obj.Count));
                var again = r.Chance(0.3) ? value?.ToJsonString() ?? "null" : ValueFor(name, r);
                return new AddJsonKey("duplicate-key", o, name, again);
            }
        }

        if (roll < 26 && objects.Count > 0)
        {
            return new AddJsonKey("unknown-key", r.Pick(objects), r.Pick(new[] { "extra", "", "LEAD_ID", "lead_id ", "__proto__", "$type", "a.b", "\u00e9" }), ValueFor("extra", r));
        }

        if (roll < 34)
        {
            return new RemoveJsonKey(r.Pick(paths));
        }

        var path = r.Pick(paths);
        return new SetJsonValue(FamilyFor(path.FieldName, r, out var raw), path, raw);
    }

    private string FamilyFor(string? field, FuzzRandom r, out string raw)
    {
        var isTime = field is not null && (field.EndsWith("_at", StringComparison.Ordinal) || field.Contains("time", StringComparison.OrdinalIgnoreCase) || field.Contains("timestamp", StringComparison.Ordinal));
        switch (r.Next(isTime ? 8 : 7))
        {
            case 0:
                raw = r.Pick(Values.WrongTypes);
                return "type";
            case 1:
                raw = r.Pick(Values.Integers);
                return "range";
            case 2:
                raw = r.Pick(Values.Doubles);
                return "range";
            case 3:
                raw = r.Pick(Values.NonFinite);
                return "non-finite";
            case 4:
                raw = r.Pick(Values.Strings);
                return "string";
            case 5:
                raw = r.Chance(0.5) ? Values.LongString(r.Pick(new[] { 256, 1000, 4096, MaxStringLength })) : "[" + string.Join(',', Enumerable.Repeat("1", r.Pick(new[] { 100, 1001, 5000 }))) + "]";
                return "size";
            case 6:
                raw = Values.Nested(r.Pick(new[] { 5, 64, 65, 1000, 20000 }), r.Chance(0.5));
                return "nesting";
            default:
                raw = r.Chance(0.5) ? r.Pick(Values.NonIsoTimestamps) : r.Pick(Values.IsoTimestamps);
                return "timestamp";
        }
    }

    private string ValueFor(string field, FuzzRandom r)
    {
        FamilyFor(field, r, out var raw);
        return raw;
    }

    private static IHttpStep BytesStep(FuzzRandom r) => r.Next(9) switch
    {
        0 => new EditBytes("trailing-bytes", "garbage", 0, "garbage"u8.ToArray()),
        1 => new EditBytes("trailing-bytes", "second value", 0, "{}"u8.ToArray()),
        2 => new EditBytes("trailing-bytes", "whitespace", 0, " \r\n\t"u8.ToArray()),
        3 => new EditBytes("trailing-bytes", "NUL", 0, [0]),
        4 => new EditBytes("leading-bytes", "BOM", 0, [0xEF, 0xBB, 0xBF]),
        5 => new EditBytes("truncate", "cut", Math.Round(r.NextDouble(), 3), []),
        6 => new EditBytes("insert-bytes", "invalid UTF-8", Math.Round(r.NextDouble(), 3), r.Pick(new byte[][] { [0xFF], [0xC3], [0xED, 0xA0, 0x80], [0xF8, 0x88, 0x80, 0x80, 0x80], [0xC0, 0xAF] })),
        7 => new EditBytes("reencode", r.Pick(new[] { "utf-16le", "utf-16be", "utf-32", "latin1" }), 0, []),
        _ => new EditBytes("leading-bytes", "whitespace", 0, " \n"u8.ToArray()),
    };

    private static string RawToText(string raw) => raw.Length >= 2 && raw[0] == '"' && raw[^1] == '"' ? raw[1..^1] : raw;
}
