using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Lifeline.Fuzzing.Http;

namespace Lifeline.Fuzzing.Surfaces;

/// <summary>
/// The scoring service's input contract (docs/scoring.md, "Bad input never gives a 500"), written independently of the
/// service: <see cref="Violation"/> names why a request must not be answered 2xx, or returns null when the contract
/// allows it or does not decide (then only the common oracles apply).
/// </summary>
public static partial class ScoringContract
{
    public const int MaxLeadBodyBytes = 16 * 1024;
    public const int MaxBatchBodyBytes = 4 * 1024 * 1024;
    public const int MaxBatchSize = 1000;

    /// <summary>Methods each endpoint answers (HEAD is allowed where GET is).</summary>
    public static readonly IReadOnlyDictionary<string, string[]> Endpoints = new Dictionary<string, string[]>(StringComparer.Ordinal)
    {
        ["/score-lead"] = ["POST"],
        ["/score-leads"] = ["POST"],
        ["/health"] = ["GET"],
        ["/health/ready"] = ["GET"],
        ["/model-info"] = ["GET"],
        ["/metrics"] = ["GET"],
        ["/openapi/v1.json"] = ["GET"],
        ["/admin/rollback"] = ["POST"],
    };

    private static readonly string[] StringFields = ["company_size", "industry", "referral_source"];
    private static readonly string[] DoubleFields = ["time_on_site", "form_completion_time"];

    public static string? Violation(HttpRequestSpec request)
    {
        var path = HttpOracles.CanonicalPath(request.Target);
        if (!Endpoints.TryGetValue(path, out var methods))
        {
            return null;
        }

        // the router matches methods ignoring letter case ("post" reaches the POST handler)
        var method = request.Method.ToUpperInvariant();
        var allowed = methods.Contains(method) || (method == "HEAD" && methods.Contains("GET"));
        if (!allowed)
        {
            return method == "OPTIONS" ? null : $"{request.Method} is not a method of {path} (405)";
        }

        if (path is not ("/score-lead" or "/score-leads") || method != "POST")
        {
            return null;
        }

        if (!HttpOracles.IsJsonContentType(request.Header("Content-Type"), out var charset))
        {
            return $"content type '{request.Header("Content-Type") ?? "(none)"}' is not JSON (415)";
        }

        var body = request.Body ?? [];
        var limit = path == "/score-lead" ? MaxLeadBodyBytes : MaxBatchBodyBytes;
        if (body.Length > limit)
        {
            return $"body of {body.Length} bytes is over the {limit}-byte limit (413)";
        }

        if (charset is not null && charset is not ("utf-8" or "utf8"))
        {
            return null;
        }

        if (HttpOracles.StrictJsonError(body, out var document) is { } error)
        {
            return error + " (400)";
        }

        using (document)
        {
            var root = document!.RootElement;
            if (path == "/score-lead")
            {
                return Lead(root, "");
            }

            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("leads", out var leads) || leads.ValueKind != JsonValueKind.Array)
            {
                return "a batch needs {\"leads\": [...]}";
            }

            if (leads.GetArrayLength() is 0 or > MaxBatchSize)
            {
                return $"a batch of {leads.GetArrayLength()} leads is outside 1..{MaxBatchSize} (422)";
            }

            var i = 0;
            foreach (var lead in leads.EnumerateArray())
            {
                if (Lead(lead, $"leads[{i}].") is { } v)
                {
                    return v;
                }

                i++;
            }

            return null;
        }
    }

    private static string? Lead(JsonElement lead, string prefix)
    {
        if (lead.ValueKind != JsonValueKind.Object)
        {
            return $"{(prefix.Length == 0 ? "the body" : prefix.TrimEnd('.'))} is {lead.ValueKind}, not a lead object";
        }

        if (!lead.TryGetProperty("lead_id", out var id) || id.ValueKind != JsonValueKind.String || id.GetString() is not { Length: > 0 })
        {
            return $"{prefix}lead_id is missing, empty or not a string (422/400)";
        }

        foreach (var f in StringFields)
        {
            if (lead.TryGetProperty(f, out var v) && v.ValueKind is not (JsonValueKind.String or JsonValueKind.Null))
            {
                return $"{prefix}{f} is a {v.ValueKind}, not a string (400)";
            }
        }

        if (lead.TryGetProperty("page_views", out var pv) && pv.ValueKind != JsonValueKind.Null)
        {
            if (pv.ValueKind != JsonValueKind.Number || !IntegerLiteral().IsMatch(pv.GetRawText()) || !int.TryParse(pv.GetRawText(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n))
            {
                return $"{prefix}page_views = {Short(pv)} is not a 32-bit integer (400)";
            }

            if (n < 0)
            {
                return $"{prefix}page_views = {n} is negative (422)";
            }
        }

        foreach (var f in DoubleFields)
        {
            if (lead.TryGetProperty(f, out var v) && v.ValueKind != JsonValueKind.Null)
            {
                if (v.ValueKind != JsonValueKind.Number)
                {
                    return $"{prefix}{f} is a {v.ValueKind}, not a number (400)";
                }

                var d = double.Parse(v.GetRawText(), NumberStyles.Float, CultureInfo.InvariantCulture);
                if (!double.IsFinite(d))
                {
                    return $"{prefix}{f} = {Short(v)} is not finite (400)";
                }

                if (d < 0)
                {
                    return $"{prefix}{f} = {Short(v)} is negative (422)";
                }
            }
        }

        if (lead.TryGetProperty("created_at", out var created) && created.ValueKind != JsonValueKind.Null)
        {
            if (created.ValueKind != JsonValueKind.String)
            {
                return $"{prefix}created_at is a {created.ValueKind}, not a string (400)";
            }

            var text = created.GetString()!;
            if (text.Length > 0 && !IsIso8601(text))
            {
                return $"{prefix}created_at = '{text}' is not ISO 8601 (422)";
            }
        }

        return null;
    }

    /// <summary>ISO 8601 calendar date or date-time (a space for T tolerated, as RFC 3339 allows), with valid fields.</summary>
    public static bool IsIso8601(string text)
    {
        var m = IsoPattern().Match(text);
        if (!m.Success)
        {
            return false;
        }

        int G(string name, int fallback = 0) => m.Groups[name].Success ? int.Parse(m.Groups[name].Value, CultureInfo.InvariantCulture) : fallback;
        var (y, mo, d) = (G("y"), G("mo"), G("d"));
        if (y < 1 || mo is < 1 or > 12 || d < 1 || d > DateTime.DaysInMonth(y, mo) || G("h") > 23 || G("mi") > 59 || G("s") > 59)
        {
            return false;
        }

        return !m.Groups["oh"].Success || (G("oh") <= 14 && G("om") <= 59);
    }

    private static string Short(JsonElement e) => e.GetRawText() is { Length: > 40 } t ? t[..30] + "…" : e.GetRawText();

    [GeneratedRegex("^-?(0|[1-9][0-9]*)$")]
    private static partial Regex IntegerLiteral();

    [GeneratedRegex(@"^(?<y>\d{4})-(?<mo>\d{2})-(?<d>\d{2})([T ](?<h>\d{2}):(?<mi>\d{2})(:(?<s>\d{2})(\.\d{1,9})?)?(Z|[+-](?<oh>\d{2}):?(?<om>\d{2})?)?)?$")]
    private static partial Regex IsoPattern();
}
