using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using Lifeline.Registry.Apis;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Patterns;

namespace Lifeline.Registry.Tests.Apis;

/// <summary>
/// The authorization matrix: every endpoint the app maps (from its own <see cref="EndpointDataSource"/>, so a new
/// endpoint is in it automatically) × every caller (no token, an unknown token, read, write, admin) × path spellings
/// (as mapped, upper case, capitalised segments, trailing slash, doubled slash, a percent-encoded letter, an encoded
/// slash). Each answer must match the declared policy of the endpoint the router selected for that spelling: allowed →
/// neither 401/403 nor 5xx; refused → 401 UNAUTHENTICATED or 403 PERMISSION_DENIED in MLflow's shape.
/// </summary>
public sealed class AuthorizationMatrixTests
{
    private static readonly (string Name, string? Token, RegistryRole? Role)[] Callers =
    [
        ("no token", null, null),
        ("unknown token", ProbeServer.BadToken, null),
        ("read", RegistryTestServer.ReaderToken, RegistryRole.Read),
        ("write", RegistryTestServer.WriterToken, RegistryRole.Write),
        ("admin", RegistryTestServer.AdminToken, RegistryRole.Admin),
    ];

    private static readonly (string Name, Func<string, string> Spell)[] Spellings =
    [
        ("as mapped", p => p),
        ("upper case", p => p.ToUpperInvariant()),
        ("capitalised", p => string.Join('/', p.Split('/').Select(s => s.Length == 0 ? s : char.ToUpperInvariant(s[0]) + s[1..]))),
        ("trailing slash", p => p + "/"),
        ("doubled slash", p => p[..p.LastIndexOf('/')] + "/" + p[p.LastIndexOf('/')..]),
        ("percent-encoded letter", PercentEncodeLetter),
        ("encoded slash", p => p[..p.LastIndexOf('/')] + "%2F" + p[(p.LastIndexOf('/') + 1)..]),
    ];

    [Fact]
    public async Task EveryEndpoint_DeclaresOnePolicyAndABodyLimit()
    {
        await using var server = await ProbeServer.StartAsync();
        var endpoints = server.Endpoints();
        Assert.True(endpoints.Count >= 90, $"only {endpoints.Count} endpoints found");
        Assert.Empty(Unguarded(endpoints));
        Assert.All(endpoints, e => Assert.NotNull(e.Metadata.GetMetadata<IRequestSizeLimitMetadata>()?.MaxRequestBodySize));
        Assert.Equal(endpoints.Count, endpoints.Select(e => e.DisplayName).Distinct().Count());
    }

