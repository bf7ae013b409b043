using Lifeline.Lake.Schema;
using Lifeline.Storage;

namespace Lifeline.Lake.LeadScoring;

/// <summary>
/// The lead-scoring data lake: five Delta tables under one root of a store (<c>leads</c>, <c>predictions</c>,
/// <c>conversions</c>, <c>audit_logs</c>, <c>monitoring_metrics</c>), with typed appends and reads.
/// Leads, predictions, audit logs and metrics are partitioned by day (a derived <c>*_date</c> / <c>date</c> column).
/// </summary>
public sealed class LeadScoringLake
{
    /// <summary>Table names, in a stable order.</summary>
    public static readonly IReadOnlyList<string> TableNames = ["leads", "predictions", "conversions", "audit_logs", "monitoring_metrics"];

    private static readonly PrimitiveType Str = PrimitiveType.String;
    private static readonly PrimitiveType Dbl = PrimitiveType.Double;
    private static readonly PrimitiveType Ts = PrimitiveType.Timestamp;

    private static readonly StructField[] LeadFields =
    [
        new("lead_id", Str, false), new("company_size", Str), new("industry", Str), new("page_views", PrimitiveType.Integer),
        new("time_on_site", Dbl), new("form_completion_time", Dbl), new("referral_source", Str), new("created_at", Ts),
    ];

    /// <summary>Schema and partition columns of each table.</summary>
    public static readonly IReadOnlyDictionary<string, (StructType Schema, string[] PartitionColumns)> Schemas = new Dictionary<string, (StructType, string[])>
    {
        ["leads"] = (new StructType([.. LeadFields, new("created_date", PrimitiveType.Date)]), ["created_date"]),
        ["predictions"] = (new StructType([
            .. LeadFields, new("lead_score", Dbl), new("score_category", Str), new("model_version", Str),
            new("prediction_timestamp", Ts), new("latency_ms", Dbl), new("prediction_date", PrimitiveType.Date)]), ["prediction_date"]),
        ["conversions"] = (new StructType([new("lead_id", Str, false), new("converted", PrimitiveType.Boolean), new("converted_at", Ts)]), []),
        ["audit_logs"] = (new StructType([
            new("timestamp", Ts), new("action", Str), new("user", Str), new("user_role", Str), new("resource", Str),
            new("details", Str), new("ip_address", Str), new("status", Str), new("date", PrimitiveType.Date)]), ["date"]),
        ["monitoring_metrics"] = (new StructType([
            new("timestamp", Ts), new("latency_p50_ms", Dbl), new("latency_p95_ms", Dbl), new("latency_p99_ms", Dbl),
            new("requests_per_second", Dbl), new("error_rate", Dbl), new("auc", Dbl), new("f1", Dbl), new("precision", Dbl),
            new("recall", Dbl), new("date", PrimitiveType.Date)]), ["date"]),
    };

    private readonly Dictionary<string, DeltaTable> _tables;

    private LeadScoringLake(Dictionary<string, DeltaTable> tables) => _tables = tables;

    /// <summary>The tables by name.</summary>
    public IReadOnlyDictionary<string, DeltaTable> Tables => _tables;

    /// <summary>The <c>leads</c> table.</summary>
    public DeltaTable Leads => _tables["leads"];

    /// <summary>The <c>predictions</c> table.</summary>
    public DeltaTable Predictions => _tables["predictions"];

    /// <summary>The <c>conversions</c> table.</summary>
    public DeltaTable Conversions => _tables["conversions"];

    /// <summary>The <c>audit_logs</c> table.</summary>
    public DeltaTable AuditLogs => _tables["audit_logs"];

    /// <summary>The <c>monitoring_metrics</c> table.</summary>
    public DeltaTable MonitoringMetrics => _tables["monitoring_metrics"];

