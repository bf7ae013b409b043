using Lifeline.Scoring.Failover;
using Lifeline.Scoring.Features;
using Lifeline.Scoring.Models;
using Lifeline.Scoring.Sinks;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Logging;

namespace Lifeline.Scoring.Apis;

/// <summary>Why one lead could not be scored.</summary>
internal enum ScoreFailure
{
    None,
    NoModel,
    Exception,
    InvalidScore,
}

/// <summary>
/// Validates and scores leads on the current model, records each outcome for failover and metrics, and queues each
/// prediction in the durable spool before it is answered (<see cref="TryRecord"/>). A slow prediction (over the failover timeout) is still answered but counts as a failure.
/// </summary>
internal sealed class LeadScorer(
    ModelManager models,
    FailoverMonitor failover,
    ScoringMetrics metrics,
    PredictionLog predictions,
    ScoringOptions options,
    TimeProvider timeProvider,
    ILogger<LeadScorer> logger)
{
    private readonly double _timeoutMs = options.Failover.PredictionTimeout.TotalMilliseconds;

    public ActiveModel? Current => models.Current;

    public ScoringMetrics Metrics => metrics;

    public ScoringOptions Options => options;

    public TimeProvider TimeProvider => timeProvider;

    public PredictionLog Predictions => predictions;

    /// <summary>The record of one answered prediction, with the lead as it was scored.</summary>
    public static PredictionRecord ToRecord(ScoreLeadResponse response, ScoreLeadRequest lead) =>
        new(response.LeadId, response.LeadScore, response.ScoreCategory, response.ModelVersion, response.PredictionTimestamp, response.LatencyMs)
        {
            CompanySize = lead.CompanySize,
            Industry = lead.Industry,
            PageViews = lead.PageViews,
            TimeOnSite = lead.TimeOnSite,
            FormCompletionTime = lead.FormCompletionTime,
            ReferralSource = lead.ReferralSource,
            CreatedAt = lead.CreatedAt,
        };

    /// <summary>
    /// Records the predictions in the spool; null when recorded (or recording is off), else the 503 to answer instead
    /// (the spool is full: back-pressure; or it cannot be written). <paramref name="durable"/> is the write to await
    /// before answering (an IOException from it: <see cref="WriteFailed"/>): nothing is answered 200 that is not recorded. Not an
    /// async method itself, so a request that waits for its write round allocates one state machine (its handler's), not two.
    /// </summary>
    public ProblemHttpResult? TryRecord(HttpContext context, string endpoint, ScoreLeadResponse? one, ScoreLeadRequest? lead,
        out Task? durable, IReadOnlyList<ScoreLeadResponse>? many = null, IReadOnlyList<ScoreLeadRequest?>? leads = null)
    {
        durable = null;
        if (!predictions.Enabled)
        {
            return null;
        }

        try
        {
            if (one is not null)
            {
                durable = predictions.TryRecord(one, lead!); // no record object: serialised from the response and the lead
            }
            else
            {
                var records = new PredictionRecord[many!.Count];
                for (var i = 0; i < records.Length; i++)
                {
                    records[i] = ToRecord(many[i], leads![i]!);
                }

                durable = predictions.TryRecord(records);
            }
        }
        catch (Exception ex) when (ex is System.Text.Json.JsonException or InvalidOperationException or ArgumentException or NotSupportedException)
        {
            return RecordFailed(context, endpoint, "the record cannot be serialised", ex);
        }

        if (durable is null)
        {
            metrics.SpoolRejected.WithLabels("predictions").Inc();
            metrics.Request(endpoint, StatusCodes.Status503ServiceUnavailable);
            context.Response.Headers.RetryAfter = "1";
            return TypedResults.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "Prediction log full",
                detail: "the prediction spool is at its disk budget (the sink is behind); nothing was recorded: retry after 1 s");
        }

        return null;
    }

    /// <summary>The 503 for a spool write that failed (<paramref name="ex"/>, from awaiting the task of <see cref="TryRecord"/>).</summary>
    public ProblemHttpResult WriteFailed(HttpContext context, string endpoint, IOException ex) =>
        RecordFailed(context, endpoint, "the spool cannot be written", ex);

    private ProblemHttpResult RecordFailed(HttpContext context, string endpoint, string reason, Exception ex)
    {
        Log.RecordFailed(logger, reason, ex);
        metrics.RecordFailures.Inc();
        metrics.Request(endpoint, StatusCodes.Status503ServiceUnavailable);
        context.Response.Headers.RetryAfter = "1";
        return TypedResults.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "Prediction not recorded",
            detail: $"the prediction was not answered because it could not be recorded: {reason}; retry");
    }

    /// <summary>Checks one lead; returns null when valid, else the errors keyed by field (prefixed for batch items).</summary>
    public static Dictionary<string, string[]>? Validate(ScoreLeadRequest? lead, string prefix, Dictionary<string, string[]>? errors = null)
    {
        if (lead is null)
        {
            (errors ??= [])[prefix.TrimEnd('.')] = ["a lead object is required"];
            return errors;
        }

        if (string.IsNullOrWhiteSpace(lead.LeadId))
        {
            (errors ??= [])[prefix + "lead_id"] = ["lead_id is required"];
        }
        else if (lead.LeadId.Length > 256)
        {
            (errors ??= [])[prefix + "lead_id"] = ["lead_id is longer than 256 characters"];
        }

        foreach (var (name, value) in (ReadOnlySpan<(string, string?)>)[("company_size", lead.CompanySize), ("industry", lead.Industry), ("referral_source", lead.ReferralSource)])
        {
            if (value is { Length: > LeadContract.MaxStringLength })
            {
                (errors ??= [])[prefix + name] = [$"{name} is longer than {LeadContract.MaxStringLength} characters"];
            }
        }

        if (lead.PageViews < 0)
        {
            (errors ??= [])[prefix + "page_views"] = ["page_views must be ≥ 0"];
        }

        CheckSeconds(lead.TimeOnSite, "time_on_site", prefix, ref errors);
        CheckSeconds(lead.FormCompletionTime, "form_completion_time", prefix, ref errors);

        if (lead.CreatedAt is not null && !LeadContract.TryParseTimestamp(lead.CreatedAt, out _))
        {
            (errors ??= [])[prefix + "created_at"] = ["created_at is not an ISO-8601 timestamp (e.g. 2024-12-04T03:24:08Z)"];
        }

        return errors;
    }

    private static void CheckSeconds(double? value, string name, string prefix, ref Dictionary<string, string[]>? errors)
    {
        if (value is not { } v)
        {
            return;
        }

        if (!double.IsFinite(v))
        {
            (errors ??= [])[prefix + name] = [$"{name} is not a finite number"];
        }
        else if (v < 0)
        {
            (errors ??= [])[prefix + name] = [$"{name} must be ≥ 0"];
        }
        else if (v > LeadContract.MaxSeconds)
        {
            (errors ??= [])[prefix + name] = [$"{name} must be at most {LeadContract.MaxSeconds:0e0} seconds"];
        }
    }

    /// <summary>Scores one valid lead on <paramref name="model"/>; <paramref name="started"/> is the request's start timestamp.</summary>
    public (ScoreLeadResponse? Response, ScoreFailure Failure) Score(ActiveModel model, ScoreLeadRequest lead, long started)
    {
        Span<float> features = stackalloc float[LeadFeatures.Count];
        LeadFeatures.Map(lead.CompanySize, lead.Industry, lead.PageViews, lead.TimeOnSite, lead.FormCompletionTime, lead.ReferralSource, features);
        var before = timeProvider.GetTimestamp();
        float score;
        try
        {
            score = model.Model.Score(features);
        }
        catch (Exception ex)
        {
            var elapsed = timeProvider.GetElapsedTime(started).TotalMilliseconds;
            failover.Record(model, failed: true, elapsed);
            metrics.PredictionErrors.WithLabels("exception").Inc();
            Log.PredictionFailed(logger, model.Version, "exception", ex);
            return (null, ScoreFailure.Exception);
        }

        var scoreMs = timeProvider.GetElapsedTime(before).TotalMilliseconds;
        var latencyMs = timeProvider.GetElapsedTime(started).TotalMilliseconds;
        if (!(score >= 0f && score <= 1f))
        {
            failover.Record(model, failed: true, latencyMs);
            metrics.PredictionErrors.WithLabels("invalid_score").Inc();
            Log.PredictionFailed(logger, model.Version, "invalid_score", null);
            return (null, ScoreFailure.InvalidScore);
        }

        var timedOut = scoreMs > _timeoutMs;
        if (timedOut)
        {
            metrics.PredictionErrors.WithLabels("timeout").Inc();
        }

        failover.Record(model, timedOut, latencyMs);
        metrics.Predictions.Inc();
        var response = new ScoreLeadResponse(lead.LeadId!, score, LeadFeatures.Category(score), model.Version, timeProvider.GetUtcNow(), latencyMs);
        return (response, ScoreFailure.None);
    }
}