    [Fact]
    public async Task EndpointWithoutPolicy_IsFoundByTheCheck_AndDeniedToEveryone()
    {
        await using var server = await ProbeServer.StartAsync(map: app => app.MapGet("/api/2.0/mlflow/undeclared", () => "reached"));
        var undeclared = Assert.Single(Unguarded(server.Endpoints()));
        Assert.Contains("/api/2.0/mlflow/undeclared", undeclared, StringComparison.Ordinal);

        var anonymous = await server.SendAsync(HttpMethod.Get, "/api/2.0/mlflow/undeclared");
        Assert.Equal((HttpStatusCode.Unauthorized, "UNAUTHENTICATED"), (anonymous.Status, anonymous.ErrorCode));
        var admin = await server.SendAsync(HttpMethod.Get, "/api/2.0/mlflow/undeclared", token: RegistryTestServer.AdminToken);
        Assert.Equal((HttpStatusCode.Forbidden, "PERMISSION_DENIED"), (admin.Status, admin.ErrorCode));
        Assert.DoesNotContain("reached", admin.Body, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task EveryEndpointCallerAndSpelling_AnswersAsItsSelectedEndpointsPolicy(bool requireTokenForReads)
    {
        await using var server = await ProbeServer.StartAsync(o => o with { RequireTokenForReads = requireTokenForReads });
        var endpoints = server.Endpoints();
        var policyOf = endpoints.ToDictionary(e => e.DisplayName!, PolicyOf);
        var cases = (from endpoint in endpoints
                     from method in MethodsOf(endpoint)
                     from caller in Callers
                     from spelling in Spellings
                     select (endpoint, method, caller, spelling)).ToList();

        var failures = new ConcurrentQueue<string>();
        var sameEndpoint = new ConcurrentDictionary<string, bool>();
        await Parallel.ForEachAsync(cases, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (c, _) =>
        {
            var path = c.spelling.Spell(ConcretePath(c.endpoint));
            var (body, contentType) = BodyFor(c.endpoint, c.method);
            var reply = await server.SendAsync(new HttpMethod(c.method), path, body, c.caller.Token, contentType);
            var label = $"{c.method} {path} ({c.spelling.Name}) as {c.caller.Name}: {reply}";
            // No endpoint matched (e.g. "/api%2F..."): the fallback policy must deny it, like an endpoint without a policy.
            var policy = reply.Endpoint is null ? Undeclared : policyOf.GetValueOrDefault(reply.Endpoint);
            if (policy is null)
            {
                failures.Enqueue($"{label}: handled by an endpoint without a policy");
                return;
            }

            if (c.spelling.Name is "upper case" or "capitalised" or "trailing slash" or "percent-encoded letter" && !c.endpoint.DisplayName!.StartsWith("Fallback", StringComparison.Ordinal))
            {
                sameEndpoint[$"{c.spelling.Name} {c.endpoint.DisplayName}"] = reply.Endpoint == c.endpoint.DisplayName;
            }

            var expected = Expected(policy, c.caller.Token, c.caller.Role, requireTokenForReads);
            var ok = expected switch
            {
                HttpStatusCode.OK => reply.Status is not (HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden) && (int)reply.Status < 500,
                HttpStatusCode.Unauthorized => (reply.Status, reply.ErrorCode) == (HttpStatusCode.Unauthorized, "UNAUTHENTICATED"),
                _ => (reply.Status, reply.ErrorCode) == (HttpStatusCode.Forbidden, "PERMISSION_DENIED"),
            };
            if (!ok)
            {
                failures.Enqueue($"{label}: expected {(expected == HttpStatusCode.OK ? "allowed" : expected.ToString())} under policy '{policy}'");
            }
        });

        Assert.True(failures.IsEmpty, $"{failures.Count} of {cases.Count} cases wrong:\n" + string.Join('\n', failures.Take(30)));
        // The spellings the router folds onto the mapped endpoint really reached it (so the matrix tested them there).
        Assert.All(sameEndpoint, kv => Assert.True(kv.Value, $"{kv.Key} was routed elsewhere"));
    }

    private const string Undeclared = "(none: fallback policy)";

    /// <summary>Endpoints that declare no registry policy (or more than one), as display names.</summary>
    internal static List<string> Unguarded(IEnumerable<RouteEndpoint> endpoints) =>
        endpoints.Where(e => PolicyOf(e) is null).Select(e => e.DisplayName ?? e.RoutePattern.RawText ?? "?").ToList();

    private static string? PolicyOf(RouteEndpoint endpoint)
    {
        if (endpoint.Metadata.GetMetadata<IAllowAnonymous>() is not null)
        {
            return null; // anonymous access is a policy decision ("read" with open reads), never a bypass
        }

        var policies = endpoint.Metadata.GetOrderedMetadata<IAuthorizeData>().Select(a => a.Policy).ToList();
        return policies is [{ } single] && RegistryPolicies.All.Contains(single) ? single : null;
    }

    private static HttpStatusCode Expected(string policy, string? token, RegistryRole? role, bool requireTokenForReads)
    {
        if (token is not null && role is null)
        {
            return HttpStatusCode.Unauthorized; // a token nobody issued is refused everywhere
        }

        if (policy == Undeclared)
        {
            return role is null ? HttpStatusCode.Unauthorized : HttpStatusCode.Forbidden;
        }

        var needed = policy switch { RegistryPolicies.Read => RegistryRole.Read, RegistryPolicies.Write => RegistryRole.Write, _ => RegistryRole.Admin };
        if (role is null)
        {
            return needed == RegistryRole.Read && !requireTokenForReads ? HttpStatusCode.OK : HttpStatusCode.Unauthorized;
        }

        return role >= needed ? HttpStatusCode.OK : HttpStatusCode.Forbidden;
    }

    private static IEnumerable<string> MethodsOf(RouteEndpoint endpoint) =>
        endpoint.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods is { Count: > 0 } methods ? methods : ["GET", "POST", "DELETE"];

    /// <summary>A path the endpoint's pattern matches: literals as mapped, a catch-all filled with a harmless artifact path.</summary>
    private static string ConcretePath(RouteEndpoint endpoint)
    {
        var parts = endpoint.RoutePattern.PathSegments.Select(segment => string.Concat(segment.Parts.Select(part => part switch
        {
            RoutePatternLiteralPart literal => literal.Content,
            RoutePatternParameterPart { IsCatchAll: true, Name: "rest" } => "api/2.0/no-such-endpoint",
            RoutePatternParameterPart { IsCatchAll: true } => "0/matrix/file.txt",
            RoutePatternParameterPart p => throw new InvalidOperationException($"no sample value for route parameter '{p.Name}' in {endpoint.DisplayName}"),
            _ => "",
        })));
        return "/" + string.Join('/', parts);
    }

    private static (string? Body, string ContentType) BodyFor(RouteEndpoint endpoint, string method) =>
        endpoint.RoutePattern.RawText!.Contains("mlflow-artifacts", StringComparison.Ordinal)
            ? (method == "PUT" ? "artifact bytes" : null, "application/octet-stream")
            : (method == "GET" ? null : "{}", "application/json");

    private static string PercentEncodeLetter(string path)
    {
        var segments = path.Split('/');
        var index = Math.Min(3, segments.Length - 1); // "", "api", "2.0", "mlflow..." : the segment after the version
        var segment = segments[index];
        var letter = segment.IndexOf(segment.FirstOrDefault(char.IsLetter));
        if (letter < 0)
        {
            return path;
        }

        segments[index] = segment[..letter] + "%" + ((int)segment[letter]).ToString("X2", CultureInfo.InvariantCulture) + segment[(letter + 1)..];
        return string.Join('/', segments);
    }
}
