using Lifeline.Lake;
using Lifeline.Lake.LeadScoring;
using Lifeline.Scoring.Sinks;
using LakePrediction = Lifeline.Lake.LeadScoring.PredictionRecord;
using LakeLead = Lifeline.Lake.LeadScoring.LeadRecord;

namespace Lifeline.Scoring.Lake;

/// <summary>
/// Predictions to the lake's Delta <c>predictions</c> table: one commit per flushed batch. Drained from a spool it is
/// effectively-once: each commit carries a Delta <c>txn</c> action (appId <c>lifeline-scoring/SPOOL-ID</c>, version =
/// the spool position of the batch's end), read back on start to resume after what the table already holds.
/// </summary>
internal sealed class DeltaPredictionSink(LeadScoringLake lake) : IPredictionSink, IPositionedSink<Sinks.PredictionRecord>
{
    public Task AppendAsync(IReadOnlyList<Sinks.PredictionRecord> batch, CancellationToken cancellationToken) => AppendAsync(batch, null, cancellationToken);

    public Task AppendAsync(IReadOnlyList<Sinks.PredictionRecord> batch, string spoolId, long endPosition, CancellationToken cancellationToken) =>
        AppendAsync(batch, new WriteOptions { AppId = DeltaSpoolPositions.AppId(spoolId), TxnVersion = endPosition }, cancellationToken);

    public Task<long?> GetCommittedPositionAsync(string spoolId, CancellationToken cancellationToken) =>
        DeltaSpoolPositions.GetAsync(lake.Predictions, spoolId, cancellationToken);

    private async Task AppendAsync(IReadOnlyList<Sinks.PredictionRecord> batch, WriteOptions? options, CancellationToken cancellationToken)
    {
        if (batch.Count == 0)
        {
            return;
        }

        await lake.AppendPredictionsAsync([.. batch.Select(p => new LakePrediction(
            new LakeLead(p.LeadId, p.CompanySize!, p.Industry!, p.PageViews ?? 0, p.TimeOnSite ?? 0, p.FormCompletionTime ?? 0, p.ReferralSource!,
                Apis.LeadContract.TryParseTimestamp(p.CreatedAt, out var at) ? at : p.PredictionTimestamp),
            p.LeadScore, p.ScoreCategory, p.ModelVersion, p.PredictionTimestamp, p.LatencyMs))], options, cancellationToken);
    }
}

/// <summary>Audit records to the lake's Delta <c>audit_logs</c> table: one commit per flushed batch, effectively-once like predictions.</summary>
internal sealed class DeltaAuditSink(LeadScoringLake lake) : IAuditSink, IPositionedSink<AuditRecord>
{
    public Task AppendAsync(IReadOnlyList<AuditRecord> batch, CancellationToken cancellationToken) => AppendAsync(batch, null, cancellationToken);

    public Task AppendAsync(IReadOnlyList<AuditRecord> batch, string spoolId, long endPosition, CancellationToken cancellationToken) =>
        AppendAsync(batch, new WriteOptions { AppId = DeltaSpoolPositions.AppId(spoolId), TxnVersion = endPosition }, cancellationToken);

    public Task<long?> GetCommittedPositionAsync(string spoolId, CancellationToken cancellationToken) =>
        DeltaSpoolPositions.GetAsync(lake.AuditLogs, spoolId, cancellationToken);

    private async Task AppendAsync(IReadOnlyList<AuditRecord> batch, WriteOptions? options, CancellationToken cancellationToken)
    {
        if (batch.Count == 0)
        {
            return;
        }

        await lake.AppendAuditLogsAsync([.. batch.Select(a => new AuditLogRecord(
            a.Timestamp, a.Action, a.Actor, a.Actor == "admin" ? "admin" : "system", a.Target, a.Details, null,
            a.Action.EndsWith(".refused", StringComparison.Ordinal) ? "refused" : "ok"))], options, cancellationToken);
    }
}

/// <summary>The spool position a Delta table holds, as the <c>txn</c> action of the spool's application id.</summary>
internal static class DeltaSpoolPositions
{
    public static string AppId(string spoolId) => "lifeline-scoring/" + spoolId;

    public static async Task<long?> GetAsync(DeltaTable table, string spoolId, CancellationToken cancellationToken)
    {
        var snapshot = await table.GetSnapshotAsync(null, cancellationToken);
        return snapshot.Txns.TryGetValue(AppId(spoolId), out var txn) ? txn.Version : null;
    }
}
