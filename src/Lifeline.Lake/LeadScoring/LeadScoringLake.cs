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
    private static readonly PrimitiveType Lng = PrimitiveType.Long;

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
        // The original system's columns first, then the scoring service's own (docs/scoring.md, "Monitoring metrics").
        ["monitoring_metrics"] = (new StructType([
            new("timestamp", Ts), new("latency_p50_ms", Dbl), new("latency_p95_ms", Dbl), new("latency_p99_ms", Dbl),
            new("requests_per_second", Dbl), new("error_rate", Dbl), new("auc", Dbl), new("f1", Dbl), new("precision", Dbl),
            new("recall", Dbl), new("service", Str), new("region", Str), new("instance", Str), new("interval_seconds", Dbl),
            new("requests", Lng), new("errors_4xx", Lng), new("errors_5xx", Lng), new("prediction_errors", Lng), new("predictions", Lng),
            new("model_name", Str), new("model_version", Str), new("rollbacks", Lng), new("failovers", Lng),
            new("spool_backlog_bytes", Lng), new("spool_rejected", Lng), new("dead_letters", Lng), new("date", PrimitiveType.Date)]), ["date"]),
    };

    /// <summary>
    /// Table properties each table is created with, and that an existing table without them is given once when the
    /// lake opens (a property already set, by the user or an earlier open, is left as it is). The predictions table
    /// takes one commit a second from the scoring service and is compacted every 10 minutes, so Delta's defaults
    /// (30 days of log, 7 days of removed files) would keep about 3,600 tombstones and 3,600 commits an hour for
    /// weeks: in every cached snapshot and checkpoint, and in every backup's view of the log. It keeps 10 minutes of
    /// both instead, as the heartbeat table does; its history is kept by the vault's recovery points, which protection
    /// on change takes after every commit (docs/lake.md, "Retention"). The other tables keep Delta's defaults.
    /// </summary>
    public static readonly IReadOnlyDictionary<string, IReadOnlyDictionary<string, string?>> DefaultProperties = new Dictionary<string, IReadOnlyDictionary<string, string?>>
    {
        ["predictions"] = new Dictionary<string, string?>
        {
            ["delta.logRetentionDuration"] = "interval 10 minutes",
            ["delta.deletedFileRetentionDuration"] = "interval 10 minutes",
        },
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
            await EnsureCreatedAsync(table, name, cancellationToken);
            tables[name] = table;
        }

        return new LeadScoringLake(tables);
    }

    /// <summary>Creates <paramref name="table"/> with the schema of the lake table <paramref name="name"/> when it does not exist yet.</summary>
    public static async Task EnsureCreatedAsync(DeltaTable table, string name, CancellationToken cancellationToken = default)
    {
        if (!Schemas.TryGetValue(name, out var definition))
        {
            throw new ArgumentException($"'{name}' is not a lead-scoring table ({string.Join(", ", TableNames)})", nameof(name));
        }

        var properties = DefaultProperties.GetValueOrDefault(name);
        if (await table.ExistsAsync(cancellationToken))
        {
            await EnsurePropertiesAsync(table, properties, cancellationToken);
            return;
        }

        try
        {
            await table.CreateAsync(definition.Schema, definition.PartitionColumns, properties, name, cancellationToken);
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

    // a table created before its default properties existed gets those it has not set (one commit, once)
    private static async Task EnsurePropertiesAsync(DeltaTable table, IReadOnlyDictionary<string, string?>? properties, CancellationToken cancellationToken)
    {
        if (properties is null)
        {
            return;
        }

        var snapshot = await table.GetSnapshotAsync(null, cancellationToken);
        var missing = properties.Where(p => snapshot.Property(p.Key) is null).ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);
        if (missing.Count == 0)
        {
            return;
        }

        try
        {
            await table.SetPropertiesAsync(missing, cancellationToken);
        }
        catch (DeltaConcurrentModificationException)
        {
            // another process opening the lake set them first: fine if they are set now
            snapshot = await table.GetSnapshotAsync(null, cancellationToken);
            if (missing.Keys.Any(k => snapshot.Property(k) is null))
            {
                throw;
            }
        }
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
        AppendMonitoringMetricsAsync(MonitoringMetrics, metrics, options, cancellationToken);

    /// <summary>
    /// Appends monitoring samples to a <c>monitoring_metrics</c> table anywhere (one commit). A table created before the
    /// service's columns existed keeps its schema (this writer has no schema evolution): only the columns it has are written.
    /// </summary>
    public static async Task<CommitResult> AppendMonitoringMetricsAsync(DeltaTable table, IReadOnlyList<MonitoringMetricRecord> metrics, WriteOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        var snapshot = await table.GetSnapshotAsync(null, cancellationToken);
        var columns = snapshot.Schema.Fields.Select(f => f.Name).ToHashSet(StringComparer.Ordinal);
        return await table.AppendAsync([.. metrics.Select(m =>
        {
            var row = new Dictionary<string, object?>(StringComparer.Ordinal)
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
                ["service"] = m.Service,
                ["region"] = m.Region,
                ["instance"] = m.Instance,
                ["interval_seconds"] = m.IntervalSeconds,
                ["requests"] = m.Requests,
                ["errors_4xx"] = m.Errors4xx,
                ["errors_5xx"] = m.Errors5xx,
                ["prediction_errors"] = m.PredictionErrors,
                ["predictions"] = m.Predictions,
                ["model_name"] = m.ModelName,
                ["model_version"] = m.ModelVersion,
                ["rollbacks"] = m.Rollbacks,
                ["failovers"] = m.Failovers,
                ["spool_backlog_bytes"] = m.SpoolBacklogBytes,
                ["spool_rejected"] = m.SpoolRejected,
                ["dead_letters"] = m.DeadLetters,
                ["date"] = Day(m.Timestamp),
            };
            foreach (var key in row.Keys.Where(k => !columns.Contains(k)).ToList())
            {
                row.Remove(key);
            }

            return (IReadOnlyDictionary<string, object?>)row;
        })], options, cancellationToken);
    }

    /// <summary>Reads the monitoring samples of a <c>monitoring_metrics</c> table at <paramref name="version"/> (latest when null), oldest first.</summary>
    public static async Task<List<MonitoringMetricRecord>> ReadMonitoringMetricsAsync(DeltaTable table, long? version = null, CancellationToken cancellationToken = default) =>
        [.. (await table.ReadRowsAsync(await table.GetSnapshotAsync(version, cancellationToken), cancellationToken))
            .Select(r => new MonitoringMetricRecord((DateTimeOffset?)r["timestamp"] ?? default, Get<double>(r, "latency_p50_ms"), Get<double>(r, "latency_p95_ms"),
                Get<double>(r, "latency_p99_ms"), Get<double>(r, "requests_per_second"), Get<double>(r, "error_rate"), Get<double>(r, "auc"), Get<double>(r, "f1"),
                Get<double>(r, "precision"), Get<double>(r, "recall"))
            {
                Service = GetString(r, "service"),
                Region = GetString(r, "region"),
                Instance = GetString(r, "instance"),
                IntervalSeconds = Get<double>(r, "interval_seconds"),
                Requests = Get<long>(r, "requests"),
                Errors4xx = Get<long>(r, "errors_4xx"),
                Errors5xx = Get<long>(r, "errors_5xx"),
                PredictionErrors = Get<long>(r, "prediction_errors"),
                Predictions = Get<long>(r, "predictions"),
                ModelName = GetString(r, "model_name"),
                ModelVersion = GetString(r, "model_version"),
                Rollbacks = Get<long>(r, "rollbacks"),
                Failovers = Get<long>(r, "failovers"),
                SpoolBacklogBytes = Get<long>(r, "spool_backlog_bytes"),
                SpoolRejected = Get<long>(r, "spool_rejected"),
                DeadLetters = Get<long>(r, "dead_letters"),
            })
            .OrderBy(m => m.Timestamp)];

    private static T? Get<T>(IReadOnlyDictionary<string, object?> row, string column)
        where T : struct => row.TryGetValue(column, out var value) && value is T typed ? typed : null;

    private static string? GetString(IReadOnlyDictionary<string, object?> row, string column) =>
        row.TryGetValue(column, out var value) ? value as string : null;

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
