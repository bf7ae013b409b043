using Lifeline.Scoring.Apis;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Lifeline.Scoring.Hosting;

/// <summary>Builds the scoring web application (Kestrel), used by <c>lifeline scoring serve</c> and the tests.</summary>
public static class ScoringHost
{
    /// <summary>
    /// Builds the app listening on <paramref name="urls"/> (loopback by default). <paramref name="services"/> runs
    /// before <see cref="ScoringServiceCollectionExtensions.AddScoring"/>, so what it registers wins.
    /// </summary>
    public static WebApplication Build(string urls, Action<ScoringOptions> configure, Action<IServiceCollection>? services = null, LogLevel logLevel = LogLevel.Warning)
    {
        // No appsettings.json watcher on the working directory (the sinks write there); configuration comes from code.
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            Args = ["--hostBuilder:reloadConfigOnChange=false"],
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.WebHost.UseUrls(urls);
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
        builder.Logging.SetMinimumLevel(logLevel);
        // Hosting's per-request diagnostics logger, when enabled at any level, makes ASP.NET Core start an Activity and a
        // log scope for every request; the service's own metrics and logs cover requests, so it is switched off.
        builder.Logging.AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.None);
        services?.Invoke(builder.Services);
        builder.Services.AddScoring(configure);
        var probe = new ScoringOptions();
        configure(probe);
        // Handlers never block (model scoring is CPU-only and short; sinks and model loads run in the background),
        // so Kestrel may run them inline on the socket thread: fewer thread hops, measured +10-20% req/s on 2 cores.
        builder.WebHost.UseSockets(sockets => sockets.UnsafePreferInlineScheduling = probe.InlineScheduling);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            // Kestrel's own cap sits just above ours, so our handlers answer 413 with the limit named.
            kestrel.Limits.MaxRequestBodySize = probe.MaxBatchBodyBytes + 1L;
        });
        var app = builder.Build();
        app.UseScoreLeadDirect(); // POST /score-lead before the middlewares and routing below (ScoringApi.ServeScoreLeadAsync)
        app.UseExceptionHandler();
        app.UseStatusCodePages(WriteStatusProblemAsync);
        app.MapOpenApi("/openapi/v1.json"); // a fixed path: any other name is an ordinary 404 (ProblemDetails), not the OpenAPI middleware's text
        app.MapScoringApi();
        return app;
    }

    // Statuses set before a handler runs (404, 405, and 415 from the endpoints' Accepts metadata) as ProblemDetails.
    private static async Task WriteStatusProblemAsync(StatusCodeContext context)
    {
        var http = context.HttpContext;
        var problems = http.RequestServices.GetRequiredService<IProblemDetailsService>();
        var details = new ProblemDetails { Status = http.Response.StatusCode };
        if (http.Response.StatusCode == StatusCodes.Status415UnsupportedMediaType)
        {
            details.Title = "Unsupported content type";
            details.Detail = $"the body must be JSON (Content-Type: application/json), got '{http.Request.ContentType ?? "none"}'";
            details.Extensions["field"] = "content-type";
        }

        await problems.WriteAsync(new ProblemDetailsContext { HttpContext = http, ProblemDetails = details });
    }
}
