using System.Text;
using System.Text.Json;
using Lifeline.Fuzzing.Core;
using Lifeline.Fuzzing.Http;

namespace Lifeline.Fuzzing.Surfaces;

/// <summary>What every HTTP surface promises, whatever the input, and helpers the surfaces' contracts share.</summary>
public static class HttpOracles
{
    /// <summary>An answer at all, never a 5xx, and never an error without a body.</summary>
    public static void Common(HttpRequestSpec request, HttpOutcome outcome, List<Finding> into)
    {
        if (outcome.TransportError is not null)
        {
            into.Add(new Finding("answered", $"the server gave no answer: {outcome.TransportError}"));
            return;
        }

        if (outcome.Status >= 500)
        {
            into.Add(new Finding("no-5xx", $"{outcome.Status} for {request.Method} {Trim(request.Target)}"));
        }

        if (outcome.Status >= 400 && outcome.Body.Length == 0 && request.Method != "HEAD")
        {
            // doubled or encoded slashes reach no route: one cause for every template
            var path = request.Target.Split('?', 2)[0];
            var kind = outcome.Status is 404 or 405 && (path.Contains("//", StringComparison.Ordinal) || path.Contains("%2F", StringComparison.OrdinalIgnoreCase)) ? "*path with an empty or encoded segment (no route)" : null;
            into.Add(new Finding("error-has-body", $"{outcome.Status} with an empty body for {request.Method} {Trim(request.Target)}", kind));
        }
    }

    /// <summary>
    /// The path as the router sees it: percent-decoded (but not %2F), dot segments resolved, letter case folded, one
    /// trailing slash dropped; doubled slashes stay (they are empty segments, which no route has).
    /// </summary>
    public static string CanonicalPath(string target)
    {
        var path = target.Split('?', 2)[0];
        path = path.Replace("%2F", "\u0001", StringComparison.OrdinalIgnoreCase).Replace("%2f", "\u0001", StringComparison.Ordinal);
        try
        {
            path = Uri.UnescapeDataString(path);
        }
        catch (UriFormatException)
        {
        }

        var segments = new List<string>();
        var parts = path.Split('/');
        for (var i = 1; i < parts.Length; i++)
        {
            switch (parts[i])
            {
                case ".":
                    continue;
                case "..":
                    if (segments.Count > 0)
                    {
                        segments.RemoveAt(segments.Count - 1);
                    }

                    continue;
                default:
                    segments.Add(parts[i]);
                    break;
            }
        }

        var canonical = "/" + string.Join('/', segments);
        if (canonical.Length > 1 && canonical.EndsWith('/'))
        {
            canonical = canonical[..^1];
        }

        return canonical.Replace('\u0001', '/').ToLowerInvariant();
    }

    /// <summary>Parses a body as strict JSON (UTF-8, optional BOM, no duplicate keys, nothing after the value); the reason when it is not.</summary>
    public static string? StrictJsonError(byte[] body, out JsonDocument? document)
    {
        document = null;
        var span = body.AsSpan();
        if (span.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]))
        {
            span = span[3..];
        }

        try
        {
            _ = new UTF8Encoding(false, throwOnInvalidBytes: true).GetCharCount(span);
        }
        catch (DecoderFallbackException)
        {
            return "the body is not valid UTF-8";
        }

        try
        {
            document = JsonDocument.Parse(span.ToArray(), new JsonDocumentOptions { AllowDuplicateProperties = false, MaxDepth = 64 });
            return null;
        }
        catch (JsonException e)
        {
            return "the body is not strict JSON (" + e.Message.Split(" Path:")[0].Split(" LineNumber")[0] + ")";
        }
    }

    /// <summary>A content type is JSON: application/json or a +json type, any parameters.</summary>
    public static bool IsJsonContentType(string? contentType, out string? charset)
    {
        charset = null;
        if (contentType is null)
        {
            return false;
        }

        var parts = contentType.Split(';');
        var media = parts[0].Trim().ToLowerInvariant();
        foreach (var p in parts.Skip(1))
        {
            var kv = p.Split('=', 2);
            if (kv.Length == 2 && kv[0].Trim().Equals("charset", StringComparison.OrdinalIgnoreCase))
            {
                charset = kv[1].Trim().Trim('"').ToLowerInvariant();
            }
        }

        return media == "application/json" || (media.StartsWith("application/", StringComparison.Ordinal) && media.EndsWith("+json", StringComparison.Ordinal));
    }

    public static string Trim(string s) => s.Length <= 120 ? s : s[..100] + "…";
}
