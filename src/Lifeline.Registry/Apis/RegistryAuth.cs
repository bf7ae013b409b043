using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Lifeline.Registry.Contracts;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Lifeline.Registry.Apis;

/// <summary>
/// The registry's authorization policies. Every endpoint declares one of them as metadata
/// (<c>RequireAuthorization(RegistryPolicies.Write)</c> on its route group); an endpoint without one falls under the
/// fallback policy, which denies everyone. The decision is made on the endpoint the router selected, so no spelling
/// of a path (letter case, trailing or doubled slashes, percent-encoding) can reach a handler under a weaker policy.
/// </summary>
internal static class RegistryPolicies
{
    /// <summary>Reads: any token; also no token at all unless <see cref="RegistryOptions.RequireTokenForReads"/>.</summary>
    public const string Read = "read";

    /// <summary>Writes: a Write or Admin token.</summary>
    public const string Write = "write";

    /// <summary>Deletions of experiments, registered models and versions: an Admin token.</summary>
    public const string Admin = "admin";

    /// <summary>The policy names, weakest first.</summary>
    public static readonly IReadOnlyList<string> All = [Read, Write, Admin];

    /// <summary>The claim type carrying a caller's role (Read, Write, Admin).</summary>
    public const string RoleClaim = "lifeline:registry-role";

    /// <summary>The authentication scheme of the bearer tokens.</summary>
    public const string Scheme = "RegistryBearer";

    public static void Configure(AuthorizationOptions authorization, RegistryOptions options)
    {
        authorization.AddPolicy(Read, p => p.AddRequirements(new RegistryRoleRequirement(RegistryRole.Read, AllowsAnonymous: !options.RequireTokenForReads)));
        authorization.AddPolicy(Write, p => p.AddRequirements(new RegistryRoleRequirement(RegistryRole.Write, AllowsAnonymous: false)));
        authorization.AddPolicy(Admin, p => p.AddRequirements(new RegistryRoleRequirement(RegistryRole.Admin, AllowsAnonymous: false)));

        // Deny by default: an endpoint (or a request that matched none) without a declared policy is refused to everyone.
        authorization.FallbackPolicy = new AuthorizationPolicyBuilder().AddRequirements(new UndeclaredPolicyRequirement()).Build();
        authorization.DefaultPolicy = authorization.FallbackPolicy;
        authorization.InvokeHandlersAfterFailure = false;
    }
}

/// <summary>Needs a caller with at least <paramref name="Role"/>; <paramref name="AllowsAnonymous"/> also lets a request without any token in.</summary>
internal sealed record RegistryRoleRequirement(RegistryRole Role, bool AllowsAnonymous) : IAuthorizationRequirement;

/// <summary>The fallback policy's requirement: never met.</summary>
internal sealed record UndeclaredPolicyRequirement : IAuthorizationRequirement;

/// <summary>Decides <see cref="RegistryRoleRequirement"/> from the caller's role claim.</summary>
internal sealed class RegistryRoleHandler : AuthorizationHandler<RegistryRoleRequirement>
{
    protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, RegistryRoleRequirement requirement)
    {
        var role = RoleOf(context.User);
        if (role >= requirement.Role || (role is null && requirement.AllowsAnonymous && !PresentedBadToken(context.Resource)))
        {
            context.Succeed(requirement);
        }

        return Task.CompletedTask;
    }

    public static RegistryRole? RoleOf(ClaimsPrincipal user) =>
        user.FindFirst(RegistryPolicies.RoleClaim)?.Value is { } value && Enum.TryParse<RegistryRole>(value, out var role) ? role : null;

    /// <summary>A request that presented a bearer token nobody issued is refused even where anonymous callers are let in.</summary>
    private static bool PresentedBadToken(object? resource) =>
        resource is HttpContext http && RegistryBearerHandler.PresentedUnknownToken(http);
}

/// <summary>
/// The bearer tokens configured in <see cref="RegistryOptions.Tokens"/>: a presented token's SHA-256 is compared in
/// constant time with each configured one. Tokens are never logged.
/// </summary>
internal sealed class RegistryAuth
{
    private readonly List<(byte[] Hash, RegistryRole Role)> _tokens;

    public RegistryAuth(RegistryOptions options)
    {
        Options = options;
        _tokens = options.Tokens.Select(t => (t.Sha256 is { } hex ? Convert.FromHexString(hex) : SHA256.HashData(Encoding.UTF8.GetBytes(t.Token!)), t.Role)).ToList();
    }

    public RegistryOptions Options { get; }

    public bool HasTokens => _tokens.Count > 0;

    /// <summary>Local demos only: no token configured and <see cref="RegistryOptions.AllowAnonymousWrites"/> (reads open) lets everyone do everything.</summary>
    public bool EveryoneIsAdmin => _tokens.Count == 0 && Options.AllowAnonymousWrites && !Options.RequireTokenForReads;

