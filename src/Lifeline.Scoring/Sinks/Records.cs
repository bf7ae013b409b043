namespace Lifeline.Scoring.Sinks;

/// <summary>One served prediction with the lead as it was scored, as appended to the <c>predictions</c> table.</summary>
public sealed record PredictionRecord(
    string LeadId,
    double LeadScore,
    string ScoreCategory,
    string ModelVersion,
    DateTimeOffset PredictionTimestamp,
    double LatencyMs)
{
    public string? CompanySize { get; init; }
    public string? Industry { get; init; }
    public int? PageViews { get; init; }
    public double? TimeOnSite { get; init; }
    public double? FormCompletionTime { get; init; }
    public string? ReferralSource { get; init; }
    public string? CreatedAt { get; init; }
}

/// <summary>One admin or automatic action (rollback, model switch), as appended to the <c>audit_logs</c> table.</summary>
public sealed record AuditRecord(
    DateTimeOffset Timestamp,
    string Actor,
    string Action,
    string Target,
    string Details);

/// <summary>Where batches of predictions go (the lake's <c>predictions</c> table, or a JSON-lines file).</summary>
public interface IPredictionSink
{
    /// <summary>Appends the batch durably; throws on failure (the batch is then retried).</summary>
    Task AppendAsync(IReadOnlyList<PredictionRecord> batch, CancellationToken cancellationToken);
}

/// <summary>Where batches of audit records go (the lake's <c>audit_logs</c> table, or a JSON-lines file).</summary>
public interface IAuditSink
{
    /// <summary>Appends the batch durably; throws on failure (the batch is then retried).</summary>
    Task AppendAsync(IReadOnlyList<AuditRecord> batch, CancellationToken cancellationToken);
}
