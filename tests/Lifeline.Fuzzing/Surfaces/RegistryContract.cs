using System.Text.Json;
using Lifeline.Fuzzing.Http;

namespace Lifeline.Fuzzing.Surfaces;

/// <summary>The roles of the registry's API (docs/registry.md, "Authentication"), ordered.</summary>
public enum Role
{
    None = 0,
    Read = 1,
    Write = 2,
    Admin = 3,
}

/// <summary>
/// The registry's contract as the fuzzer judges it (docs/registry-api.md, docs/registry.md), written from the docs
/// and independent of the server's own authorization code: which role a request needs, which role its header
/// presents, and what an error body is.
/// </summary>
public static class RegistryContract
{
    public const string RestPrefix = "/api/2.0/mlflow/";
    public const string AjaxPrefix = "/ajax-api/2.0/mlflow/";
    public const string ArtifactsPrefix = "/api/2.0/mlflow-artifacts/artifacts";

    /// <summary>Endpoints that read whatever the method (POST searches included).</summary>
    private static readonly HashSet<string> Reads = new(StringComparer.Ordinal)
    {
        "experiments/get", "experiments/get-by-name", "experiments/search", "runs/get", "runs/search", "metrics/get-history",
        "artifacts/list", "registered-models/get", "registered-models/search", "registered-models/get-latest-versions",
        "model-versions/get", "model-versions/search", "model-versions/get-download-uri",
    };

    private static readonly HashSet<string> AdminOnly = new(StringComparer.Ordinal)
    {
        "experiments/delete", "registered-models/delete", "model-versions/delete",
    };

    /// <summary>The least role that may be answered 2xx for this request.</summary>
    public static Role Required(HttpRequestSpec request)
    {
        var path = HttpOracles.CanonicalPath(request.Target);
        // the router matches methods ignoring letter case, so "put" reaches the PUT handler: judge it as a PUT
        var reading = request.Method.ToUpperInvariant() is "GET" or "HEAD" or "OPTIONS";
        if (path == ArtifactsPrefix || path.StartsWith(ArtifactsPrefix + "/", StringComparison.Ordinal))
        {
            return reading ? Role.None : Role.Write;
        }

        string? name = path.StartsWith(RestPrefix, StringComparison.Ordinal) ? path[RestPrefix.Length..]
            : path.StartsWith(AjaxPrefix, StringComparison.Ordinal) ? path[AjaxPrefix.Length..]
            : null;
        if (name is null)
        {
            // not an API path: nothing there may write (deny by default)
            return reading ? Role.None : Role.Write;
        }

        if (AdminOnly.Contains(name))
        {
            return Role.Admin;
        }

        if (Reads.Contains(name) || (name == "registered-models/alias" && reading))
        {
            return Role.None;
        }

        return reading && !IsKnownWrite(name) ? Role.None : Role.Write;
    }

    private static bool IsKnownWrite(string name) => name is "experiments/create" or "experiments/update" or "experiments/restore"
        or "experiments/set-experiment-tag" or "runs/create" or "runs/update" or "runs/delete" or "runs/restore" or "runs/log-metric"
        or "runs/log-parameter" or "runs/set-tag" or "runs/delete-tag" or "runs/log-batch" or "registered-models/create"
        or "registered-models/rename" or "registered-models/update" or "registered-models/set-tag" or "registered-models/delete-tag"
        or "model-versions/create" or "model-versions/update" or "model-versions/transition-stage" or "model-versions/set-tag"
        or "model-versions/delete-tag";

    /// <summary>The role the Authorization header proves: a Bearer (any letter case) of a configured token, else none.</summary>
    public static Role Presented(HttpRequestSpec request, IReadOnlyDictionary<string, Role> tokens)
    {
        var header = request.Header("Authorization");
        if (header is null)
        {
            return Role.None;
        }

        var parts = header.Trim().Split(' ', 2, StringSplitOptions.RemoveEmptyEntries);
        return parts.Length == 2 && parts[0].Equals("Bearer", StringComparison.OrdinalIgnoreCase) && tokens.TryGetValue(parts[1].Trim(), out var role) ? role : Role.None;
    }

    /// <summary>An MLflow error body: a JSON object with string <c>error_code</c> and <c>message</c>.</summary>
    public static bool IsMlflowError(byte[] body)
    {
        try
        {
            using var doc = JsonDocument.Parse(body);
            var root = doc.RootElement;
            return root.ValueKind == JsonValueKind.Object
                && root.TryGetProperty("error_code", out var code) && code.ValueKind == JsonValueKind.String && code.GetString()!.Length > 0
                && root.TryGetProperty("message", out var message) && message.ValueKind == JsonValueKind.String;
        }
        catch (JsonException)
        {
            return false;
        }
    }
}