    /// <summary>Opens the lake under <paramref name="root"/> of <paramref name="store"/>, creating missing tables.</summary>
    public static async Task<LeadScoringLake> OpenOrCreateAsync(IObjectStore store, string root = "lake", DeltaTableOptions? options = null, CancellationToken cancellationToken = default)
    {
        var tables = new Dictionary<string, DeltaTable>(StringComparer.Ordinal);
        var prefix = DeltaTable.NormalizeRoot(root);
        foreach (var name in TableNames)
        {
            var table = new DeltaTable(store, prefix + name, options);
            if (!await table.ExistsAsync(cancellationToken))
            {
                var (schema, partitions) = Schemas[name];
                try
                {
                    await table.CreateAsync(schema, partitions, name: name, cancellationToken: cancellationToken);
                }
                catch (DeltaProtocolException) when (!cancellationToken.IsCancellationRequested)
                {
                    // created concurrently by another process: fine if it now exists
                    if (!await table.ExistsAsync(cancellationToken))
                    {
                        throw;
                    }
                }
            }

            tables[name] = table;
        }

        return new LeadScoringLake(tables);
    }

    private static Dictionary<string, object?> LeadRow(LeadRecord l) => new(StringComparer.Ordinal)
    {
        ["lead_id"] = l.LeadId,
        ["company_size"] = l.CompanySize,
        ["industry"] = l.Industry,
        ["page_views"] = l.PageViews,
        ["time_on_site"] = l.TimeOnSite,
        ["form_completion_time"] = l.FormCompletionTime,
        ["referral_source"] = l.ReferralSource,
        ["created_at"] = l.CreatedAt.ToUniversalTime(),
    };

    private static DateOnly Day(DateTimeOffset t) => DateOnly.FromDateTime(t.UtcDateTime);

    /// <summary>Appends leads.</summary>
    public Task<CommitResult> AppendLeadsAsync(IReadOnlyList<LeadRecord> leads, WriteOptions? options = null, CancellationToken cancellationToken = default) =>
        Leads.AppendAsync([.. leads.Select(l =>
        {
            var row = LeadRow(l);
            row["created_date"] = Day(l.CreatedAt);
            return (IReadOnlyDictionary<string, object?>)row;
        })], options, cancellationToken);

    /// <summary>Appends predictions.</summary>
    public Task<CommitResult> AppendPredictionsAsync(IReadOnlyList<PredictionRecord> predictions, WriteOptions? options = null, CancellationToken cancellationToken = default) =>
        Predictions.AppendAsync([.. predictions.Select(p =>
        {
            var row = LeadRow(p.Lead);
            row["lead_score"] = p.LeadScore;
            row["score_category"] = p.ScoreCategory;
            row["model_version"] = p.ModelVersion;
            row["prediction_timestamp"] = p.PredictionTimestamp.ToUniversalTime();
            row["latency_ms"] = p.LatencyMs;
            row["prediction_date"] = Day(p.PredictionTimestamp);
            return (IReadOnlyDictionary<string, object?>)row;
        })], options, cancellationToken);

    /// <summary>Appends conversions.</summary>
    public Task<CommitResult> AppendConversionsAsync(IReadOnlyList<ConversionRecord> conversions, WriteOptions? options = null, CancellationToken cancellationToken = default) =>
        Conversions.AppendAsync([.. conversions.Select(c => (IReadOnlyDictionary<string, object?>)new Dictionary<string, object?>
        {
            ["lead_id"] = c.LeadId,
            ["converted"] = c.Converted,
            ["converted_at"] = c.ConvertedAt?.ToUniversalTime(),
        })], options, cancellationToken);

    /// <summary>Appends audit log entries.</summary>
    public Task<CommitResult> AppendAuditLogsAsync(IReadOnlyList<AuditLogRecord> entries, WriteOptions? options = null, CancellationToken cancellationToken = default) =>
        AuditLogs.AppendAsync([.. entries.Select(a => (IReadOnlyDictionary<string, object?>)new Dictionary<string, object?>
        {
            ["timestamp"] = a.Timestamp.ToUniversalTime(),
            ["action"] = a.Action,
            ["user"] = a.User,
            ["user_role"] = a.UserRole,
            ["resource"] = a.Resource,
            ["details"] = a.Details,
            ["ip_address"] = a.IpAddress,
            ["status"] = a.Status,
            ["date"] = Day(a.Timestamp),
        })], options, cancellationToken);

