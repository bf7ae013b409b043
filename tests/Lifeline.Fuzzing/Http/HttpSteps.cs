using System.Text;
using Lifeline.Fuzzing.Mutation;

namespace Lifeline.Fuzzing.Http;

/// <summary>Replaces the JSON value at a path with raw text (types, ranges, non-finite numbers, sizes, nesting, timestamps).</summary>
public sealed record SetJsonValue(string Kind, JsonPath Path, string Raw) : IHttpStep
{
    public void Apply(HttpDraft draft) => draft.Json?.SetRaw(Path, Raw);

    public string Describe() => $"{Kind} {Path} = {Short(Raw)}";

    internal static string Short(string s) => s.Length <= 60 ? s : s[..40] + $"…({s.Length} chars)";
}

public sealed record RemoveJsonKey(JsonPath Path) : IHttpStep
{
    public string Kind => "remove-key";

    public void Apply(HttpDraft draft) => draft.Json?.Remove(Path);

    public string Describe() => $"remove {Path}";
}

/// <summary>Adds a property; when the name exists already this is a duplicate key.</summary>
public sealed record AddJsonKey(string Kind, JsonPath Object, string Name, string Raw) : IHttpStep
{
    public void Apply(HttpDraft draft) => draft.Json?.AddProperty(Object, Name, Raw);

    public string Describe() => $"{Kind} {Object}.{Name} = {SetJsonValue.Short(Raw)}";
}

public sealed record ReplaceBody(string Kind, string Raw) : IHttpStep
{
    public void Apply(HttpDraft draft)
    {
        if (draft.Json is not null)
        {
            draft.Json.SetRaw(JsonPath.Root, Raw);
        }
        else
        {
            draft.ByteEdits.Add(_ => Encoding.UTF8.GetBytes(Raw));
        }
    }

    public string Describe() => $"{Kind} body = {SetJsonValue.Short(Raw)}";
}

/// <summary>Byte-level edits of the rendered body: trailing bytes, BOM, truncation, invalid UTF-8, other charsets.</summary>
public sealed record EditBytes(string Kind, string Label, double Position, byte[] Bytes) : IHttpStep
{
    public void Apply(HttpDraft draft) => draft.ByteEdits.Add(body => Kind switch
    {
        "trailing-bytes" => [.. body, .. Bytes],
        "leading-bytes" => [.. Bytes, .. body],
        "truncate" => body[..(int)(body.Length * Position)],
        "insert-bytes" => Insert(body, Position, Bytes),
        "reencode" => Reencode(body, Label),
        _ => body,
    });

    public string Describe() => $"{Kind} {Label}";

    private static byte[] Insert(byte[] body, double position, byte[] bytes)
    {
        // inside a string value when there is one, so the bytes reach the string decoder
        var text = Encoding.UTF8.GetString(body);
        var quotes = Enumerable.Range(0, text.Length).Where(i => text[i] == '"').ToList();
        var at = quotes.Count >= 2 ? Encoding.UTF8.GetByteCount(text[..(quotes[(int)(position * (quotes.Count - 1))] + 1)]) : (int)(body.Length * position);
        return [.. body[..at], .. bytes, .. body[at..]];
    }

    private static byte[] Reencode(byte[] body, string encoding)
    {
        var text = Encoding.UTF8.GetString(body).Replace("\"a\"", "\"é✓\"", StringComparison.Ordinal);
        return encoding switch
        {
            "utf-16le" => Encoding.Unicode.GetBytes(text),
            "utf-16be" => Encoding.BigEndianUnicode.GetBytes(text),
            "utf-32" => Encoding.UTF32.GetBytes(text),
            "latin1" => Encoding.Latin1.GetBytes(text.Replace("\"", "\"é", StringComparison.Ordinal)),
            _ => body,
        };
    }
}

public sealed record SetMethod(string Method) : IHttpStep
{
    public string Kind => "method";

    public void Apply(HttpDraft draft) => draft.Method = Method;

    public string Describe() => $"method {Method}";
}

public sealed record SetPath(string Label, string Path) : IHttpStep
{
    public string Kind => "path";

    public void Apply(HttpDraft draft) => draft.Path = Path;

    public string Describe() => $"path {Label}: {Path}";
}

/// <summary>Changes the query: a value, a dropped or repeated parameter, an unknown one.</summary>
public sealed record EditQuery(string Label, int Index, string? Name, string? Value) : IHttpStep
{
    public string Kind => "query";

    public void Apply(HttpDraft draft)
    {
        switch (Label)
        {
            case "drop" when Index < draft.Query.Count:
                draft.Query.RemoveAt(Index);
                break;
            case "repeat" when Index < draft.Query.Count:
                draft.Query.Add(new(draft.Query[Index].Key, Value ?? draft.Query[Index].Value));
                break;
            case "value" when Index < draft.Query.Count:
                draft.Query[Index] = new(draft.Query[Index].Key, Value ?? "");
                break;
            case "add":
                draft.Query.Add(new(Name ?? "x", Value ?? ""));
                break;
        }
    }

    public string Describe() => $"query {Label} #{Index} {Name} {Value}";
}

public sealed record SetContentType(string? ContentType) : IHttpStep
{
    public string Kind => "content-type";

    public void Apply(HttpDraft draft) => draft.ContentType = ContentType;

    public string Describe() => $"content-type {ContentType ?? "(none)"}";
}

/// <summary>Sends another token (by label of the surface's token table) or a malformed Authorization header.</summary>
public sealed record SetToken(string Label, string? Header) : IHttpStep
{
    public string Kind => "token";

    public void Apply(HttpDraft draft)
    {
        draft.TokenLabel = Label;
        draft.Authorization = Header;
    }

    public string Describe() => $"token {Label}";
}

public sealed record AddHeader(string Name, string Value) : IHttpStep
{
    public string Kind => "header";

    public void Apply(HttpDraft draft) => draft.ExtraHeaders.Add(new(Name, Value));

    public string Describe() => $"header {Name}: {Value}";
}
