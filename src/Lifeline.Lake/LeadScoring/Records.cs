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

/// <summary>One monitoring sample of the scoring service and its model.</summary>
public sealed record MonitoringMetricRecord(
    DateTimeOffset Timestamp,
    double LatencyP50Ms,
    double LatencyP95Ms,
    double LatencyP99Ms,
    double RequestsPerSecond,
    double ErrorRate,
    double? Auc,
    double? F1,
    double? Precision,
    double? Recall);
