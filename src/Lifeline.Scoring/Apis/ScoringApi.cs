using System.Security.Cryptography;
using System.Text;
using Lifeline.Scoring.Models;
using Lifeline.Scoring.Sinks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Prometheus;

namespace Lifeline.Scoring.Apis;

/// <summary>The scoring service's HTTP endpoints (the original service's contract plus batch, health, model info, metrics, admin).</summary>
public static class ScoringApi
{
    /// <summary>Maps every endpoint of the scoring service.</summary>
    public static IEndpointRouteBuilder MapScoringApi(this IEndpointRouteBuilder app)
    {
        app.MapPost("/score-lead", ScoreLeadAsync).WithName("ScoreLead").WithSummary("Score one lead")
            .Accepts<ScoreLeadRequest>("application/json")
            .Produces<ScoreLeadResponse>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        app.MapPost("/score-leads", ScoreLeadsAsync).WithName("ScoreLeads").WithSummary("Score a batch of leads")
            .Accepts<ScoreLeadsRequest>("application/json");
        app.MapGet("/health", Health).WithName("Health").WithSummary("Liveness");
        app.MapGet("/health/ready", Ready).WithName("Ready").WithSummary("Readiness: a model is loaded");
        app.MapGet("/model-info", ModelInfo).WithName("ModelInfo").WithSummary("The model version in use and its signature");
        app.MapPost("/admin/rollback", RollbackAsync).WithName("AdminRollback").WithSummary("Roll back to the previous Production version (bearer token)");
        var metrics = app.ServiceProvider.GetService(typeof(ScoringMetrics)) as ScoringMetrics;
        // GET only: MapMetrics alone would answer every method (POST /metrics was 200).
        app.MapMetrics("/metrics", metrics?.Registry).WithMetadata(new HttpMethodMetadata([HttpMethods.Get]));
        return app;
    }

    // The mapped endpoint (reached for spellings the direct path does not take, e.g. /Score-Lead): the same work.
    internal static Task<IResult> ScoreLeadAsync(HttpContext context, LeadScorer scorer) => ScoreLeadCoreAsync(context, scorer, write: false)!;

    /// <summary>
    /// <c>POST /score-lead</c> served straight from the pipeline's first middleware (<see cref="UseScoreLeadDirect"/>):
    /// no routing, no minimal-API request delegate, no request service scope, no exception and status-page middlewares
    /// around it (each allocated per request, about 700 bytes in all), and one state machine (the returned task) for a
    /// request that waits for its spool round, none for one answered at once. The answers are the endpoint's own: every
    /// 4xx/503 ProblemDetails as before, and an exception gets the service's exception handler, as the middleware gave it.
    /// </summary>
    internal static Task ServeScoreLeadAsync(HttpContext context, LeadScorer scorer) => ScoreLeadCoreAsync(context, scorer, write: true);

    /// <summary>Serves <c>POST /score-lead</c> (exactly that path) before the rest of the pipeline; any other request goes on.</summary>
    public static IApplicationBuilder UseScoreLeadDirect(this IApplicationBuilder app)
    {
        var scorer = app.ApplicationServices.GetRequiredService<LeadScorer>();
        return app.Use(next => context =>
            HttpMethods.IsPost(context.Request.Method) && context.Request.Path.Value is "/score-lead"
                ? ServeScoreLeadAsync(context, scorer)
                : next(context));
    }

    // What UseExceptionHandler does for the mapped endpoints: a cleared response and the registered handlers' answer.
    private static async Task HandleExceptionAsync(HttpContext context, Exception exception)
    {
        if (context.Response.HasStarted)
        {
            context.Abort();
            return;
        }

        context.Response.Clear();
        foreach (var handler in context.RequestServices.GetServices<IExceptionHandler>())
        {
            if (await handler.TryHandleAsync(context, exception, context.RequestAborted))
            {
                return;
            }
        }

        context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
    }