    /// <summary>The best role granted by <paramref name="token"/>, or null when no configured token matches.</summary>
    public RegistryRole? RoleOf(string token)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(token));
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

/// <summary>
/// Authenticates <c>Authorization: Bearer &lt;token&gt;</c> against <see cref="RegistryAuth"/>: a known token gives a
/// principal with its role; no header (or another scheme) gives no result (anonymous); an unknown bearer token fails.
/// </summary>
internal sealed class RegistryBearerHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, RegistryAuth auth)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    private const string Bearer = "Bearer ";
    private static readonly object UnknownTokenKey = new();

    /// <summary>True when the request carried a bearer token that matches no configured one.</summary>
    public static bool PresentedUnknownToken(HttpContext context) => context.Items.ContainsKey(UnknownTokenKey);

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (auth.EveryoneIsAdmin)
        {
            return Task.FromResult(Success(RegistryRole.Admin, "anonymous"));
        }

        var header = Request.Headers.Authorization.ToString();
        if (!header.StartsWith(Bearer, StringComparison.OrdinalIgnoreCase))
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        if (auth.RoleOf(header[Bearer.Length..].Trim()) is { } role)
        {
            return Task.FromResult(Success(role, "token"));
        }

        Context.Items[UnknownTokenKey] = true;
        return Task.FromResult(AuthenticateResult.Fail("unknown bearer token"));
    }

    private AuthenticateResult Success(RegistryRole role, string name)
    {
        var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, name), new Claim(RegistryPolicies.RoleClaim, role.ToString())], Scheme.Name);
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), Scheme.Name));
    }
}

/// <summary>
/// Writes a refusal in MLflow's error shape: 401 <c>UNAUTHENTICATED</c> (no or unknown token, with
/// <c>WWW-Authenticate: Bearer</c>) or 403 <c>PERMISSION_DENIED</c> (a token whose role is too low), and logs method,
/// path and reason (never the token).
/// </summary>
internal sealed class RegistryAuthorizationResultHandler(RegistryAuth auth, ILogger<RegistryAuthorizationResultHandler> logger) : IAuthorizationMiddlewareResultHandler
{
    public async Task HandleAsync(RequestDelegate next, HttpContext context, AuthorizationPolicy policy, PolicyAuthorizationResult authorizeResult)
    {
        if (authorizeResult.Succeeded)
        {
            await next(context);
            return;
        }

        var undeclared = policy.Requirements.OfType<UndeclaredPolicyRequirement>().Any();
        var required = policy.Requirements.OfType<RegistryRoleRequirement>().Select(r => (RegistryRole?)r.Role).Max();
        var method = context.Request.Method;
        var path = context.Request.Path.Value ?? "";
        if (authorizeResult.Challenged)
        {
            var reason = RegistryBearerHandler.PresentedUnknownToken(context) ? "unknown bearer token" : undeclared ? "endpoint declares no policy" : "no bearer token";
            Log.AuthRefused(logger, method, path, reason);
            context.Response.Headers.WWWAuthenticate = "Bearer";
            var message = auth.HasTokens
                ? "A valid 'Authorization: Bearer <token>' header is required."
                : RegistryBearerHandler.PresentedUnknownToken(context)
                    ? "This registry has no tokens configured (Registry:Tokens), so no bearer token is valid; send none to read."
                    : "This registry has no tokens configured (Registry:Tokens), so it accepts no writes.";
            await RegistryApi.Error(ErrorCodes.Unauthenticated, message).ExecuteAsync(context);
            return;
        }

        var role = RegistryRoleHandler.RoleOf(context.User);
        Log.AuthRefused(logger, method, path, undeclared ? "endpoint declares no policy" : $"role {role} below {required}");
        await RegistryApi.Error(ErrorCodes.PermissionDenied, undeclared || required is null
            ? "Permission denied: this endpoint declares no access policy."
            : $"Permission denied: this endpoint needs the {required} role.").ExecuteAsync(context);
    }
}

/// <summary>Registers the authentication scheme, the policies and the refusal bodies.</summary>
internal static class RegistryAuthServices
{
    public static IServiceCollection AddRegistryAuth(this IServiceCollection services, RegistryOptions options)
    {
        services.TryAddSingleton<RegistryAuth>();
        services.AddAuthentication(RegistryPolicies.Scheme).AddScheme<AuthenticationSchemeOptions, RegistryBearerHandler>(RegistryPolicies.Scheme, null);
        services.AddAuthorization(a => RegistryPolicies.Configure(a, options));
        services.AddSingleton<IAuthorizationHandler, RegistryRoleHandler>();
        services.AddSingleton<IAuthorizationMiddlewareResultHandler, RegistryAuthorizationResultHandler>();
        return services;
    }
}
