using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Lifeline.Recovery.Tests.Notifications;

/// <summary>One request a <see cref="NotificationReceiver"/> got.</summary>
internal sealed record ReceivedRequest(string Method, string Path, string Body, IReadOnlyDictionary<string, string> Headers, int AnsweredWith)
{
    public JsonElement Json => JsonDocument.Parse(Body).RootElement;
}

/// <summary>
/// A real HTTP receiver on 127.0.0.1 (Kestrel, a free port) standing in for PagerDuty, Slack, a webhook or a dead
/// man's switch: it records every request and answers what <see cref="Respond"/> says (default 202).
/// </summary>
internal sealed class NotificationReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<ReceivedRequest> _requests = new();

    private NotificationReceiver(WebApplication app) => _app = app;

    /// <summary>The answer to each request: status, body and headers (default 202 with PagerDuty's body).</summary>
    public Func<ReceivedRequest, (int Status, string Body, IReadOnlyDictionary<string, string>? Headers)> Respond { get; set; } =
        _ => (202, """{"status":"success","message":"Event processed"}""", null);

    public Uri Url { get; private set; } = null!;

    public IReadOnlyList<ReceivedRequest> Requests => [.. _requests];

    public IReadOnlyList<ReceivedRequest> Accepted => [.. _requests.Where(r => r.AnsweredWith is >= 200 and < 300)];

    public static async Task<NotificationReceiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        var receiver = new NotificationReceiver(app);
        app.Run(async context =>
        {
            using var reader = new StreamReader(context.Request.Body);
            var body = await reader.ReadToEndAsync(context.RequestAborted);
            var headers = context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase);
            var probe = new ReceivedRequest(context.Request.Method, context.Request.Path + context.Request.QueryString, body, headers, 0);
            var (status, text, extra) = receiver.Respond(probe);
            receiver._requests.Enqueue(probe with { AnsweredWith = status });
            context.Response.StatusCode = status;
            foreach (var (name, value) in extra ?? new Dictionary<string, string>())
            {
                context.Response.Headers[name] = value;
            }

            await context.Response.WriteAsync(text, context.RequestAborted);
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        receiver.Url = new Uri(address.Replace("[::]", "127.0.0.1", StringComparison.Ordinal) + "/");
        return receiver;
    }

    /// <summary>Waits until <paramref name="condition"/> holds for the requests, failing after <paramref name="timeout"/>.</summary>
    public async Task WaitForAsync(Func<IReadOnlyList<ReceivedRequest>, bool> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!condition(Requests))
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"the receiver did not see {what} within {timeout.TotalSeconds} s; it got {Requests.Count} requests");
            }

            await Task.Delay(20);
        }
    }

    public static (int, string, IReadOnlyDictionary<string, string>?) Answer(HttpStatusCode status, string body = "", IReadOnlyDictionary<string, string>? headers = null) =>
        ((int)status, body, headers);

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