    /// <summary>
    /// The work of <c>POST /score-lead</c>. With <paramref name="write"/> (the direct path) it writes the answer itself,
    /// problems and exceptions included, and its task's result is null: a lead answered without waiting completes
    /// synchronously with the cached null task (no allocation). Without, it returns the result for the endpoint to write.
    /// </summary>
    private static async Task<IResult?> ScoreLeadCoreAsync(HttpContext context, LeadScorer scorer, bool write)
    {
        try
        {
            var metrics = scorer.Metrics;
            var started = scorer.TimeProvider.GetTimestamp();
            var (lead, problem) = await JsonBody.ReadAsync(context.Request, ScoringJsonContext.Default.ScoreLeadRequest, scorer.Options.MaxLeadBodyBytes);
            if (problem is not null)
            {
                metrics.Request("score-lead", problem.StatusCode);
                return await AnswerAsync(context, problem, write);
            }

            if (LeadScorer.Validate(lead, "") is { } errors)
            {
                metrics.Request("score-lead", StatusCodes.Status422UnprocessableEntity);
                return await AnswerAsync(context, Problems.Validation(errors), write);
            }

            var model = scorer.Current;
            if (model is null)
            {
                metrics.Request("score-lead", StatusCodes.Status503ServiceUnavailable);
                return await AnswerAsync(context, NoModel(), write);
            }

            var (response, failure) = scorer.Score(model, lead!, started);
            if (response is null)
            {
                metrics.Request("score-lead", StatusCodes.Status503ServiceUnavailable);
                return await AnswerAsync(context, PredictionFailed(model, failure), write);
            }

            if (scorer.TryRecord(context, "score-lead", response, lead, out var durable) is { } notRecorded)
            {
                return await AnswerAsync(context, notRecorded, write);
            }

            if (durable is not null)
            {
                try
                {
                    await durable;
                }
                catch (IOException ex)
                {
                    return await AnswerAsync(context, scorer.WriteFailed(context, "score-lead", ex), write);
                }
            }

            metrics.ScoreLeadOk.Inc();
            metrics.ScoreLeadLatency.Observe(response.LatencyMs / 1000);
            if (!write)
            {
                return new FastJsonResult<ScoreLeadResponse>(response, ScoringJsonContext.Default.ScoreLeadResponse);
            }

            await FastJson.WriteAsync(context.Response, response, ScoringJsonContext.Default.ScoreLeadResponse);
            return null;
        }
        catch (Exception ex) when (write)
        {
            await HandleExceptionAsync(context, ex);
            return null;
        }
    }

    private static async ValueTask<IResult?> AnswerAsync(HttpContext context, IResult result, bool write)
    {
        if (!write)
        {
            return result;
        }

        await result.ExecuteAsync(context);
        return null;
    }

    internal static async Task<Results<Ok<ScoreLeadsResponse>, ProblemHttpResult>> ScoreLeadsAsync(
        HttpContext context, LeadScorer scorer, ScoringOptions options, ScoringMetrics metrics, TimeProvider timeProvider)
    {
        var started = timeProvider.GetTimestamp();
        var (batch, problem) = await JsonBody.ReadAsync(context.Request, ScoringJsonContext.Default.ScoreLeadsRequest, options.MaxBatchBodyBytes);
        if (problem is not null)
        {
            metrics.Request("score-leads", problem.StatusCode);
            return problem;
        }

        var leads = batch!.Leads;
        Dictionary<string, string[]>? errors = null;
        if (leads is null || leads.Count == 0)
        {
            errors = new() { ["leads"] = ["leads must be a non-empty array of leads"] };
        }
        else if (leads.Count > options.MaxBatchSize)
        {
            errors = new() { ["leads"] = [$"at most {options.MaxBatchSize} leads per batch, got {leads.Count}"] };
        }
        else
        {
            for (var i = 0; i < leads.Count; i++)
            {
                errors = LeadScorer.Validate(leads[i], $"leads[{i}].", errors);
            }
        }

        if (errors is not null)
        {
            metrics.Request("score-leads", StatusCodes.Status422UnprocessableEntity);
            return Problems.Validation(errors);
        }

        var model = scorer.Current;
        if (model is null)
        {
            metrics.Request("score-leads", StatusCodes.Status503ServiceUnavailable);
            return NoModel();
        }

        var predictions = new ScoreLeadResponse[leads!.Count];
        for (var i = 0; i < leads.Count; i++)
        {
            var (response, failure) = scorer.Score(model, leads[i]!, started);
            if (response is null)
            {
                metrics.Request("score-leads", StatusCodes.Status503ServiceUnavailable);
                return PredictionFailed(model, failure);
            }

            predictions[i] = response;
        }

        if (scorer.TryRecord(context, "score-leads", null, null, out var durable, predictions, leads) is { } notRecorded)
        {
            return notRecorded;
        }

        if (durable is not null)
        {
            try
            {
                await durable;
            }
            catch (IOException ex)
            {
                return scorer.WriteFailed(context, "score-leads", ex);
            }
        }

        var latencyMs = timeProvider.GetElapsedTime(started).TotalMilliseconds;
        metrics.Request("score-leads", StatusCodes.Status200OK);
        metrics.Latency.WithLabels("score-leads").Observe(latencyMs / 1000);
        return TypedResults.Ok(new ScoreLeadsResponse(predictions, predictions.Length, model.Version, latencyMs));
    }

