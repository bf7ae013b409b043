namespace Lifeline.Lake.LeadScoring;

/// <summary>A lead as the original system received it (company_size: Small, Medium, Large, Enterprise).</summary>
public sealed record LeadRecord(
    string LeadId,
    string CompanySize,
    string Industry,
    int PageViews,
    double TimeOnSite,
    double FormCompletionTime,
    string ReferralSource,
    DateTimeOffset CreatedAt);

/// <summary>Whether a lead converted (the training label).</summary>
public sealed record ConversionRecord(string LeadId, bool Converted, DateTimeOffset? ConvertedAt);

/// <summary>One prediction of the scoring API: the lead's fields plus the score.</summary>
public sealed record PredictionRecord(
    LeadRecord Lead,
    double LeadScore,
    string ScoreCategory,
    string ModelVersion,
    DateTimeOffset PredictionTimestamp,
    double LatencyMs);

/// <summary>One audit log entry (kept 7 years per the plan).</summary>
public sealed record AuditLogRecord(
    DateTimeOffset Timestamp,
    string Action,
    string User,
    string UserRole,
    string Resource,
    string? Details,
    string? IpAddress,
    string Status);

/// <summary>
/// One monitoring sample: the original system's columns (latency quantiles, rate, error share, model quality), and the
/// scoring service's own figures for one interval (null in rows written by other producers, e.g. an evaluation job).
/// </summary>
public sealed record MonitoringMetricRecord(
    DateTimeOffset Timestamp,
    double? LatencyP50Ms,
    double? LatencyP95Ms,
    double? LatencyP99Ms,
    double? RequestsPerSecond,
    double? ErrorRate,
    double? Auc,
    double? F1,
    double? Precision,
    double? Recall)
{
    /// <summary>The producing service, e.g. <c>lifeline-scoring</c>.</summary>
    public string? Service { get; init; }

    /// <summary>The region the instance runs in, as configured.</summary>
    public string? Region { get; init; }

    /// <summary>The instance (host name by default).</summary>
    public string? Instance { get; init; }

    /// <summary>Length of the interval the counts cover, in seconds (the row's timestamp is its end).</summary>
    public double? IntervalSeconds { get; init; }

    /// <summary>Requests answered in the interval (all endpoints, all statuses).</summary>
    public long? Requests { get; init; }

    /// <summary>Requests answered 4xx in the interval.</summary>
    public long? Errors4xx { get; init; }

    /// <summary>Requests answered 5xx in the interval.</summary>
    public long? Errors5xx { get; init; }

    /// <summary>Failed predictions (exception, invalid score, timeout) in the interval.</summary>
    public long? PredictionErrors { get; init; }

    /// <summary>Leads scored in the interval.</summary>
    public long? Predictions { get; init; }

    /// <summary>The registered model served at the interval's end.</summary>
    public string? ModelName { get; init; }

    /// <summary>The model version served at the interval's end (null when none is loaded).</summary>
    public string? ModelVersion { get; init; }

    /// <summary>Model rollbacks (automatic and manual) in the interval.</summary>
    public long? Rollbacks { get; init; }

    /// <summary>Of those, automatic failovers.</summary>
    public long? Failovers { get; init; }

    /// <summary>Bytes in the service's spools not yet drained to their sinks, at the interval's end.</summary>
    public long? SpoolBacklogBytes { get; init; }

    /// <summary>Requests refused (503) in the interval because a spool's disk budget was full.</summary>
    public long? SpoolRejected { get; init; }

    /// <summary>Records moved to a dead-letter file in the interval.</summary>
    public long? DeadLetters { get; init; }
}
