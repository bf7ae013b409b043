using System.Globalization;
using System.Text;
using Lifeline.Fuzzing.Core;
using Lifeline.Fuzzing.Mutation;

namespace Lifeline.Fuzzing.Http;

/// <summary>A request ready to send byte for byte.</summary>
public sealed record HttpRequestSpec(string Method, string Target, IReadOnlyList<KeyValuePair<string, string>> Headers, byte[]? Body, string TokenLabel)
{
    public string? Header(string name) => Headers.LastOrDefault(h => string.Equals(h.Key, name, StringComparison.OrdinalIgnoreCase)).Value;
}

/// <summary>The state a request is built in: the template's parts, changed by steps in order.</summary>
public sealed class HttpDraft
{
    public HttpDraft(HttpTemplate template, IReadOnlyDictionary<string, string?> tokens)
    {
        Template = template;
        Tokens = tokens;
        Method = template.Method;
        Path = template.Path;
        Query = [.. template.Query];
        Json = template.Json is null ? null : JsonDraft.Parse(template.Json);
        ContentType = template.ContentType ?? (template.Json is null ? null : "application/json");
        TokenLabel = template.Token;
        Authorization = tokens.TryGetValue(template.Token, out var t) && t is not null ? "Bearer " + t : null;
    }

    public HttpTemplate Template { get; }

    public IReadOnlyDictionary<string, string?> Tokens { get; }

    public string Method { get; set; }

    public string Path { get; set; }

    public List<KeyValuePair<string, string>> Query { get; }

    public JsonDraft? Json { get; }

    /// <summary>Byte-level edits applied after the JSON is rendered.</summary>
    public List<Func<byte[], byte[]>> ByteEdits { get; } = [];

    public string? ContentType { get; set; }

    public string? Authorization { get; set; }

    public string TokenLabel { get; set; }

    public List<KeyValuePair<string, string>> ExtraHeaders { get; } = [];

    public HttpRequestSpec Build()
    {
        byte[]? body = Json is not null ? Encoding.UTF8.GetBytes(Json.Render()) : Template.RawBody;
        foreach (var edit in ByteEdits)
        {
            body = edit(body ?? []);
        }

        var target = Path + (Query.Count == 0 ? "" : "?" + string.Join('&', Query.Select(q => q.Key + "=" + q.Value)));
        var headers = new List<KeyValuePair<string, string>>();
        if (ContentType is not null)
        {
            headers.Add(new("Content-Type", ContentType));
        }

        if (Authorization is not null)
        {
            headers.Add(new("Authorization", Authorization));
        }

        headers.AddRange(ExtraHeaders);
        return new HttpRequestSpec(Method, target, headers, body, TokenLabel);
    }
}

/// <summary>A mutation of an HTTP request.</summary>
public interface IHttpStep : IFuzzStep
{
    void Apply(HttpDraft draft);
}

/// <summary>A generated HTTP input of a surface.</summary>
public sealed class HttpCase : FuzzCase
{
    public HttpCase(HttpTemplate template, IReadOnlyDictionary<string, string?> tokens, IReadOnlyList<IFuzzStep> steps, int index)
        : base(template.Name, steps, index)
    {
        HttpTemplate = template;
        Tokens = tokens;
        var draft = new HttpDraft(template, tokens);
        foreach (var step in steps.OfType<IHttpStep>())
        {
            step.Apply(draft);
        }

        Request = draft.Build();
    }

    public HttpTemplate HttpTemplate { get; }

    public IReadOnlyDictionary<string, string?> Tokens { get; }

    public HttpRequestSpec Request { get; }

    public override FuzzCase WithSteps(IReadOnlyList<IFuzzStep> steps) => new HttpCase(HttpTemplate, Tokens, steps, Index);

    public override long ApproximateBytes => 1024 + (Request.Body?.Length ?? 0) + (Request.Target.Length * 2L)
        + Steps.Sum(s => s switch { SetJsonValue v => v.Raw.Length * 2L, AddJsonKey k => k.Raw.Length * 2L, ReplaceBody b => b.Raw.Length * 2L, _ => 64L });

    public override string Repro()
    {
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"curl -sS -X {Request.Method} 'http://127.0.0.1:PORT{Request.Target}'");
        foreach (var (name, value) in Request.Headers)
        {
            var shown = name.Equals("Authorization", StringComparison.OrdinalIgnoreCase) ? $"<{Request.TokenLabel} token>" : value;
            sb.Append(CultureInfo.InvariantCulture, $" -H '{name}: {shown}'");
        }

        if (Request.Body is { Length: > 0 } body)
        {
            sb.Append(" --data-binary ").Append(ShowBody(body));
        }

        return sb.ToString();
    }

    /// <summary>A body as a shell word: printable UTF-8 quoted (long runs elided), anything else as $'\xNN' escapes.</summary>
    public static string ShowBody(byte[] body, int max = 400)
    {
        var printable = body.All(b => b is >= 0x20 and < 0x7f or (byte)'\n');
        if (printable)
        {
            var text = Encoding.ASCII.GetString(body);
            text = System.Text.RegularExpressions.Regex.Replace(text, "(.)\\1{40,}", m => $"{m.Groups[1].Value}…({m.Length}×)…");
            if (text.Length > max)
            {
                text = text[..max] + $"…({body.Length} bytes)";
            }

            return "'" + text.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
        }

        var sb = new StringBuilder("$'");
        foreach (var b in body.Take(max))
        {
            if (b is >= 0x20 and < 0x7f && b != (byte)'\'' && b != (byte)'\\')
            {
                sb.Append((char)b);
            }
            else
            {
                sb.Append(CultureInfo.InvariantCulture, $"\\x{b:x2}");
            }
        }

        sb.Append('\'');
        if (body.Length > max)
        {
            sb.Append(CultureInfo.InvariantCulture, $"…({body.Length} bytes)");
        }

        return sb.ToString();
    }
}