    internal static Ok<HealthResponse> Health() => TypedResults.Ok(new HealthResponse("healthy"));

    internal static Results<Ok<HealthResponse>, ProblemHttpResult> Ready(ModelManager models) =>
        models.Current is { } model ? TypedResults.Ok(new HealthResponse("ready", model.Version)) : NoModel();

    internal static Results<Ok<ModelInfoResponse>, ProblemHttpResult> ModelInfo(ModelManager models)
    {
        if (models.Current is not { } model)
        {
            return NoModel();
        }

        return TypedResults.Ok(new ModelInfoResponse(model.Info.Name, model.Version, model.Info.Stage, model.Info.Source, model.Info.RunId,
            model.LoadedAt, models.Previous?.Version, models.Rejected, model.Signature));
    }

    internal static async Task<Results<Ok<RollbackResponse>, ProblemHttpResult>> RollbackAsync(
        HttpContext context, ModelManager models, ScoringOptions options, AuditLog audit, TimeProvider timeProvider, ILogger<ModelManager> logger)
    {
        if (Authorize(context, options, logger) is { } refused)
        {
            await audit.WriteAsync(new AuditRecord(timeProvider.GetUtcNow(), "anonymous", "admin.refused", "/admin/rollback",
                $"status {refused.StatusCode}"), context.RequestAborted);
            return refused;
        }

        var reason = "manual rollback";
        if (context.Request.ContentLength > 0)
        {
            var (body, problem) = await JsonBody.ReadAsync(context.Request, ScoringJsonContext.Default.RollbackRequest, 4096);
            if (problem is not null)
            {
                return problem;
            }

            if (!string.IsNullOrWhiteSpace(body!.Reason))
            {
                reason = body.Reason;
            }
        }

        var result = await models.RollbackAsync(reason, "admin", context.RequestAborted);
        return result is null
            ? Problems.Create(StatusCodes.Status409Conflict, "No previous version", "there is no previous Production version to roll back to", "model")
            : TypedResults.Ok(new RollbackResponse(result.FromVersion, result.ToVersion, result.Reason, result.At));
    }

    private static ProblemHttpResult? Authorize(HttpContext context, ScoringOptions options, ILogger logger)
    {
        var header = context.Request.Headers.Authorization.ToString();
        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) || header.Length <= 7)
        {
            Log.AdminRefused(logger, context.Request.Path, "no bearer token");
            context.Response.Headers.WWWAuthenticate = "Bearer";
            return TypedResults.Problem(statusCode: StatusCodes.Status401Unauthorized, title: "Unauthorized",
                detail: "admin endpoints need 'Authorization: Bearer <token>'");
        }

        var expected = options.AdminToken;
        var given = Encoding.UTF8.GetBytes(header[7..].Trim());
        if (string.IsNullOrEmpty(expected) || !CryptographicOperations.FixedTimeEquals(given, Encoding.UTF8.GetBytes(expected)))
        {
            Log.AdminRefused(logger, context.Request.Path, string.IsNullOrEmpty(expected) ? "no admin token configured" : "wrong token");
            return TypedResults.Problem(statusCode: StatusCodes.Status403Forbidden, title: "Forbidden",
                detail: string.IsNullOrEmpty(expected) ? "admin endpoints are disabled: no admin token is configured" : "the token is not an admin token");
        }

        return null;
    }

    private static ProblemHttpResult NoModel() =>
        TypedResults.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "No model loaded",
            detail: "the service has no model version to serve yet; see /model-info and the logs");

    private static ProblemHttpResult PredictionFailed(ActiveModel model, ScoreFailure failure) =>
        TypedResults.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "Prediction failed",
            detail: $"model version {model.Version} failed to score this lead ({failure}); automatic failover is watching");
}
