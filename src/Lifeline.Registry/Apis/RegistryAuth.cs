using System.Security.Cryptography;
using System.Text;
using Lifeline.Registry.Contracts;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Lifeline.Registry.Apis;

/// <summary>
/// Bearer-token authorisation of the API: each request needs a role (none for open reads, Read, Write, Admin); the
/// token's SHA-256 is compared in constant time with the configured ones. Tokens are never logged: only the path,
/// the method and the reason of a refusal are.
/// </summary>
internal sealed class RegistryAuth
{
    private readonly List<(byte[] Hash, RegistryRole Role)> _tokens;
    private readonly RegistryOptions _options;
    private readonly ILogger _logger;

    public RegistryAuth(RegistryOptions options, ILogger<RegistryAuth> logger)
    {
        _options = options;
        _logger = logger;
        _tokens = options.Tokens.Select(t => (t.Sha256 is { } hex ? Convert.FromHexString(hex) : SHA256.HashData(Encoding.UTF8.GetBytes(t.Token!)), t.Role)).ToList();
    }

    public static RegistryRole? RequiredRole(HttpRequest request, bool requireTokenForReads)
    {
        var path = request.Path.Value ?? "";
        var endpoint = path.Contains("/mlflow/", StringComparison.Ordinal) ? path[(path.IndexOf("/mlflow/", StringComparison.Ordinal) + 8)..] : "";
        var isRead = HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method) || RegistryApi.ReadOnlyPosts.Contains(endpoint);
        if (isRead)
        {
            return requireTokenForReads ? RegistryRole.Read : null;
        }

        return RegistryApi.AdminOnly.Contains(endpoint) ? RegistryRole.Admin : RegistryRole.Write;
    }

    public async Task InvokeAsync(HttpContext context, Func<Task> next)
    {
        var path = context.Request.Path.Value ?? "";
        if (!path.StartsWith("/api/", StringComparison.Ordinal) && !path.StartsWith("/ajax-api/", StringComparison.Ordinal))
        {
            await next();
            return;
        }

        var required = RequiredRole(context.Request, _options.RequireTokenForReads);
        if (required is null || (_tokens.Count == 0 && _options.AllowAnonymousWrites && !_options.RequireTokenForReads))
        {
            await next();
            return;
        }

        var role = Authenticate(context.Request.Headers.Authorization.ToString());
        if (role is null)
        {
            Log.AuthRefused(_logger, context.Request.Method, path, "missing or unknown bearer token");
            context.Response.Headers.WWWAuthenticate = "Bearer";
            await RegistryApi.Error(ErrorCodes.Unauthenticated, _tokens.Count == 0
                ? "This registry has no tokens configured (Registry:Tokens), so it accepts no writes."
                : "A valid 'Authorization: Bearer <token>' header is required.").ExecuteAsync(context);
            return;
        }

        if (role < required)
        {
            Log.AuthRefused(_logger, context.Request.Method, path, $"role {role} below {required}");
            await RegistryApi.Error(ErrorCodes.PermissionDenied, $"Permission denied: this endpoint needs the {required} role.").ExecuteAsync(context);
            return;
        }

        await next();
    }

    private RegistryRole? Authenticate(string header)
    {
        const string bearer = "Bearer ";
        if (!header.StartsWith(bearer, StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(header[bearer.Length..].Trim()));
        RegistryRole? best = null;
        foreach (var (expected, role) in _tokens)
        {
            if (CryptographicOperations.FixedTimeEquals(hash, expected) && (best is null || role > best))
            {
                best = role;
            }
        }

        return best;
    }
}
