using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Lifeline.Registry.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Lifeline.Registry.Tests.Apis;

/// <summary>
/// A real registry on Kestrel (127.0.0.1, free port) for probing from outside: requests go out with their path exactly
/// as written (no client-side normalisation of case, slashes or percent-encoding), and every response carries the
/// display name of the endpoint the router selected (<see cref="EndpointHeader"/>), so a test can check the decision
/// against that endpoint's declared policy.
/// </summary>
internal sealed class ProbeServer : IAsyncDisposable
{
    public const string EndpointHeader = "X-Test-Endpoint";
    public const string BadToken = "not-a-token-anyone-issued";

    private readonly TempDirectory _dir;

    private ProbeServer(WebApplication app, RegistryOptions options, TempDirectory dir)
    {
        _dir = dir;
        App = app;
        Options = options;
        Http = new HttpClient { BaseAddress = app.Address() };
    }

    public WebApplication App { get; }

    public RegistryOptions Options { get; }

    public HttpClient Http { get; }

    public static async Task<ProbeServer> StartAsync(Func<RegistryOptions, RegistryOptions>? configure = null, Action<WebApplication>? map = null)
    {
        var dir = new TempDirectory();
        var options = new RegistryOptions
        {
            DataDirectory = dir.Path,
            Tokens =
            [
                new RegistryToken { Token = RegistryTestServer.ReaderToken, Role = RegistryRole.Read },
                new RegistryToken { Token = RegistryTestServer.WriterToken, Role = RegistryRole.Write },
                new RegistryToken { Token = RegistryTestServer.AdminToken, Role = RegistryRole.Admin },
            ],
        };
        options = configure?.Invoke(options) ?? options;
        var app = await RegistryServer.StartAsync(options, "http://127.0.0.1:0", configure: a =>
        {
            a.Use((context, next) =>
            {
                context.Response.OnStarting(() =>
                {
                    if (context.GetEndpoint() is { DisplayName: { } name })
                    {
                        context.Response.Headers[EndpointHeader] = name;
                    }

                    return Task.CompletedTask;
                });
                return next(context);
            });
            map?.Invoke(a);
        });
        return new ProbeServer(app, options, dir);
    }

    /// <summary>Every endpoint the app maps, from its own endpoint data source.</summary>
    public IReadOnlyList<RouteEndpoint> Endpoints() =>
        App.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>().ToList();

    public async Task<Reply> SendAsync(HttpMethod method, string path, string? body = null, string? token = null, string contentType = "application/json")
    {
        var uri = new Uri(Http.BaseAddress!.GetLeftPart(UriPartial.Authority) + path, new UriCreationOptions { DangerousDisablePathAndQueryCanonicalization = true });
        using var request = new HttpRequestMessage(method, uri);
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8);
            request.Content.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        }

        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        using var response = await Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        var endpoint = response.Headers.TryGetValues(EndpointHeader, out var values) ? values.First() : null;
        return new Reply(response.StatusCode, text, response.Content.Headers.ContentType?.MediaType, endpoint);
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
        _dir.Dispose();
    }
}

/// <summary>One answer: status, body text, media type, and the endpoint the router selected (null if none).</summary>
internal sealed record Reply(HttpStatusCode Status, string Body, string? MediaType, string? Endpoint)
{
    /// <summary>The MLflow <c>error_code</c> of the body, or null when the body is not an MLflow error.</summary>
    public string? ErrorCode
    {
        get
        {
            try
            {
                using var doc = JsonDocument.Parse(Body);
                return doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("error_code", out var code) ? code.GetString() : null;
            }
            catch (JsonException)
            {
                return null;
            }
        }
    }

    public override string ToString() => $"{(int)Status} {ErrorCode} via {Endpoint ?? "no endpoint"}: {(Body.Length > 200 ? Body[..200] : Body)}";
}