    /// <summary>Appends monitoring samples.</summary>
    public Task<CommitResult> AppendMonitoringMetricsAsync(IReadOnlyList<MonitoringMetricRecord> metrics, WriteOptions? options = null, CancellationToken cancellationToken = default) =>
        MonitoringMetrics.AppendAsync([.. metrics.Select(m => (IReadOnlyDictionary<string, object?>)new Dictionary<string, object?>
        {
            ["timestamp"] = m.Timestamp.ToUniversalTime(),
            ["latency_p50_ms"] = m.LatencyP50Ms,
            ["latency_p95_ms"] = m.LatencyP95Ms,
            ["latency_p99_ms"] = m.LatencyP99Ms,
            ["requests_per_second"] = m.RequestsPerSecond,
            ["error_rate"] = m.ErrorRate,
            ["auc"] = m.Auc,
            ["f1"] = m.F1,
            ["precision"] = m.Precision,
            ["recall"] = m.Recall,
            ["date"] = Day(m.Timestamp),
        })], options, cancellationToken);

    private static LeadRecord ToLead(IReadOnlyDictionary<string, object?> r) => new(
        (string)r["lead_id"]!, (string?)r["company_size"] ?? "", (string?)r["industry"] ?? "", (int?)r["page_views"] ?? 0,
        (double?)r["time_on_site"] ?? 0, (double?)r["form_completion_time"] ?? 0, (string?)r["referral_source"] ?? "",
        (DateTimeOffset?)r["created_at"] ?? default);

    /// <summary>Reads the leads at <paramref name="version"/> (latest when null).</summary>
    public async Task<List<LeadRecord>> ReadLeadsAsync(long? version = null, CancellationToken cancellationToken = default) =>
        [.. (await Leads.ReadRowsAsync(await Leads.GetSnapshotAsync(version, cancellationToken), cancellationToken)).Select(ToLead)];

    /// <summary>Reads the conversions at <paramref name="version"/> (latest when null).</summary>
    public async Task<List<ConversionRecord>> ReadConversionsAsync(long? version = null, CancellationToken cancellationToken = default) =>
        [.. (await Conversions.ReadRowsAsync(await Conversions.GetSnapshotAsync(version, cancellationToken), cancellationToken))
            .Select(r => new ConversionRecord((string)r["lead_id"]!, (bool?)r["converted"] ?? false, (DateTimeOffset?)r["converted_at"]))];

    /// <summary>Reads the predictions at <paramref name="version"/> (latest when null).</summary>
    public async Task<List<PredictionRecord>> ReadPredictionsAsync(long? version = null, CancellationToken cancellationToken = default) =>
        [.. (await Predictions.ReadRowsAsync(await Predictions.GetSnapshotAsync(version, cancellationToken), cancellationToken))
            .Select(r => new PredictionRecord(ToLead(r), (double?)r["lead_score"] ?? 0, (string?)r["score_category"] ?? "", (string?)r["model_version"] ?? "",
                (DateTimeOffset?)r["prediction_timestamp"] ?? default, (double?)r["latency_ms"] ?? 0))];

    /// <summary>Appends <paramref name="count"/> generated leads and their conversions in <paramref name="batches"/> commits each.</summary>
    public async Task SeedAsync(LeadGenerator generator, int count, int batches = 1, CancellationToken cancellationToken = default)
    {
        var per = (count + batches - 1) / Math.Max(batches, 1);
        for (var done = 0; done < count; done += per)
        {
            var (leads, conversions) = generator.Generate(Math.Min(per, count - done));
            await AppendLeadsAsync(leads, cancellationToken: cancellationToken);
            await AppendConversionsAsync(conversions, cancellationToken: cancellationToken);
        }
    }
}
