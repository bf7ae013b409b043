using Lifeline.Scoring.Apis;
using Lifeline.Scoring.Failover;
using Lifeline.Scoring.Models;
using Lifeline.Scoring.Monitoring;
using Lifeline.Scoring.Sinks;
using Lifeline.Scoring.Sources;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;

namespace Lifeline.Scoring.Hosting;

/// <summary>Registers the scoring service; every service is added with TryAdd so it can be replaced.</summary>
public static class ScoringServiceCollectionExtensions
{
    /// <summary>
    /// Adds the scoring service. An <see cref="IModelSource"/> must be registered (before or after); sinks default
    /// to JSON-lines files in <see cref="ScoringOptions.SinkDirectory"/> (or none), alerts to the log, monitoring
    /// samples to the table of <see cref="Monitoring.MonitoringOptions.Table"/> (or none).
    /// </summary>
    public static IServiceCollection AddScoring(this IServiceCollection services, Action<ScoringOptions> configure)
    {
        var options = new ScoringOptions();
        configure(options);
        options.Validate();
        services.TryAddSingleton(options);
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<ScoringMetrics>();
        services.TryAddSingleton<IModelLoader, ArtifactModelLoader>();
        services.TryAddSingleton(sp => new ModelCache(sp.GetRequiredService<ScoringOptions>().CacheDirectory));
        services.TryAddSingleton<IAlertSink, LoggingAlertSink>();
        services.TryAddSingleton<IPredictionSink>(sp => sp.GetRequiredService<ScoringOptions>().SinkDirectory is { } dir
            ? new JsonLinesPredictionSink(Path.Combine(dir, "predictions.jsonl"))
            : new NullPredictionSink());
        services.TryAddSingleton<IAuditSink>(sp => sp.GetRequiredService<ScoringOptions>().SinkDirectory is { } dir
            ? new JsonLinesAuditSink(Path.Combine(dir, "audit_logs.jsonl"))
            : new MemoryAuditSink());
        services.TryAddSingleton<PredictionLog>();
        services.TryAddSingleton<AuditLog>();
        services.TryAddSingleton<ModelManager>();
        services.TryAddSingleton<FailoverMonitor>();
        services.TryAddSingleton<LeadScorer>();
        services.TryAddSingleton<IMonitoringSink>(sp => sp.GetRequiredService<ScoringOptions>().Monitoring.Table is { } table
            ? DeltaMonitoringSink.Open(table)
            : new NullMonitoringSink());
        services.TryAddSingleton<MetricsRecorder>();

        // Start order: the sinks first (the manager audits its first load), then the model, then failover.
        // Hosted services stop in reverse, so the sinks drain last, after the server stopped taking requests.
        services.AddHostedService(sp => sp.GetRequiredService<AuditLog>());
        services.AddHostedService(sp => sp.GetRequiredService<PredictionLog>());
        services.AddHostedService(sp => sp.GetRequiredService<ModelManager>());
        services.AddHostedService(sp => sp.GetRequiredService<FailoverMonitor>());
        // Stops first (after the server): it records the interval in progress, then drains its spool to the table.
        services.AddHostedService(sp => sp.GetRequiredService<MetricsRecorder>());

        services.AddProblemDetails();
        services.AddExceptionHandler<ScoringExceptionHandler>();
        services.ConfigureHttpJsonOptions(json =>
        {
            // The wire is snake_case like the original service; the source-generated context supplies the metadata.
            json.SerializerOptions.PropertyNamingPolicy = System.Text.Json.JsonNamingPolicy.SnakeCaseLower;
            json.SerializerOptions.TypeInfoResolverChain.Insert(0, ScoringJsonContext.Default);
        });
        services.AddOpenApi();
        return services;
    }
}

/// <summary>
/// The last line: any exception that escapes a handler becomes a ProblemDetails, never a 500. Request errors keep
/// their 4xx status; anything else is logged (event 5011) and answered 503, which clients and the gateway retry.
/// </summary>
internal sealed class ScoringExceptionHandler(IProblemDetailsService problems, ILogger<ScoringExceptionHandler> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        var (status, title) = exception switch
        {
            BadHttpRequestException bad => (bad.StatusCode, "Bad request"),
            System.Text.Json.JsonException => (StatusCodes.Status400BadRequest, "Malformed JSON"),
            OperationCanceledException => (StatusCodes.Status400BadRequest, "Request cancelled"),
            _ => (StatusCodes.Status503ServiceUnavailable, "Temporarily unable to serve"),
        };
        if (status >= 500)
        {
            Log.Unhandled(logger, httpContext.Request.Path, exception);
        }

        httpContext.Response.StatusCode = status;
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            Exception = exception,
            ProblemDetails = { Status = status, Title = title, Detail = status < 500 ? exception.Message : "an internal error occurred; it was logged" },
        });
    }
}
